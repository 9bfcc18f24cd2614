package dev.mae4j;

import java.nio.file.Path;

/**
 * The process that {@link CrashSafetyTest} kills or starves of disk: it saves checkpoints in a loop
 * ("loop PATH": weights whose cls_token holds the iteration, "saved i" after each) or saves a small then a
 * large model to one file ("grow PATH").
 */
public final class CrashChild {
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[1]);
        if (args[0].equals("loop")) {
            try (Model m = Model.create(MaeConfig.fashionMnist(), Device.cpu(), 1)) {
                for (int i = 0; ; i++) {
                    float[] v = new float[m.config().embedDim()];
                    java.util.Arrays.fill(v, i);
                    try (Tensor t = Tensor.fromFloats(v, 1, 1, v.length)) {
                        m.setParameter("cls_token", t);
                    }
                    m.save(path);
                    System.out.println("saved " + i);
                }
            }
        }
        try (Model small = Model.create(MaeConfig.tiny(), Device.cpu(), 1)) {
            small.save(path);
            System.out.println("saved small");
        }
        try (Model large = Model.create(MaeConfig.fashionMnist(), Device.cpu(), 1)) {
            large.save(path);
            System.out.println("saved large");
        } catch (java.io.IOException e) {
            System.out.println("refused: " + e.getMessage());
        }
    }
}
