package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** Encoding whole images equals the reference encoder with nothing removed and patches in order. */
class EncodeTest {
    @Test
    void encodeIsTheUnmaskedEncoder() {
        MaeConfig c = MaeConfig.tiny().toBuilder().precision(DType.F64).build();
        int n = 2, L = c.numPatches();
        double[] pixels = TestData.gaussian(n * 128, 71);
        double[] ascending = new double[n * L]; // noise in patch order: the shuffle is the identity
        for (int i = 0; i < ascending.length; i++) ascending[i] = (i % L) / (double) L;
        try (Model model = Model.create(c, Device.cpu(), 8);
                Tensor images = Tensor.fromDoubles(pixels, n, 2, 8, 8);
                Tensor features = model.encode(images)) {
            assertArrayEquals(new long[] {n, 1 + L, c.embedDim()}, features.shape());
            ReferenceMae.Output ref = new ReferenceMae(model).forward(pixels, n, ascending, 0.0);
            TestData.assertClose(ref.latent(), features.toDoubleArray(), 1e-10, "features");
        }
    }
}
