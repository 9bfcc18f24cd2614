"""Groups `perf report -n --no-children --sort dso,sym --stdio` output (self samples per symbol) into the operations of
a ViT step, printing each group's share of the samples, largest first, and the top symbols. oneDNN generates its
kernels at run time (JIT code, which perf sees as [unknown] in no object), so those samples are reported as oneDNN's
(in a JVM the JIT-compiled Java lands there too; the JVM itself is its own group). Usage: perf report -n ... | python perf_breakdown.py [--top N]."""
import argparse
import re
import sys
from collections import defaultdict

GROUPS = [  # first match wins
    ("MKL sgemm (ATen addmm/mm)", r"mkl_blas|mkl_serv|mkl_"),
    ("oneDNN products (compiled)", r"dnnl|brgemm|ideep|onednn|jit_"),
    ("attention (SDPA flash kernel)", r"flash_attention|scaled_dot|_sdpa|attention"),
    ("GELU", r"gelu|GeluKernel|erf"),
    ("LayerNorm", r"layer_norm|LayerNorm|layernorm"),
    ("softmax", r"softmax"),
    ("AdamW", r"adam|Adam"),
    ("convolution (patch embedding)", r"conv|Conv"),
    ("copies and layout changes", r"copy|memcpy|memmove|memset|contiguous|clone|permute|transpose|cat_"),
    ("reductions (sum, mean)", r"reduce|Reduce|sum_kernel|mean_kernel|sum_"),
    ("elementwise (add, mul, casts)", r"vec::|Vectorized|cpu_kernel|binary|add_kernel|mul_kernel|unary|fill|where"),
    ("OpenMP runtime (spinning, barriers)", r"gomp|GOMP|libgomp|omp_"),
    ("memory allocation", r"malloc|free|alloc|tcache|arena|mmap|munmap|page_fault|clear_page"),
    ("JVM", r"libjvm|Interpreter"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=12)
    a = ap.parse_args()
    # with -n: "  26.14%   1234  dso  [.] symbol"; shares come from the sample counts (the printed percentages are
    # rounded per line, and thousands of one-sample JIT lines would add up to more than 100%)
    line_re = re.compile(r"^\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[[.k]\]\s+(.*)$")
    groups, symbols = defaultdict(float), defaultdict(float)
    for line in sys.stdin:
        m = line_re.match(line)
        if not m:
            continue
        share, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()  # samples for now
        if dso.startswith("[JIT]") or dso == "[unknown]":
            # run-time generated code: oneDNN's kernels (in a JVM, the JIT-compiled Java is mixed in)
            name = "oneDNN products (run-time generated kernels)"
        else:
            text = dso + " " + sym
            name = next((g for g, pattern in GROUPS if re.search(pattern, text)), "other")
        if dso == "[kernel.kallsyms]" and name == "other":
            name = "operating system (kernel)"
        groups[name] += share
        symbols[(dso, sym[:90])] += share
    total = sum(groups.values()) or 1.0
    for name, samples in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"{100 * samples / total:6.2f}%  {name}")
    print("top symbols:")
    for (dso, sym), samples in sorted(symbols.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"{100 * samples / total:6.2f}%  {dso}  {sym}")


if __name__ == "__main__":
    main()
