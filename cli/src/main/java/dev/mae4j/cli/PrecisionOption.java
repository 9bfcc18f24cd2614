package dev.mae4j.cli;

import dev.mae4j.DType;
import dev.mae4j.MaeConfig;
import java.util.Locale;
import picocli.CommandLine.Option;

/** --precision: f32 (the default), f64, or bf16 mixed precision (float32 weights and AdamW, bfloat16 autocast). */
final class PrecisionOption {
    @Option(
            names = "--precision",
            description = "f32 (default), f64, or bf16: mixed precision, float32 weights and "
                    + "AdamW with the forward pass autocast to bfloat16, as torch.autocast.")
    String precision = "f32";

    DType dtype() {
        return switch (precision.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f64" -> DType.F64;
            case "bf16" -> DType.BF16;
            default -> throw new IllegalArgumentException("--precision must be f32, f64 or bf16, got " + precision);
        };
    }

    MaeConfig apply(MaeConfig c) {
        return c.toBuilder().precision(dtype()).build();
    }
}
