package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

/** Seeded inputs and tolerance checks shared by the tests. */
public final class TestData {
    private TestData() {}

    static double[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = r.nextGaussian();
        return d;
    }

    /** Distinct uniform values in [0, 1). */
    static double[] uniform(int n, long seed) {
        Random r = new Random(seed);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = r.nextDouble();
        return d;
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** The values a float32 tensor of {@code d} holds, back in double. */
    static double[] roundedToFloat(double[] d) {
        double[] r = new double[d.length];
        for (int i = 0; i < d.length; i++) r[i] = (float) d[i];
        return r;
    }

    static Tensor images(double[] values, DType dtype, MaeConfig c, int n) {
        long[] shape = {n, c.inChans(), c.imgSize(), c.imgSize()};
        return dtype == DType.F64 ? Tensor.fromDoubles(values, shape) : Tensor.fromFloats(toFloats(values), shape);
    }

    /** {@code n} seeded Gaussian images of the configuration's size. */
    static dev.mae4j.ImageDataset dataset(MaeConfig c, int n, long seed) {
        float[] pixels = toFloats(gaussian(n * c.inChans() * c.imgSize() * c.imgSize(), seed));
        return new dev.mae4j.ImageDataset() {
            public int size() {
                return n;
            }

            public int channels() {
                return c.inChans();
            }

            public int height() {
                return c.imgSize();
            }

            public int width() {
                return c.imgSize();
            }

            public void copyNormalised(int index, float[] dst, int offset) {
                System.arraycopy(pixels, index * imageFloats(), dst, offset, imageFloats());
            }
        };
    }

    /**
     * For tests of what our builds always make (the C++ drivers, libjpeg in libmae, the venv's transformers): fails
     * naming what is missing, so that CI cannot pass by skipping; with -Dmae.allowSkips=true (a partial build) the
     * test is reported as skipped, with the reason.
     */
    /**
     * The device the reference tests run on: -Dmae.device (the build's mae.device, "cpu"; dist/run.sh on the GPU
     * machine sets "cuda"). A CUDA device that libmae's LibTorch does not see fails the test, never skips it.
     */
    public static Device device() {
        Device d = Device.parse(System.getProperty("mae.device", "cpu"));
        if (d.type() == Device.Type.CUDA && Device.cudaDeviceCount() <= d.index())
            org.junit.jupiter.api.Assertions.fail("mae.device=" + System.getProperty("mae.device")
                    + " but libmae's LibTorch sees " + Device.cudaDeviceCount() + " CUDA devices");
        return d;
    }

    /**
     * For tests that need a CUDA device: passes when there is one; fails when -Dmae.device names CUDA (the run was
     * meant for a GPU and must not pass by skipping), else skips with the reason.
     */
    public static void assumeCuda() {
        if (Device.cudaDeviceCount() > 0) return;
        String wanted = System.getProperty("mae.device", "cpu");
        if (wanted.startsWith("cuda"))
            org.junit.jupiter.api.Assertions.fail(
                    "mae.device=" + wanted + " but libmae's LibTorch sees no CUDA device (a CPU build, or no driver)");
        org.junit.jupiter.api.Assumptions.assumeTrue(false, "no CUDA device: libmae's LibTorch sees none");
    }

    public static void assumeBuilt(boolean built, String missing) {
        if (built) return;
        if (Boolean.getBoolean("mae.allowSkips")) org.junit.jupiter.api.Assumptions.assumeTrue(false, missing);
        org.junit.jupiter.api.Assertions.fail(missing + " (a partial build may skip this with -Dmae.allowSkips=true)");
    }

    /**
     * Asserts that {@code call} throws {@code type} with a message containing {@code names}: the message that tells
     * the user what is wrong, not just any failure of that type.
     */
    static <T extends Throwable> T assertRefused(
            Class<T> type, String names, org.junit.jupiter.api.function.Executable call) {
        T e = org.junit.jupiter.api.Assertions.assertThrows(type, call);
        if (System.getProperty("mae.printRefusals") != null) System.out.println("REFUSAL|" + e.getMessage());
        assertTrue(
                e.getMessage() != null && e.getMessage().contains(names),
                "expected a message naming '" + names + "', got: " + e.getMessage());
        return e;
    }

    /** max |actual − expected| ≤ tol · max(1, max |expected|). */
    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertTrue(expected.length == actual.length, what + ": length " + actual.length + " != " + expected.length);
        double scale = 1, err = 0;
        int worst = -1;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(actual[i] - expected[i]);
            if (!(d <= err)) {
                err = d;
                worst = i;
            }
        }
        assertTrue(err <= tol * scale, what + ": max error " + err + " at " + worst + " exceeds " + tol * scale);
    }

    static void assertClose(double expected, double actual, double tol, String what) {
        assertClose(new double[] {expected}, new double[] {actual}, tol, what);
    }
}
