package dev.mae4j.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** What the terminal shows during training: a progress bar with loss, images/s and ETA, or plain log lines. */
interface TrainingProgress extends AutoCloseable {
    /** After every update. */
    void update(long update, double loss, double imagesPerSecond);

    /** After every logged update (--log-every), with the window's mean loss. */
    void log(long update, double epoch, double loss, double lr, double imagesPerSecond, double dataWait);

    @Override
    void close();

    /** A bar when standard output is a terminal, log lines otherwise (CI, files, pipes). */
    static TrainingProgress forConsole(long total, long done) {
        return forConsole("pretrain", total, done);
    }

    /** As above, the bar named {@code task}. */
    static TrainingProgress forConsole(String task, long total, long done) {
        boolean terminal = System.console() != null && System.console().isTerminal();
        return terminal ? new Bar(task, total, done) : new Lines(total);
    }

    final class Bar implements TrainingProgress {
        private final ProgressBar bar;

        Bar(String task, long total, long done) {
            bar = new ProgressBarBuilder()
                    .setTaskName(task)
                    .setInitialMax(total)
                    .startsFrom(done, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(500)
                    .continuousUpdate()
                    .build();
        }

        public void update(long update, double loss, double imagesPerSecond) {
            bar.stepTo(update);
            bar.setExtraMessage(String.format(" loss %.4f  %.0f img/s", loss, imagesPerSecond));
        }

        public void log(long update, double epoch, double loss, double lr, double imagesPerSecond, double dataWait) {}

        public void close() {
            bar.close();
        }
    }

    final class Lines implements TrainingProgress {
        private final long total;

        Lines(long total) {
            this.total = total;
        }

        public void update(long update, double loss, double imagesPerSecond) {}

        public void log(long update, double epoch, double loss, double lr, double imagesPerSecond, double dataWait) {
            System.out.printf(
                    "update %6d/%d  epoch %6.2f  loss %.4f  lr %.3g  %.0f images/s  data wait %.1f%%%n",
                    update, total, epoch, loss, lr, imagesPerSecond, 100 * dataWait);
        }

        public void close() {}
    }
}
