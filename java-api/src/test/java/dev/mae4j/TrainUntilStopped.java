package dev.mae4j;

/** Run by ShutdownTest in a JVM of its own: trains until that JVM is told to stop. */
final class TrainUntilStopped {
    public static void main(String[] args) {
        MaeConfig c = MaeConfig.fashionMnist();
        int n = 256;  // mae bench's fashion step, split over two step threads: where the crash showed
        try (Model m = Model.create(c, Device.cpu(), 0);
             Trainer t = Trainer.builder(m).stepThreads(2).build();
             Masker masker = Masker.random(0.75, 0);
             Tensor images = TestData.images(TestData.gaussian(n * c.inChans() * c.imgSize() * c.imgSize(), 3), DType.F32, c, n)) {
            t.step(images, masker);
            System.out.println("stepping");
            System.out.flush();
            for (;;) t.step(images, masker);
        }
    }
}
