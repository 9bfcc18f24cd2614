package dev.mae4j.data;

import dev.mae4j.Augment;
import dev.mae4j.Tensor;
import dev.mae4j.bindings.Mae;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * timm's RandAugment ({@code rand_augment_transform}) as the reference's fine-tuning uses it ({@code --aa
 * rand-m9-mstd0.5-inc1}): for each image, {@code layers} operations drawn with replacement from timm's 15, each
 * applied with probability ½ at a magnitude drawn from N({@code magnitude}, {@code magnitudeStd}) (uniform on
 * [0, magnitude] when the spread is infinite) and clipped to [0, {@code magnitudeMax}]; {@code increasing} picks
 * the variants that grow stronger with the magnitude (timm's {@code inc1}). This class draws the {@link Step}s;
 * {@link #apply} applies them with PIL's arithmetic.
 */
public record RandAugment(int layers, double magnitude, double magnitudeStd, double magnitudeMax, boolean increasing) {
    /** timm's operations, by the names of its auto_augment.py. */
    public enum Op {
        AUTO_CONTRAST("AutoContrast"),
        EQUALIZE("Equalize"),
        INVERT("Invert"),
        ROTATE("Rotate"),
        POSTERIZE("Posterize"),
        SOLARIZE("Solarize"),
        SOLARIZE_ADD("SolarizeAdd"),
        COLOR("Color"),
        CONTRAST("Contrast"),
        BRIGHTNESS("Brightness"),
        SHARPNESS("Sharpness"),
        SHEAR_X("ShearX"),
        SHEAR_Y("ShearY"),
        TRANSLATE_X_REL("TranslateXRel"),
        TRANSLATE_Y_REL("TranslateYRel");

        private final String timmName;

        Op(String timmName) {
            this.timmName = timmName;
        }

        public String timmName() {
            return timmName;
        }

        public static Op ofTimmName(String name) {
            for (Op op : values()) if (op.timmName.equals(name)) return op;
            throw new IllegalArgumentException("no RandAugment operation " + name);
        }
    }

    /**
     * One operation on one image with its argument in timm's units (its level_to_arg's result): degrees for ROTATE,
     * bits kept for POSTERIZE, the threshold for SOLARIZE, the addend for SOLARIZE_ADD, the ImageEnhance factor for
     * COLOR … SHARPNESS, the shear factor for SHEAR_*, the fraction of the width or height for TRANSLATE_*; none (0)
     * for the rest.
     */
    public record Step(Op op, double arg) {}

    private static final double LEVEL_DENOM = 10; // timm's _LEVEL_DENOM: magnitude 10 is the full range
    private static final Op[] OPS = Op.values(); // values() copies the array on every call

    public RandAugment {
        if (layers < 0) throw new IllegalArgumentException("layers must not be negative, got " + layers);
        if (!(magnitude >= 0) || Double.isInfinite(magnitude))
            throw new IllegalArgumentException("magnitude must be finite and not negative, got " + magnitude);
        if (!(magnitudeStd >= 0))
            throw new IllegalArgumentException("magnitudeStd must not be negative, got " + magnitudeStd);
        if (!(magnitudeMax >= 0) || Double.isInfinite(magnitudeMax))
            throw new IllegalArgumentException("magnitudeMax must be finite and not negative, got " + magnitudeMax);
    }

    /**
     * Reads timm's configuration string: {@code rand} and dash-separated sections {@code m} (magnitude, default 10),
     * {@code n} (layers, 2), {@code mstd} (magnitude spread, 0; above 100 uniform), {@code mmax} (upper bound, 10),
     * {@code inc} (1: the increasing variants; timm reads any value as 1, here 0 means the plain ones).
     * E.g. {@code rand-m9-mstd0.5-inc1}, the reference's.
     */
    public static RandAugment parse(String spec) {
        if (spec == null) throw new IllegalArgumentException("spec must not be null");
        String[] sections = spec.split("-");
        if (!sections[0].equals("rand"))
            throw new IllegalArgumentException(
                    "a RandAugment spec starts with 'rand', e.g. rand-m9-mstd0.5-inc1; got '" + spec + "'");
        int layers = 2;
        double magnitude = LEVEL_DENOM, std = 0, max = LEVEL_DENOM;
        boolean increasing = false;
        for (int i = 1; i < sections.length; i++) {
            String s = sections[i];
            int digit = 0;
            while (digit < s.length() && !Character.isDigit(s.charAt(digit))) digit++;
            if (digit == s.length()) continue; // timm skips sections without a number
            String key = s.substring(0, digit), value = s.substring(digit);
            try {
                switch (key) {
                    case "m" -> magnitude = Integer.parseInt(value);
                    case "n" -> layers = Integer.parseInt(value);
                    case "mstd" ->
                        std = Double.parseDouble(value) > 100 ? Double.POSITIVE_INFINITY : Double.parseDouble(value);
                    case "mmax" -> max = Integer.parseInt(value);
                    case "inc" -> increasing = Integer.parseInt(value) != 0;
                    default ->
                        throw new IllegalArgumentException("unknown RandAugment section '" + s + "' in '" + spec
                                + "' (known: m, n, mstd, mmax, inc)");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("RandAugment section '" + s + "' of '" + spec + "' needs a number");
            }
        }
        return new RandAugment(layers, magnitude, std, max, increasing);
    }

    /** The reference's fine-tuning RandAugment, {@code rand-m9-mstd0.5-inc1}. */
    public static RandAugment reference() {
        return parse("rand-m9-mstd0.5-inc1");
    }

    /** For each of n images, the steps to apply in order (operations that were drawn but not applied left out). */
    public List<List<Step>> draw(int n, Random random) {
        if (n < 0) throw new IllegalArgumentException("n must not be negative, got " + n);
        List<List<Step>> plans = new ArrayList<>(n);
        for (int i = 0; i < n; i++) plans.add(draw(random));
        return plans;
    }

    private List<Step> draw(Random random) {
        List<Step> steps = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            Op op = OPS[random.nextInt(OPS.length)];
            if (random.nextDouble() > 0.5) continue; // timm's AugmentOp: applied with probability 0.5
            double m = magnitude;
            if (magnitudeStd == Double.POSITIVE_INFINITY) m = random.nextDouble() * magnitude;
            else if (magnitudeStd > 0) m = magnitude + magnitudeStd * random.nextGaussian();
            steps.add(new Step(op, argument(op, Math.max(0, Math.min(m, magnitudeMax)), random)));
        }
        return steps;
    }

    /** timm's level_to_arg of {@code op} at magnitude m: its argument, negated at random where timm does. */
    double argument(Op op, double m, Random random) {
        double level = m / LEVEL_DENOM;
        return switch (op) {
            case AUTO_CONTRAST, EQUALIZE, INVERT -> 0;
            case ROTATE -> randomlyNegate(level * 30, random);
            case POSTERIZE -> increasing ? 4 - (int) (level * 4) : (int) (level * 4);
            case SOLARIZE -> increasing ? 256 - (int) (level * 256) : (int) (level * 256);
            case SOLARIZE_ADD -> (int) (level * 110);
            case COLOR, CONTRAST, BRIGHTNESS, SHARPNESS ->
                increasing ? Math.max(0.1, 1.0 + randomlyNegate(level * 0.9, random)) : level * 1.8 + 0.1;
            case SHEAR_X, SHEAR_Y -> randomlyNegate(level * 0.3, random);
            case TRANSLATE_X_REL, TRANSLATE_Y_REL -> randomlyNegate(level * 0.45, random);
        };
    }

    private static double randomlyNegate(double v, Random random) {
        return random.nextDouble() > 0.5 ? -v : v; // timm's _randomly_negate
    }

    /**
     * RandAugment for a whole batch with PIL's arithmetic: image i of images [N, C, H, W] (F32, normalised with
     * {@code mean} and {@code std}, one value per channel; C 1 or 3) changed by {@code steps.get(i)} in order (from
     * {@link #draw}), in native code ({@link Augment#randAugment} with these steps' plan). Returns a new tensor.
     */
    public static Tensor apply(Tensor images, List<List<Step>> steps, double[] mean, double[] std) {
        if (images == null || steps == null || mean == null || std == null)
            throw new IllegalArgumentException(
                    (images == null ? "images" : steps == null ? "steps" : mean == null ? "mean" : "std")
                            + " must not be null");
        long[] shape = images.shape();
        if (shape.length != 4)
            throw new IllegalArgumentException("images must be [N, C, H, W], got " + Arrays.toString(shape));
        if (steps.size() != shape[0])
            throw new IllegalArgumentException(
                    "steps must hold one list per image (" + shape[0] + "), got " + steps.size());
        if (mean.length != shape[1] || std.length != shape[1])
            throw new IllegalArgumentException("mean and std need one value per channel (" + shape[1] + "), got "
                    + mean.length + " and " + std.length);
        int k = Math.max(1, steps.stream().mapToInt(List::size).max().orElse(0)), columns = 7;
        double[] plan = new double[steps.size() * k * columns]; // unused steps stay MAE_RA_NONE (0)
        for (int i = 0; i < steps.size(); i++)
            for (int j = 0; j < steps.get(i).size(); j++)
                planStep(steps.get(i).get(j), (int) shape[3], (int) shape[2], plan, (i * k + j) * columns);
        return Augment.randAugment(images, plan, k, mean, std);
    }

    /** Writes step's native form (an MAE_RA_* code and six arguments) at plan[at ...] for a width × height image. */
    private static void planStep(Step step, int width, int height, double[] plan, int at) {
        double[] affine = affineCoefficients(step, width, height);
        if (affine != null) {
            plan[at] = Mae.MAE_RA_AFFINE();
            System.arraycopy(affine, 0, plan, at + 1, 6);
            return;
        }
        plan[at] = switch (step.op()) {
            case AUTO_CONTRAST -> Mae.MAE_RA_AUTOCONTRAST();
            case EQUALIZE -> Mae.MAE_RA_EQUALIZE();
            case INVERT -> Mae.MAE_RA_INVERT();
            case POSTERIZE -> Mae.MAE_RA_POSTERIZE();
            case SOLARIZE -> Mae.MAE_RA_SOLARIZE();
            case SOLARIZE_ADD -> Mae.MAE_RA_SOLARIZE_ADD();
            case COLOR -> Mae.MAE_RA_COLOR();
            case CONTRAST -> Mae.MAE_RA_CONTRAST();
            case BRIGHTNESS -> Mae.MAE_RA_BRIGHTNESS();
            case SHARPNESS -> Mae.MAE_RA_SHARPNESS();
            default -> throw new IllegalStateException("no native form for " + step.op()); // geometric ones are affine
        };
        plan[at + 1] = step.arg();
        if (step.op() == Op.SOLARIZE_ADD) plan[at + 2] = 128; // timm's solarize_add threshold
    }

    /**
     * The coefficients (a0 … a5) of the Image.transform(AFFINE) that a geometric step makes in PIL on a width × height
     * image: output pixel centre (x, y) reads the input at (a0 x + a1 y + a2, a3 x + a4 y + a5); null for the others.
     * ROTATE follows Image.rotate: about the centre, the angle taken modulo 360 and the matrix rounded to 15 decimals.
     */
    public static double[] affineCoefficients(Step step, int width, int height) {
        double a = step.arg();
        return switch (step.op()) {
            case SHEAR_X -> new double[] {1, a, 0, 0, 1, 0};
            case SHEAR_Y -> new double[] {1, 0, 0, a, 1, 0};
            case TRANSLATE_X_REL -> new double[] {1, 0, a * width, 0, 1, 0};
            case TRANSLATE_Y_REL -> new double[] {1, 0, 0, 0, 1, a * height};
            case ROTATE -> rotation(a, width, height);
            default -> null;
        };
    }

    private static double[] rotation(double degrees, int width, int height) {
        double angle = degrees % 360.0;
        if (angle < 0) angle += 360.0; // Python's modulo takes the divisor's sign
        if (angle == 0) return new double[] {1, 0, 0, 0, 1, 0}; // PIL copies the image
        double rad = -Math.toRadians(angle);
        double cos = round15(Math.cos(rad)), sin = round15(Math.sin(rad)), minusSin = round15(-Math.sin(rad));
        double cx = width / 2.0, cy = height / 2.0;
        double[] m = {cos, sin, 0.0, minusSin, cos, 0.0};
        double x = -cx - 0, y = -cy - 0; // -rotn_center - post_trans
        double c = m[0] * x + m[1] * y + m[2], f = m[3] * x + m[4] * y + m[5];
        m[2] = c + cx;
        m[5] = f + cy;
        return m;
    }

    /** Python's round(v, 15): the decimal rounding of v's exact value, back to the nearest double. */
    private static double round15(double v) {
        return new java.math.BigDecimal(v)
                .setScale(15, java.math.RoundingMode.HALF_EVEN)
                .doubleValue();
    }
}
