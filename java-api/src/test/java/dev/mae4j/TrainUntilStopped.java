package dev.mae4j;

/**
 * Run by ShutdownTest in a JVM of its own: trains until that JVM is stopped. After a second of training a watcher
 * waits until a step is inside the library, sends this process SIGTERM (what Ctrl-C and service managers send) and
 * says whether the step was still running when the signal had arrived, so the test knows it hit a step.
 */
final class TrainUntilStopped {
    public static void main(String[] args) {
        MaeConfig c = MaeConfig.fashionMnist();
        int n = 256; // mae bench's fashion-mnist step, split over two step threads: where the crash showed
        try (Model m = Model.create(c, Device.cpu(), 0);
                Trainer t = Trainer.builder(m).stepThreads(2).build();
                Masker masker = Masker.random(0.75, 0);
                Tensor images = TestData.images(
                        TestData.gaussian(n * c.inChans() * c.imgSize() * c.imgSize(), 3), DType.F32, c, n)) {
            t.step(images, masker);
            System.out.println("stepping");
            System.out.flush();
            Thread watcher = new Thread(TrainUntilStopped::signalDuringAStep, "sigterm-during-a-step");
            watcher.setDaemon(true);
            watcher.start();
            for (; ; ) t.step(images, masker);
        }
    }

    private static void signalDuringAStep() {
        try {
            Thread.sleep(1000);
            while (NativeCalls.inFlight() == 0) Thread.onSpinWait();
            // kill returns once the signal is sent; a step takes about 0.7 s, the kill a few ms
            new ProcessBuilder(
                            "kill",
                            "-TERM",
                            Long.toString(ProcessHandle.current().pid()))
                    .start()
                    .waitFor();
            System.out.println(NativeCalls.inFlight() > 0 ? "signalled during a step" : "signalled between steps");
            System.out.flush();
        } catch (Exception e) {
            e.printStackTrace();
        }
    }
}
