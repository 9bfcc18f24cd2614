/* The CPU's measured peak: twelve independent chains of AVX-512 FMAs (fp32) and of VDPBF16PS (bf16 dot products
   into fp32) per thread, on 1 to N threads. Twelve chains hide the instructions' latency, so the figure is the
   units' throughput: what a matrix product could reach at best. Prints one JSON line per thread count.
     gcc -O2 -mavx512f -mavx512bf16 -pthread peak_probe.c -o peak_probe && ./peak_probe [max_threads] */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12

static volatile float sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void* fp32_chains(void* arg) {
    long iters = (long)arg;
    __m512 acc[CHAINS], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    sink = _mm512_reduce_add_ps(s);
    return NULL;
}

static void* bf16_chains(void* arg) {
    long iters = (long)arg;
    __m512 acc[CHAINS];
    __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80); /* 1.0 in bfloat16 */
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], b, b);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    sink = _mm512_reduce_add_ps(s);
    return NULL;
}

/* GFLOP/s of `threads` threads each running `iters` iterations of `body` (flops per iteration given). */
static double gflops(void* (*body)(void*), int threads, long iters, double flops_per_iter) {
    pthread_t t[256];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, body, (void*)iters);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return flops_per_iter * iters * threads / (now() - t0) / 1e9;
}

int main(int argc, char** argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : 2;
    long iters = 100000000;
    for (int th = 1; th <= max_threads && th <= 256; th++) {
        double f32 = 0, bf16 = 0;
        for (int rep = 0; rep < 3; rep++) { /* the best of three: a busy neighbour only lowers a figure */
            double a = gflops(fp32_chains, th, iters, CHAINS * 16 * 2.0); /* 16 lanes, multiply + add */
            double b = gflops(bf16_chains, th, iters, CHAINS * 32 * 2.0); /* 32 bf16 pairs, multiply + add */
            if (a > f32) f32 = a;
            if (b > bf16) bf16 = b;
        }
        printf("{\"threads\":%d,\"fp32_fma_gflops\":%.1f,\"bf16_dot_gflops\":%.1f}\n", th, f32, bf16);
    }
    return 0;
}
