package dev.mae4j.cli;

import dev.mae4j.BatchLoader;
import dev.mae4j.Device;
import dev.mae4j.Fit;
import dev.mae4j.ImageDataset;
import dev.mae4j.LrSchedule;
import dev.mae4j.MaeConfig;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.Preprocessing;
import dev.mae4j.ProcessGroup;
import dev.mae4j.Tensor;
import dev.mae4j.Trainer;
import dev.mae4j.data.IdxImages;
import dev.mae4j.data.RandomResizedCrop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `mae pretrain`: MAE pretraining with the paper's recipe — AdamW (0.9, 0.95), weight decay 0.05, lr =
 * base_lr · effective batch / 256 with linear warm-up and half-cycle cosine per update, gradient
 * accumulation — on Fashion-MNIST (Debian's dataset-fashion-mnist) by default. Writes metrics.jsonl,
 * checkpoint.safetensors (everything to --resume) and last.safetensors (weights, reference names).
 */
@Command(
        name = "pretrain",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = "Pretrain an MAE on Fashion-MNIST with the paper's recipe.")
final class PretrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files.")
    Path data = IdxImages.DEBIAN_FASHION_MNIST;

    @Option(
            names = "--images",
            description =
                    "Pretrain on a folder of JPEG/PNG images instead (class = sub-folder; "
                            + "unreadable files are skipped and counted). Needs --img-size, --patch-size and --in-chans to fit them.")
    Path images;

    @Option(names = "--shard", description = "Pretrain on a shard written by mae pack (memory-mapped, read in place).")
    Path shard;

    @Option(
            names = "--img-size",
            description = "Image side (28 for Fashion-MNIST); --images are cropped from each file and resized to it.")
    int imgSize = 28;

    @Option(names = "--patch-size", description = "Patch side.")
    int patchSize = 4;

    @Option(names = "--in-chans", description = "1 (grey) or 3 (RGB, normalised with ImageNet's mean and std).")
    int inChans = 1;

    @Option(names = "--out", description = "Output directory.")
    Path out = Path.of("runs/pretrain");

    @Option(
            names = "--embed-dim",
            description =
                    "Encoder width (MaeConfig.fashionMnistSmall()'s by default; fashionMnist() is 192×6, decoder 128×2).")
    int embedDim = MaeConfig.fashionMnistSmall().embedDim();

    @Option(names = "--depth", description = "Encoder blocks.")
    int depth = MaeConfig.fashionMnistSmall().depth();

    @Option(names = "--num-heads", description = "Encoder attention heads.")
    int numHeads = MaeConfig.fashionMnistSmall().numHeads();

    @Option(names = "--decoder-embed-dim", description = "Decoder width.")
    int decoderEmbedDim = MaeConfig.fashionMnistSmall().decoderEmbedDim();

    @Option(names = "--decoder-depth", description = "Decoder blocks.")
    int decoderDepth = MaeConfig.fashionMnistSmall().decoderDepth();

    @Option(names = "--decoder-num-heads", description = "Decoder attention heads.")
    int decoderNumHeads = MaeConfig.fashionMnistSmall().decoderNumHeads();

    @Option(names = "--steps", description = "Optimiser updates (default 2400: about 3.5 minutes on 2 cores).")
    Long stepsOption;

    @Option(names = "--epochs", description = "Passes over the data, instead of --steps.")
    Double epochs;

    @Option(names = "--batch", description = "Images per micro-batch.")
    int batch = 64;

    @Option(names = "--accum-iter", description = "Micro-batches per update (effective batch = batch · accum-iter).")
    int accumIter = 1;

    @Option(
            names = "--base-lr",
            description = "Base learning rate; lr = base-lr · effective batch / 256. "
                    + "The paper's 1.5e-4 is for 800-epoch ImageNet runs; this short demo needs more.")
    double baseLr = 4e-3;

    @Option(names = "--min-lr", description = "Learning rate at the end of the cosine.")
    double minLr = 0;

    @Option(
            names = "--warmup-steps",
            description = "Linear warm-up updates (default: 5%% of --steps, as 40 of 800 epochs).")
    Long warmupSteps;

    @Option(names = "--weight-decay", description = "AdamW weight decay (not on biases and norms).")
    double weightDecay = 0.05;

    @Option(names = "--mask-ratio", description = "Fraction of patches removed.")
    double maskRatio = 0.75;

    @Option(names = "--mask-type", description = "random (the paper's), block or grid (its ablations).")
    String maskType = "random";

    @Option(
            names = "--norm-pix-loss",
            negatable = true,
            description = "Normalise each target patch (the paper's default).")
    boolean normPixLoss = true;

    @Option(
            names = "--augment",
            negatable = true,
            description = "RandomResizedCrop (scale 0.2–1, ratio 3/4–4/3) and horizontal flip, as the paper.")
    boolean augment = true;

    @Option(names = "--seed", description = "Seed of weights, masks, data order and augmentation.")
    long seed = 0;

    @Option(names = "--device", description = "cpu, cuda or cuda:N.")
    String device = "cpu";

    @Option(names = "--log-every", description = "Log every N updates.")
    int logEvery = 20;

    @Option(names = "--checkpoint-every", description = "Write checkpoint.safetensors every N updates.")
    int checkpointEvery = 100;

    @Option(names = "--resume", description = "Continue from OUT/checkpoint.safetensors when it exists.")
    boolean resume;

    @Option(names = "--eval", negatable = true, description = "After pretraining: probes, report.json and the figures.")
    boolean eval = true;

    @Mixin
    ProbeOptions probe = new ProbeOptions();

    @Mixin
    DistributedOptions dist = new DistributedOptions();

    @Mixin
    StepThreadsOption threads = new StepThreadsOption();

    @Mixin
    PreprocessingOptions normalisation = new PreprocessingOptions();

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    // For tests of --resume: stop as if killed after this many updates of this process (after their checkpoint).
    @Option(names = "--interrupt-after", hidden = true)
    long interruptAfter = Long.MAX_VALUE;

    @Override
    public Integer call() throws Exception {
        validate();
        if (dist.launches())
            return dist.launcher().run(spec.commandLine().getParseResult().originalArgs(), out.resolve("logs"));
        Device dev = dist.device(device);
        RunClock clock = new RunClock();
        PretrainPlan plan = plan(dist.role(dev), dev);
        Files.createDirectories(out);
        Path checkpoint = out.resolve("checkpoint.safetensors"), weights = out.resolve("last.safetensors");
        try (ProcessGroup group = plan.role().join();
                Model model = Model.create(plan.config(), dev, seed);
                Trainer trainer = trainer(model, group, plan);
                Masker masker =
                        Masker.of(maskType, maskRatio, seed + plan.role().rank())) {
            model.setPreprocessing(plan.data().norm());
            if (resume) resume(trainer, masker, plan, clock);
            printStart(plan);
            Fit fit =
                    new Fit(batch, plan.steps(), seed, cropTransform(plan), checkpoint, checkpointEvery, runKey(plan));
            try (UpdateLog log = new UpdateLog(
                    plan.role().metricsFile(out),
                    TrainingProgress.forConsole(plan.steps(), trainer.stepCount()),
                    trainer.stepCount(),
                    plan.steps(),
                    logEvery,
                    interruptAfter,
                    null)) {
                trainer.fit(plan.data().dataset(), masker, fit, log, () -> clock.stamp(Map.of()));
                if (log.interrupted(trainer.stepCount())) return 3;
            }
            if (!plan.role().main()) return 0; // rank 0 writes the weights, metrics, figures and report
            model.save(weights);
            System.out.printf(
                    "wrote %s (weights, reference names), %s (to --resume), %s%n",
                    weights, checkpoint, out.resolve("metrics.jsonl"));
            if (plan.evaluate()) evaluate(trainer, plan, clock);
        }
        return 0;
    }

    /** The run's numbers, computed once from the options, the data and the ranks. */
    private PretrainPlan plan(DistributedOptions.Role role, Device dev) throws java.io.IOException {
        boolean folder = images != null || shard != null;
        if (folder && eval)
            System.out.println(
                    "probes and figures need Fashion-MNIST's labelled test split: skipped for --images and --shard");
        boolean evaluate = eval && !folder;
        PretrainPlan.Data data = openData(evaluate);
        MaeConfig config = architecture();
        requireFits(data.dataset(), config);
        int perRank = (data.dataset().size() + role.ranks() - 1) / role.ranks(); // each rank's shard of an epoch
        if (batch > perRank)
            throw new ParameterException(
                    spec.commandLine(),
                    "--batch " + batch + " exceeds the " + perRank + " images"
                            + (role.ranks() > 1 ? " of each of the " + role.ranks() + " ranks" : ""));
        long steps = epochs == null
                ? (stepsOption == null ? 2400 : stepsOption)
                : Math.max(1, Math.round(epochs * (perRank / batch) / accumIter));
        if (warmupSteps != null && (warmupSteps < 0 || warmupSteps >= steps))
            throw new ParameterException(
                    spec.commandLine(), "--warmup-steps must be in [0, " + steps + "), got " + warmupSteps);
        long effectiveBatch = (long) batch * accumIter * role.ranks();
        return new PretrainPlan(
                data,
                role,
                config,
                threads.resolve(config, dev),
                steps,
                warmupSteps != null ? warmupSteps : steps / 20,
                effectiveBatch,
                LrSchedule.scaledLr(baseLr, effectiveBatch),
                evaluate);
    }

    private Trainer trainer(Model model, ProcessGroup group, PretrainPlan plan) {
        return Trainer.builder(model)
                .schedule(LrSchedule.warmupCosine(
                        plan.peakLr(), Math.min(minLr, plan.peakLr()), plan.warmup(), plan.steps()))
                .weightDecay(weightDecay)
                .betas(0.9, 0.95)
                .accumulationSteps(accumIter)
                .processGroup(group)
                .stepThreads(plan.stepThreads())
                .build();
    }

    private void printStart(PretrainPlan plan) {
        int ranks = plan.role().ranks();
        System.out.printf(
                "mae pretrain: %d images from %s; %d updates of %d images (batch %d × %d%s), peak lr %.3g, "
                        + "warm-up %d, mask ratio %.2f, norm_pix_loss %b, augment %b, %d step thread%s%n",
                plan.data().dataset().size(),
                plan.data().source(),
                plan.steps(),
                plan.effectiveBatch(),
                batch,
                accumIter,
                ranks > 1 ? " × " + ranks + " ranks" : "",
                plan.peakLr(),
                plan.warmup(),
                maskRatio,
                normPixLoss,
                augment,
                plan.stepThreads(),
                plan.stepThreads() == 1 ? "" : "s");
        plan.role().printRank();
    }

    /** Opens --shard, --images or Fashion-MNIST (its test split too when the run evaluates). */
    private PretrainPlan.Data openData(boolean evaluate) throws java.io.IOException {
        boolean folder = images != null || shard != null;
        if (images != null && shard != null)
            throw new ParameterException(spec.commandLine(), "give --images or --shard, not both");
        Path source = shard != null ? shard : images != null ? images : data;
        IdxImages train = folder ? null : IdxImages.readSplit(data, "train");
        // what the weights will record: the options, else Fashion-MNIST's statistics on its files, else the default
        Preprocessing given = normalisation.given();
        Preprocessing norm =
                given != null ? given : folder ? Preprocessing.defaultFor(inChans) : Preprocessing.fashionMnist();
        if (norm.channels() != (folder ? inChans : 1))
            throw new ParameterException(
                    spec.commandLine(),
                    "--image-mean/--image-std give " + norm.channels() + " values for " + (folder ? inChans : 1)
                            + " channels");
        ImageDataset dataset = shard != null
                ? openShard(norm)
                : images != null ? imageFolder(norm) : train.asDataset(norm.mean()[0], norm.std()[0]);
        IdxImages test = evaluate ? IdxImages.readSplit(data, "t10k") : null;
        return new PretrainPlan.Data(dataset, source, train, test, norm);
    }

    private void requireFits(ImageDataset dataset, MaeConfig config) {
        if (dataset.height() != config.imgSize() || dataset.channels() != config.inChans())
            throw new ParameterException(
                    spec.commandLine(),
                    "images are " + dataset.channels() + "×" + dataset.height() + "×"
                            + dataset.width() + ", the model needs " + config.inChans() + "×" + config.imgSize() + "×"
                            + config.imgSize()
                            + " (--img-size, --in-chans)");
    }

    /** Continues from the checkpoint when there is one and it was written by this same run (else says so). */
    private void resume(Trainer trainer, Masker masker, PretrainPlan plan, RunClock clock) throws java.io.IOException {
        Path checkpoint = out.resolve("checkpoint.safetensors");
        Preprocessing norm = plan.data().norm();
        if (!Files.exists(checkpoint)) {
            System.out.printf("no checkpoint at %s: starting from scratch%n", checkpoint);
            return;
        }
        Map<String, String> progress = trainer.loadCheckpoint(checkpoint, masker);
        if (!trainer.model().preprocessing().equals(norm))
            throw new ParameterException(
                    spec.commandLine(),
                    "the checkpoint was trained with " + trainer.model().preprocessing()
                            + ", this run normalises with " + norm
                            + ": resume with the same data and --image-mean/--image-std");
        RunKey.requireSame(spec, runKey(plan), progress);
        clock.resumeFrom(progress);
        System.out.printf("resuming from %s at update %d%n", checkpoint, trainer.stepCount());
    }

    /**
     * The reference's RandomResizedCrop, or null without --augment. Each batch's boxes come from its own seed, so a
     * resumed run augments exactly as the first would have; ranks draw different boxes for their batch i (rank 0 as a
     * single process does).
     */
    private BatchLoader.Transform cropTransform(PretrainPlan plan) {
        if (!augment) return null;
        RandomResizedCrop crops = RandomResizedCrop.mae();
        int size = plan.config().imgSize();
        long rankSalt = plan.role().augmentationSalt();
        return new BatchLoader.Transform() {
            @Override
            public Tensor apply(Tensor stored, long i) {
                return crops.apply(stored, size, new Random(seed * 7_919L + i + rankSalt));
            }

            @Override // image folders are cropped from the files at full resolution
            public Tensor load(ImageDataset images, int[] indices, long i) {
                return crops.apply(images, indices, size, new Random(seed * 7_919L + i + rankSalt));
            }
        };
    }

    /** Fashion-MNIST only: the loss plot, reconstructions of test images, the probes and report.json. */
    private void evaluate(Trainer trainer, PretrainPlan plan, RunClock clock) throws java.io.IOException {
        Model model = trainer.model();
        PretrainPlan.Data data = plan.data();
        float mean0 = data.norm().mean()[0], std0 = data.norm().std()[0];
        LossPlot.writePretraining(out.resolve("metrics.jsonl"), out.resolve("loss.png"));
        int[] shown = {0, 1, 2, 3, 4, 5, 6, 7};
        ReconstructionFigure.write(
                out.resolve("reconstructions.png"),
                model,
                data.test().asDataset(mean0, std0),
                java.util.Arrays.copyOf(shown, Math.min(8, data.test().count())),
                maskRatio,
                seed,
                data.norm().mean(),
                data.norm().std());
        Map<String, Object> report = new LinkedHashMap<>(ProbeEvaluation.run(
                model, data.train().asDataset(mean0, std0), data.test().asDataset(mean0, std0), false, probe, seed));
        report.put("updates", trainer.stepCount());
        report.put("skipped_updates", trainer.skippedUpdates());
        report.put("effective_batch", plan.effectiveBatch());
        report.put("step_threads", plan.stepThreads());
        report.put("peak_lr", plan.peakLr());
        report.put("mask_ratio", maskRatio);
        report.put("config", model.config());
        report.put("duration_s", clock.seconds());
        new com.fasterxml.jackson.databind.ObjectMapper()
                .writerWithDefaultPrettyPrinter()
                .writeValue(out.resolve("report.json").toFile(), report);
        System.out.printf(
                "linear probe top-1 %.2f%% (untrained encoder: %.2f%%), kNN top-1 %.2f%%%n",
                100 * (double) report.get("linear_probe_top1"),
                100 * (double) report.get("linear_probe_top1_random_init"),
                100 * (double) report.get("knn_top1"));
        System.out.printf(
                "wrote %s, %s, %s%n",
                out.resolve("report.json"), out.resolve("loss.png"), out.resolve("reconstructions.png"));
    }

    private ImageDataset openShard(Preprocessing norm) throws java.io.IOException {
        if (inChans != 1 && inChans != 3)
            throw new ParameterException(spec.commandLine(), "--in-chans must be 1 or 3, got " + inChans);
        // mapped for the life of the process: the loader thread reads it until the run ends
        var s = dev.mae4j.data.Shard.open(shard, norm.mean(), norm.std());
        System.out.printf("%s: %d images of %d×%d×%d%n", shard, s.size(), s.channels(), s.height(), s.width());
        return s;
    }

    private ImageDataset imageFolder(Preprocessing norm) throws java.io.IOException {
        if (inChans != 1 && inChans != 3)
            throw new ParameterException(spec.commandLine(), "--in-chans must be 1 or 3, got " + inChans);
        var folder = new dev.mae4j.data.ImageFolder(images, imgSize, inChans, norm.mean(), norm.std());
        System.out.printf(
                "%s: %d images in %d classes, %d unreadable files skipped%n",
                images, folder.size(), folder.classes().size(), folder.skipped());
        return folder;
    }

    private void validate() {
        new OptionChecks(spec)
                .parses("", precision::dtype)
                .require(stepsOption == null || epochs == null, "give --steps or --epochs, not both")
                .require(stepsOption == null || stepsOption > 0, "--steps must be positive, got " + stepsOption)
                .require(epochs == null || epochs > 0, "--epochs must be positive, got " + epochs)
                .positive("--batch", batch)
                .positive("--accum-iter", accumIter)
                .require(logEvery > 0 && checkpointEvery > 0, "--log-every and --checkpoint-every must be positive")
                .belowOne("--mask-ratio", maskRatio)
                .problem(probe.problem())
                .problem(dist.problem())
                .problem(threads.problem())
                .require(
                        java.util.List.of("random", "block", "grid").contains(maskType),
                        "--mask-type must be random, block or grid, got " + maskType)
                .positive("--base-lr", baseLr);
    }

    /** The architecture the options describe. */
    private MaeConfig architecture() {
        try {
            return MaeConfig.fashionMnist().toBuilder()
                    .imgSize(imgSize)
                    .patchSize(patchSize)
                    .inChans(inChans)
                    .embedDim(embedDim)
                    .depth(depth)
                    .numHeads(numHeads)
                    .decoderEmbedDim(decoderEmbedDim)
                    .decoderDepth(decoderDepth)
                    .decoderNumHeads(decoderNumHeads)
                    .normPixLoss(normPixLoss)
                    .precision(precision.dtype())
                    .build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "bad architecture: " + e.getMessage());
        }
    }

    /** What a resumed run must share with the first (RunKey.requireSame). */
    private Map<String, String> runKey(PretrainPlan plan) {
        Map<String, String> runKey = new LinkedHashMap<>();
        runKey.put("batch", Integer.toString(batch));
        runKey.put("accum_iter", Integer.toString(accumIter));
        runKey.put("world_size", Integer.toString(plan.role().ranks()));
        runKey.put("seed", Long.toString(seed));
        runKey.put("data", plan.data().source().toAbsolutePath().toString());
        runKey.put("augment", Boolean.toString(augment));
        runKey.put("mask_type", maskType);
        runKey.put("mask_ratio", Double.toString(maskRatio));
        runKey.put("norm_pix_loss", Boolean.toString(normPixLoss));
        runKey.put("steps", Long.toString(plan.steps())); // the schedule depends on these
        runKey.put("peak_lr", Double.toString(plan.peakLr()));
        runKey.put("min_lr", Double.toString(minLr));
        runKey.put("warmup_steps", Long.toString(plan.warmup()));
        runKey.put("weight_decay", Double.toString(weightDecay));
        return runKey;
    }
}
