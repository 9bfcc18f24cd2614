package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Backward-pass gradients against central finite differences of the loss, on a double-precision model. */
class GradientTest {
    private static final MaeConfig CONFIG =
            MaeConfig.tiny().toBuilder().precision(DType.F64).normPixLoss(true).build();
    private static final int N = 2;

    @Test
    void everyTrainedParameterMatchesFiniteDifferences() {
        double[] pixels = TestData.gaussian(N * 128, 21);
        double[] noise = TestData.uniform(N * CONFIG.numPatches(), 22);
        Random pick = new Random(23);
        double h = 1e-5;
        try (Model model = Model.create(CONFIG, TestData.device(), 5);
                Tensor images = Tensor.fromDoubles(pixels, N, 2, 8, 8);
                Tensor noiseT = Tensor.fromDoubles(noise, N, CONFIG.numPatches());
                Masker masker = Masker.fromNoise(noiseT, 0.75)) {
            model.forwardBackward(images, masker).close();
            int checked = 0;
            for (ParameterInfo p : model.parameters()) {
                if (!p.trainable()) continue;
                double[] grad;
                try (Tensor g = model.gradient(p.name())) {
                    grad = g.toDoubleArray();
                }
                try (Tensor value = model.parameter(p.name())) {
                    for (int k = 0; k < 3; k++) {
                        int i = pick.nextInt((int) p.elementCount());
                        double orig = value.segment().getAtIndex(ValueLayout.JAVA_DOUBLE, i);
                        value.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, orig + h);
                        model.setParameter(p.name(), value);
                        double up = loss(model, images, masker);
                        value.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, orig - h);
                        model.setParameter(p.name(), value);
                        double down = loss(model, images, masker);
                        value.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, orig);
                        model.setParameter(p.name(), value);
                        double fd = (up - down) / (2 * h);
                        double err = Math.abs(fd - grad[i]);
                        assertTrue(
                                err <= 1e-7 + 1e-5 * Math.abs(fd),
                                p.name() + "[" + i + "]: analytic " + grad[i] + ", finite difference " + fd);
                        checked++;
                    }
                }
            }
            assertTrue(checked >= 3 * 40, "checked " + checked + " entries");
        }
    }

    @Test
    void fixedTablesHaveNoGradientAndNoneExistsBeforeBackward() {
        try (Model model = Model.create(CONFIG, TestData.device(), 5)) {
            assertThrows(IllegalStateException.class, () -> model.gradient("norm.weight"));
            assertThrows(IllegalArgumentException.class, () -> model.gradient("pos_embed"));
        }
    }

    private static double loss(Model model, Tensor images, Masker masker) {
        try (ForwardResult r = model.forward(images, masker)) {
            return r.loss();
        }
    }
}
