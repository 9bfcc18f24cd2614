package dev.mae4j;

import dev.mae4j.bindings.Mae;

/** Element types of tensors, with their ABI codes and sizes; and BF16, a model precision only. */
public enum DType {
    F32(Mae.MAE_DTYPE_F32(), 4, "F32"),
    F64(Mae.MAE_DTYPE_F64(), 8, "F64"),
    I64(Mae.MAE_DTYPE_I64(), 8, "I64"),
    U8(Mae.MAE_DTYPE_U8(), 1, "U8"),
    /**
     * bfloat16 mixed precision, as {@link MaeConfig#precision()} only (no tensor has it): parameters, gradients and
     * AdamW in float32, the forward pass autocast to bfloat16 as torch.autocast does; inputs and outputs are F32.
     */
    BF16(Mae.MAE_DTYPE_BF16(), 2, "BF16");

    private final int code;
    private final int byteSize;
    private final String safetensorsName;

    DType(int code, int byteSize, String safetensorsName) {
        this.code = code;
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    int code() {
        return code;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The dtype's name in safetensors headers. */
    public String safetensorsName() {
        return safetensorsName;
    }

    static DType ofCode(int code) {
        for (DType t : values()) if (t.code == code) return t;
        throw new MaeException("libmae returned unknown dtype code " + code);
    }

    /** The dtype for a safetensors name, or null when mae4j does not read that type. */
    static DType ofSafetensorsName(String name) {
        for (DType t : values()) if (t != BF16 && t.safetensorsName.equals(name)) return t;
        return null;
    }
}
