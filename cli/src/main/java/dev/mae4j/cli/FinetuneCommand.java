package dev.mae4j.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Classifier;
import dev.mae4j.Device;
import dev.mae4j.FineTuner;
import dev.mae4j.Fit;
import dev.mae4j.LabelledDataset;
import dev.mae4j.LrSchedule;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Preprocessing;
import dev.mae4j.ProcessGroup;
import dev.mae4j.Tensor;
import dev.mae4j.data.Mixup;
import dev.mae4j.data.RandAugment;
import dev.mae4j.data.RandomErasing;
import dev.mae4j.data.RandomResizedCrop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `mae finetune`: end-to-end fine-tuning as the reference's main_finetune.py — the pretrained encoder,
 * global pooling, fc_norm and a linear head; AdamW (0.9, 0.999) with layer-wise lr decay, weight decay 0.05,
 * label smoothing, stochastic depth, warm-up then half-cycle cosine per update. --from-scratch trains the same
 * architecture from a fresh initialisation with the same recipe, the paper's baseline.
 */
@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description =
                "Fine-tune a pretrained MAE encoder as a classifier (or the same ViT from scratch) and report test top-1.")
final class FinetuneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--weights",
            description = "MAE weights from mae pretrain (last.safetensors). "
                    + "Without it, --from-scratch with MaeConfig.fashionMnistSmall()'s encoder.")
    Path weights;

    @Option(
            names = "--from-scratch",
            description = "Fresh weights of the same architecture instead of the pretrained ones (the baseline).")
    boolean fromScratch;

    @Mixin
    LabelledData data = new LabelledData();

    @Option(names = "--out", description = "Output directory.")
    Path out = Path.of("runs/finetune");

    @Option(names = "--epochs", description = "Passes over the training images.")
    double epochs = 10;

    @Option(names = "--batch", description = "Images per update.")
    int batch = 128;

    @Option(names = "--base-lr", description = "Base learning rate; lr = base-lr · batch / 256.")
    double baseLr = 2e-3;

    @Option(names = "--min-lr", description = "Learning rate at the end of the cosine.")
    double minLr = 1e-6;

    @Option(names = "--warmup-epochs", description = "Linear warm-up, in epochs.")
    double warmupEpochs = 1;

    @Option(
            names = "--layer-decay",
            description = "Layer-wise lr decay: each block's rate is this times the next one's.")
    double layerDecay = 0.75;

    @Option(
            names = "--trainable-blocks",
            paramLabel = "K",
            description = "Partial fine-tuning: train the last K blocks, fc_norm and the head; freeze the patch "
                    + "embedding, position table, [CLS] and the blocks below (default: every block). 0: the "
                    + "linear probe, the paper's BatchNorm head over the frozen encoder, its linear layer trained.")
    Integer trainableBlocks;

    @Option(
            names = "--weight-decay",
            description = "AdamW weight decay (not on 1-D parameters, pos_embed and cls_token).")
    double weightDecay = 0.05;

    @Option(names = "--drop-path", description = "Stochastic depth of the last block (linear from 0 over the blocks).")
    double dropPath = 0.1;

    @Option(names = "--label-smoothing", description = "Label smoothing of the cross-entropy.")
    double labelSmoothing = 0.1;

    @Option(
            names = "--crop-min-scale",
            description = "RandomResizedCrop's smallest area fraction (ratio 3/4–4/3, with "
                    + "horizontal flip); 1 keeps whole images.")
    double cropMinScale = 0.6;

    @Option(
            names = "--aa",
            description = "RandAugment as timm's configuration string rand-m<magnitude>-n<layers>-"
                    + "mstd<spread>-inc<0|1> (after the crops, before erasing; PIL's arithmetic, bicubic, the data mean as fill), "
                    + "the reference's by default; none turns it off.")
    String autoAugment = "rand-m9-mstd0.5-inc1";

    @Option(
            names = "--reprob",
            description =
                    "Probability of random erasing (timm's, 'pixel' mode: one box of 2%%–1/3 of "
                            + "the image filled with normal noise after normalisation), as the reference's fine-tuning; 0 turns it off.")
    double reprob = 0.25;

    @Option(
            names = "--mixup",
            description =
                    "Mixup's alpha (timm's Mixup, 'batch' mode: each batch blended with itself "
                            + "reversed, lam ~ Beta(alpha, alpha), targets mixed alike); 0 turns it off. The reference's recipes use 0.8.")
    double mixupAlpha = 0;

    @Option(
            names = "--cutmix",
            description = "CutMix's alpha (a box of the reversed batch pasted in, lam corrected to its "
                    + "area); 0 turns it off. The reference's recipes use 1.0.")
    double cutmixAlpha = 0;

    @Option(names = "--mixup-prob", description = "Probability that a batch is mixed when --mixup or --cutmix is on.")
    double mixupProb = 1.0;

    @Option(names = "--mixup-switch-prob", description = "Probability of CutMix rather than Mixup when both are on.")
    double mixupSwitchProb = 0.5;

    @Option(
            names = "--augment",
            negatable = true,
            description = "Random resized crops, flips, RandAugment and random erasing of the " + "training images.")
    boolean augment = true;

    @Option(names = "--seed", description = "Seed of the head, stochastic depth, data order and augmentation.")
    long seed = 0;

    @Option(names = "--device", description = "cpu, cuda or cuda:N.")
    String device = "cpu";

    @Option(names = "--log-every", description = "Log every N updates.")
    int logEvery = 50;

    @Option(
            names = "--checkpoint-every",
            description = "Write checkpoint.safetensors every N updates (and after the last).")
    int checkpointEvery = 200;

    @Option(
            names = "--resume",
            description = "Continue from OUT/checkpoint.safetensors when it exists (the same "
                    + "command otherwise): the run goes on exactly as if never stopped.")
    boolean resume;

    // For tests of --resume: stop as if killed after this many updates of this process (after their checkpoint).
    @Option(names = "--interrupt-after", hidden = true)
    long interruptAfter = Long.MAX_VALUE;

    @picocli.CommandLine.Mixin
    DistributedOptions dist = new DistributedOptions();

    @picocli.CommandLine.Mixin
    StepThreadsOption threads = new StepThreadsOption();

    @Override
    public Integer call() throws Exception {
        validate();
        if (dist.launches())
            return dist.launcher().run(spec.commandLine().getParseResult().originalArgs(), out.resolve("logs"));
        RunClock clock = new RunClock();
        Device dev = dist.device(device);
        DistributedOptions.Role role = dist.role(dev);
        try (ProcessGroup group = role.join();
                Model encoder = weights != null
                        ? Model.load(weights, dev)
                        : Model.create(MaeConfig.fashionMnistSmall(), dev, seed)) {
            Preprocessing norm = normalisation(encoder);
            LabelledData.Splits splits =
                    data.open(encoder.config().inChans(), encoder.config().imgSize(), norm);
            FinetunePlan plan = plan(encoder, splits, role, norm);
            Files.createDirectories(out);
            printStart(plan);
            List<Map<String, Object>> perEpochTop1 = new ArrayList<>();
            try (Model fresh = fromScratch && weights != null ? Model.create(encoder.config(), dev, seed) : null;
                    Classifier classifier = classifier(fresh != null ? fresh : encoder, plan);
                    FineTuner tuner = tuner(classifier, group, plan)) {
                Path checkpoint = out.resolve("checkpoint.safetensors");
                Map<String, String> runKey = runKey(plan);
                if (resume) resume(tuner, checkpoint, runKey, perEpochTop1, clock);
                if (!train(tuner, group, plan, perEpochTop1, clock)) return 3;
                if (!role.main()) return 0; // rank 0 writes the metrics, classifier and report
                writeResults(tuner, perEpochTop1, plan, clock);
            }
        }
        return 0;
    }

    /** The weights' normalisation when fine-tuning them, the data's own for a fresh encoder. */
    private Preprocessing normalisation(Model encoder) {
        return weights != null
                ? data.forWeights(
                        encoder.preprocessing(), weights, spec.commandLine().getErr())
                : data.forFreshModel(encoder.config().inChans());
    }

    /** The run's numbers, computed once from the options, the encoder, the data and the ranks. */
    private FinetunePlan plan(
            Model encoder, LabelledData.Splits splits, DistributedOptions.Role role, Preprocessing norm) {
        MaeConfig config = encoder.config();
        int perRank = checkedShare(splits.train(), config, role.ranks());
        int blocks = trainableBlocks != null ? trainableBlocks : config.depth();
        if (blocks < 0 || blocks > config.depth())
            throw new ParameterException(
                    spec.commandLine(),
                    "--trainable-blocks must be in [0, " + config.depth() + "] for this encoder, got " + blocks);
        long perEpoch = perRank / batch, steps = Math.max(1, Math.round(epochs * perEpoch));
        return new FinetunePlan(
                fromScratch || weights == null,
                role,
                threads.resolve(config, encoder.device()),
                perEpoch,
                steps,
                Math.min(steps - 1, Math.round(warmupEpochs * perEpoch)),
                LrSchedule.scaledLr(baseLr, (long) batch * role.ranks()),
                blocks,
                norm,
                splits);
    }

    /** The classifier on {@code encoder}: every rank its own stochastic depth (the weights are rank 0's once tuned). */
    private Classifier classifier(Model encoder, FinetunePlan plan) {
        Classifier c =
                Classifier.fromEncoder(encoder, plan.splits().train().classCount(), dropPath, seed + plan.rank());
        c.setPreprocessing(plan.norm()); // what the classifier is trained on; classifier.safetensors records it
        return c;
    }

    private FineTuner tuner(Classifier classifier, ProcessGroup group, FinetunePlan plan) {
        return FineTuner.builder(classifier)
                .schedule(LrSchedule.warmupCosine(
                        plan.peakLr(), Math.min(minLr, plan.peakLr()), plan.warmup(), plan.steps()))
                .weightDecay(weightDecay)
                .layerDecay(layerDecay)
                .labelSmoothing(labelSmoothing)
                .trainableBlocks(plan.trainableBlocks())
                .processGroup(group)
                .stepThreads(plan.stepThreads())
                .build();
    }

    /** Trains to the last update, evaluating at each epoch's end; false when --interrupt-after stopped it. */
    private boolean train(
            FineTuner tuner,
            ProcessGroup group,
            FinetunePlan plan,
            List<Map<String, Object>> perEpochTop1,
            RunClock clock)
            throws java.io.IOException, InterruptedException {
        LabelledData.Splits splits = plan.splits();
        LabelledDataset train = splits.train();
        FinetuneAugmentation augmentation =
                augmentation(tuner.classifier().config().imgSize(), plan);
        long start = tuner.stepCount();
        Fit fit = new Fit(
                batch,
                plan.steps(),
                seed,
                augmentation.transform(batch),
                out.resolve("checkpoint.safetensors"),
                checkpointEvery,
                runKey(plan));
        try (UpdateLog log = new UpdateLog(
                plan.role().metricsFile(out),
                TrainingProgress.forConsole("finetune", plan.steps(), start),
                start,
                plan.steps(),
                logEvery,
                interruptAfter,
                plan::epochOf)) {
            tuner.fit(
                    train,
                    fit,
                    (t, index, images, labels) ->
                            augmentation.step(t, index, images, labels, train.classCount(), labelSmoothing),
                    epochEnds(tuner.classifier(), splits.test(), group, plan, perEpochTop1),
                    log,
                    () -> clock.stamp(Map.of(EVALUATIONS, json(perEpochTop1))));
            return !log.interrupted(tuner.stepCount());
        }
    }

    private void printStart(FinetunePlan plan) {
        LabelledData.Splits splits = plan.splits();
        LabelledDataset train = splits.train();
        System.out.printf(
                "mae finetune: %s, %d training and %d test images in %d classes from %s; %d updates of %d "
                        + "(%.3g epochs), peak lr %.3g, warm-up %d, last %d blocks trained, layer decay %.2f, drop path %.2f, label smoothing %.2f, "
                        + "RandAugment %s, random erasing %.2f, mixup %.2f, cutmix %.2f, %d step thread%s%n",
                plan.scratch() ? "from scratch" : "from " + weights,
                train.size(),
                splits.test().size(),
                train.classCount(),
                data.source(),
                plan.steps(),
                batch * plan.ranks(),
                epochs,
                plan.peakLr(),
                plan.warmup(),
                plan.trainableBlocks(),
                layerDecay,
                dropPath,
                labelSmoothing,
                augment ? autoAugment : "none",
                augment ? reprob : 0,
                mixupAlpha,
                cutmixAlpha,
                plan.stepThreads(),
                plan.stepThreads() == 1 ? "" : "s");
        if (plan.ranks() > 1)
            System.out.printf("rank %d of %d, %d images per rank and update%n", plan.rank(), plan.ranks(), batch);
    }

    /** Checks the images against the encoder and --batch against each rank's share of an epoch; returns the share. */
    private int checkedShare(LabelledDataset train, MaeConfig config, int ranks) {
        if (train.height() != config.imgSize() || train.channels() != config.inChans())
            throw new ParameterException(
                    spec.commandLine(),
                    "images are " + train.channels() + "×" + train.height() + "×" + train.width()
                            + ", the encoder needs " + config.inChans() + "×" + config.imgSize() + "×"
                            + config.imgSize());
        int perRank = (train.size() + ranks - 1) / ranks;
        if (batch > perRank)
            throw new ParameterException(
                    spec.commandLine(),
                    "--batch " + batch + " exceeds the " + perRank + " training images"
                            + (ranks > 1 ? " of each of the " + ranks + " ranks" : ""));
        return perRank;
    }

    /** The reference's fine-tuning augmentation as the options set it; ranks draw their own. */
    private FinetuneAugmentation augmentation(int imgSize, FinetunePlan plan) {
        Preprocessing norm = plan.norm();
        return new FinetuneAugmentation(
                augment,
                new RandomResizedCrop(cropMinScale, 1.0, 3.0 / 4, 4.0 / 3, 0.5),
                randAugment(),
                new double[][] {doubles(norm.mean()), doubles(norm.std())},
                RandomErasing.withProbability(reprob),
                new Mixup(mixupAlpha, cutmixAlpha, mixupProb, mixupSwitchProb),
                imgSize,
                seed,
                plan.role().augmentationSalt());
    }

    /** Continues from the checkpoint when there is one and this same run wrote it, with its evaluations so far. */
    private void resume(
            FineTuner tuner,
            Path checkpoint,
            Map<String, String> runKey,
            List<Map<String, Object>> perEpochTop1,
            RunClock clock)
            throws java.io.IOException {
        if (!Files.exists(checkpoint)) {
            System.out.printf("no checkpoint at %s: starting from the first update%n", checkpoint);
            return;
        }
        Map<String, String> progress = tuner.loadCheckpoint(checkpoint);
        RunKey.requireSame(spec, runKey, progress);
        perEpochTop1.addAll(JSON.readValue(progress.get(EVALUATIONS), EVALUATION_ROWS));
        clock.resumeFrom(progress);
        System.out.printf("resuming from %s at update %d%n", checkpoint, tuner.stepCount());
    }

    /** Each epoch's end (and the last update): top-1 on the test set, added to the rows the checkpoint carries. */
    private static Fit.Evaluation epochEnds(
            Classifier classifier,
            LabelledDataset test,
            ProcessGroup group,
            FinetunePlan plan,
            List<Map<String, Object>> perEpochTop1) {
        return update -> {
            if (update % plan.perEpoch() != 0 && update != plan.steps()) return;
            double top1 = top1(classifier, test, group);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("epoch", plan.epochOf(update));
            row.put("step", update);
            row.put("test_top1", top1);
            perEpochTop1.add(row);
            System.out.printf("epoch %.2f: test top-1 %.2f%%%n", plan.epochOf(update), 100 * top1);
        };
    }

    /** Rank 0's files: the classifier, the loss and top-1 plot, report.json. */
    private void writeResults(
            FineTuner tuner, List<Map<String, Object>> perEpochTop1, FinetunePlan plan, RunClock clock)
            throws java.io.IOException {
        Classifier classifier = tuner.classifier();
        classifier.save(out.resolve("classifier.safetensors"));
        List<Double> epochEnds = new ArrayList<>(), top1s = new ArrayList<>();
        for (Map<String, Object> row : perEpochTop1) {
            epochEnds.add(((Number) row.get("step")).doubleValue());
            top1s.add(100 * (double) row.get("test_top1"));
        }
        LossPlot.write(
                out.resolve("metrics.jsonl"),
                out.resolve("loss.png"),
                "Fine-tuning: training loss and test top-1",
                "cross-entropy (label smoothing " + labelSmoothing + ")",
                new LossPlot.Curve("test top-1 (%)", epochEnds, top1s));
        double finalTop1 = (double) perEpochTop1.getLast().get("test_top1");
        Map<String, Object> report = report(tuner, perEpochTop1, plan, clock.seconds());
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(out.resolve("report.json").toFile(), report);
        System.out.printf(
                "test top-1 %.2f%% (%s)%nwrote %s, %s, %s, %s%n",
                100 * finalTop1,
                plan.scratch() ? "from scratch" : "fine-tuned",
                out.resolve("report.json"),
                out.resolve("classifier.safetensors"),
                out.resolve("metrics.jsonl"),
                out.resolve("loss.png"));
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EVALUATIONS = "test_top1_per_epoch";
    private static final TypeReference<List<Map<String, Object>>> EVALUATION_ROWS = new TypeReference<>() {};

    /** What a resumed run must share with the one that wrote the checkpoint. */
    private Map<String, String> runKey(FinetunePlan plan) {
        Map<String, String> key = new LinkedHashMap<>();
        key.put("init", plan.scratch() ? "scratch" : weights.toAbsolutePath().toString());
        key.put("data", data.source().toAbsolutePath().toString());
        key.put("batch", Integer.toString(batch));
        key.put("world_size", Integer.toString(plan.ranks()));
        key.put("seed", Long.toString(seed));
        key.put("steps", Long.toString(plan.steps())); // the schedule depends on these
        key.put("warmup_steps", Long.toString(plan.warmup()));
        key.put("peak_lr", Double.toString(plan.peakLr()));
        key.put("min_lr", Double.toString(minLr));
        key.put("weight_decay", Double.toString(weightDecay));
        key.put("layer_decay", Double.toString(layerDecay));
        key.put("label_smoothing", Double.toString(labelSmoothing));
        key.put("drop_path", Double.toString(dropPath));
        key.put("augment", augment + ", crop " + cropMinScale + ", reprob " + reprob);
        key.put("auto_augment", autoAugment);
        key.put(
                "mixup",
                mixupAlpha + ", cutmix " + cutmixAlpha + ", prob " + mixupProb + ", switch " + mixupSwitchProb);
        return key;
    }

    /** --aa's RandAugment, or null for none. */
    private RandAugment randAugment() {
        return autoAugment.equals("none") ? null : RandAugment.parse(autoAugment);
    }

    private static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static double top1(Classifier classifier, LabelledDataset test, ProcessGroup group) {
        int rank = group == null ? 0 : group.rank(), ranks = group == null ? 1 : group.worldSize();
        long right = 0, chunk = 500;
        int[] mine = java.util.stream.IntStream.range(0, test.size())
                .filter(i -> i % ranks == rank)
                .toArray();
        for (int start = 0; start < mine.length; start += chunk) {
            int[] idx = java.util.Arrays.copyOfRange(mine, start, (int) Math.min(mine.length, start + chunk));
            try (Tensor images = test.batch(idx)) {
                int[] predicted = classifier.predict(images);
                for (int i = 0; i < idx.length; i++) if (predicted[i] == test.label(idx[i])) right++;
            }
        }
        if (group != null) right = group.allReduceSum(right)[0];
        return (double) right / test.size();
    }

    private void validate() {
        new OptionChecks(spec)
                .problem(data.problem())
                .problem(dist.problem())
                .problem(threads.problem())
                .positive("--epochs", epochs)
                .positive("--batch", batch)
                .positive("--log-every", logEvery)
                .positive("--base-lr", baseLr)
                .nonNegative("--warmup-epochs", warmupEpochs)
                .fraction("--layer-decay", layerDecay)
                .belowOne("--drop-path", dropPath)
                .belowOne("--label-smoothing", labelSmoothing)
                .fraction("--crop-min-scale", cropMinScale)
                .positive("--checkpoint-every", checkpointEvery)
                .probability("--reprob", reprob)
                .parses("--aa: ", this::randAugment)
                .require(
                        mixupAlpha >= 0 && Double.isFinite(mixupAlpha),
                        "--mixup must be a finite alpha >= 0, got " + mixupAlpha)
                .require(
                        cutmixAlpha >= 0 && Double.isFinite(cutmixAlpha),
                        "--cutmix must be a finite alpha >= 0, got " + cutmixAlpha)
                .probability("--mixup-prob", mixupProb)
                .probability("--mixup-switch-prob", mixupSwitchProb);
        if (fromScratch && weights == null)
            System.out.println("no --weights: training MaeConfig.fashionMnistSmall()'s encoder from scratch");
    }

    /** The evaluations so far, as the checkpoint's progress keeps them. */
    private static String json(List<Map<String, Object>> rows) {
        try {
            return JSON.writeValueAsString(rows);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** report.json: the result and everything that produced it. */
    private Map<String, Object> report(
            FineTuner tuner, List<Map<String, Object>> perEpochTop1, FinetunePlan plan, double seconds) {
        LabelledData.Splits splits = plan.splits();
        LabelledDataset train = splits.train();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("test_top1", perEpochTop1.getLast().get("test_top1"));
        report.put("init", plan.scratch() ? "scratch" : weights.toAbsolutePath().toString());
        report.put("test_top1_per_epoch", perEpochTop1);
        report.put("train_images", train.size());
        report.put("test_images", splits.test().size());
        report.put("classes", train.classCount());
        report.put("updates", plan.steps());
        report.put("skipped_updates", tuner.skippedUpdates());
        report.put("batch", batch * plan.ranks());
        report.put("ranks", plan.ranks());
        report.put("step_threads", plan.stepThreads());
        report.put("epochs", epochs);
        report.put("peak_lr", plan.peakLr());
        report.put("warmup_updates", plan.warmup());
        report.put("layer_decay", layerDecay);
        report.put("trainable_blocks", plan.trainableBlocks());
        report.put("weight_decay", weightDecay);
        report.put("drop_path", dropPath);
        report.put("label_smoothing", labelSmoothing);
        report.put(
                "augment",
                !augment
                        ? "none"
                        : "RandomResizedCrop(" + cropMinScale + "-1) + flip"
                                + (randAugment() != null ? " + RandAugment(" + autoAugment + ")" : "")
                                + (reprob > 0 ? " + RandomErasing(" + reprob + ", pixel)" : ""));
        report.put("auto_augment", augment ? autoAugment : "none");
        report.put("reprob", augment ? reprob : 0);
        report.put("mixup", mixupAlpha);
        report.put("cutmix", cutmixAlpha);
        report.put("mixup_prob", mixupProb);
        report.put("mixup_switch_prob", mixupSwitchProb);
        report.put("seed", seed);
        report.put("config", tuner.classifier().config());
        report.put("duration_s", seconds);
        return report;
    }
}
