package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_tensor_view;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense, row-major tensor in off-heap memory. It either owns its memory (copied in from an array,
 * or returned by the library) or borrows a caller's segment ({@link #wrap}), which the library then
 * reads in place. Closing frees owned memory; a closed tensor throws IllegalStateException.
 */
public final class Tensor extends NativeResource {
    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;

    private Tensor(MemorySegment segment, DType dtype, long[] shape, Arena arena) {
        super(arena == null ? () -> {} : arena::close);
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
    }

    /** Copies {@code data} into new off-heap memory of the given shape. */
    public static Tensor fromFloats(float[] data, long... shape) {
        Tensor t = allocate(DType.F32, shape, data.length);
        MemorySegment.copy(data, 0, t.segment, ValueLayout.JAVA_FLOAT, 0, data.length);
        return t;
    }

    /** Copies {@code data} into new off-heap memory of the given shape. */
    public static Tensor fromDoubles(double[] data, long... shape) {
        Tensor t = allocate(DType.F64, shape, data.length);
        MemorySegment.copy(data, 0, t.segment, ValueLayout.JAVA_DOUBLE, 0, data.length);
        return t;
    }

    /** Copies {@code data} (e.g. class labels) into new off-heap memory of the given shape. */
    public static Tensor fromLongs(long[] data, long... shape) {
        Tensor t = allocate(DType.I64, shape, data.length);
        MemorySegment.copy(data, 0, t.segment, ValueLayout.JAVA_LONG, 0, data.length);
        return t;
    }

    private static final String BF16_IS_A_PRECISION =
            "BF16 is a model precision (mixed, float32 parameters), not a " + "tensor type: give F32 tensors";

    /** New zero-filled off-heap memory. */
    public static Tensor zeros(DType dtype, long... shape) {
        return allocate(dtype, shape, -1);
    }

    private static Tensor allocate(DType dtype, long[] shape, long expectedElements) {
        if (dtype == DType.BF16) throw new IllegalArgumentException(BF16_IS_A_PRECISION);
        long n = elementCount(shape);
        if (expectedElements >= 0 && n != expectedElements)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
                    + " elements but the array has " + expectedElements);
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(n * dtype.byteSize(), 64);
        return new Tensor(seg, dtype, shape.clone(), arena);
    }

    /** Borrows a float32 segment without copying; the caller keeps it alive while the tensor is used. */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        return wrap(segment, DType.F32, shape);
    }

    /** Borrows a segment without copying; the caller keeps it alive while the tensor is used. */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        if (segment == null) throw new IllegalArgumentException("segment must not be null");
        if (dtype == null) throw new IllegalArgumentException("dtype must not be null");
        if (dtype == DType.BF16) throw new IllegalArgumentException(BF16_IS_A_PRECISION);
        if (!segment.isNative())
            throw new IllegalArgumentException(
                    "segment must be off-heap (native) memory; copy heap arrays with fromFloats");
        long n = elementCount(shape);
        if (segment.byteSize() != n * dtype.byteSize())
            throw new IllegalArgumentException("segment has " + segment.byteSize() + " bytes but " + dtype + " shape "
                    + Arrays.toString(shape) + " needs " + n * dtype.byteSize());
        if (segment.address() % dtype.byteSize() != 0)
            throw new IllegalArgumentException("segment address is not aligned to " + dtype.byteSize() + " bytes");
        return new Tensor(segment, dtype, shape.clone(), null);
    }

    /** Takes ownership of a tensor the library returned; frees it when closed. */
    static Tensor adopt(MemorySegment handle) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment view = mae_tensor_view.allocate(scratch);
            int status = Mae.mae_tensor_view_of(handle, view);
            if (status != Mae.MAE_OK()) {
                Mae.mae_tensor_free(handle);
                Status.check(status);
            }
            DType dtype = DType.ofCode(mae_tensor_view.dtype(view));
            long[] shape = shapeOf(view);
            Arena arena = Arena.ofShared();
            MemorySegment seg = mae_tensor_view
                    .data(view)
                    .reinterpret(elementCount(shape) * dtype.byteSize(), arena, s -> Mae.mae_tensor_free(handle));
            return new Tensor(seg, dtype, shape, arena);
        }
    }

    static long elementCount(long[] shape) {
        if (shape == null || shape.length == 0)
            throw new IllegalArgumentException("shape must have at least one dimension");
        if (shape.length > Mae.MAE_MAX_DIMS())
            throw new IllegalArgumentException(
                    "shape must have at most " + Mae.MAE_MAX_DIMS() + " dimensions, got " + shape.length);
        long n = 1;
        for (long d : shape) {
            if (d <= 0)
                throw new IllegalArgumentException("shape dimensions must be positive, got " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The tensor's memory: exactly its size, valid until the tensor is closed. */
    public MemorySegment segment() {
        checkOpen();
        return segment;
    }

    public long[] shape() {
        return shape.clone();
    }

    public DType dtype() {
        return dtype;
    }

    public long elementCount() {
        return elementCount(shape);
    }

    /** A copy of the values as floats (converted from other dtypes). */
    public float[] toFloatArray() {
        acquire();
        try {
            if (dtype == DType.F32) return segment.toArray(ValueLayout.JAVA_FLOAT);
            double[] d = toDoublesUnchecked();
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        } finally {
            release();
        }
    }

    /** A copy of the values as doubles (converted from other dtypes). */
    public double[] toDoubleArray() {
        acquire();
        try {
            return toDoublesUnchecked();
        } finally {
            release();
        }
    }

    /** A copy of the values as longs; only for integer tensors. */
    public long[] toLongArray() {
        acquire();
        try {
            return switch (dtype) {
                case I64 -> segment.toArray(ValueLayout.JAVA_LONG);
                case U8 -> {
                    byte[] b = segment.toArray(ValueLayout.JAVA_BYTE);
                    long[] l = new long[b.length];
                    for (int i = 0; i < b.length; i++) l[i] = b[i] & 0xff;
                    yield l;
                }
                default -> throw new IllegalStateException("toLongArray needs an integer tensor, this is " + dtype);
            };
        } finally {
            release();
        }
    }

    private double[] toDoublesUnchecked() {
        return switch (dtype) {
            case F64 -> segment.toArray(ValueLayout.JAVA_DOUBLE);
            case F32 -> {
                float[] f = segment.toArray(ValueLayout.JAVA_FLOAT);
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) d[i] = f[i];
                yield d;
            }
            case I64 ->
                Arrays.stream(segment.toArray(ValueLayout.JAVA_LONG))
                        .asDoubleStream()
                        .toArray();
            case U8 -> {
                byte[] b = segment.toArray(ValueLayout.JAVA_BYTE);
                double[] d = new double[b.length];
                for (int i = 0; i < b.length; i++) d[i] = b[i] & 0xff;
                yield d;
            }
            case BF16 -> throw new IllegalStateException(BF16_IS_A_PRECISION);
        };
    }

    /** Fills a mae_tensor_view describing this tensor; call between acquire and release. */
    void writeView(MemorySegment view) {
        if (!segment.scope().isAlive())
            throw new IllegalStateException("the memory this tensor wraps was freed: its arena is closed");
        mae_tensor_view.data(view, segment);
        mae_tensor_view.dtype(view, dtype.code());
        mae_tensor_view.ndim(view, shape.length);
        MemorySegment dims = mae_tensor_view.shape(view);
        for (int i = 0; i < shape.length; i++) dims.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
    }

    /** The shape a mae_tensor_view holds. (Through the array slice: this jextract's indexed accessor is off.) */
    static long[] shapeOf(MemorySegment view) {
        MemorySegment dims = mae_tensor_view.shape(view);
        long[] shape = new long[mae_tensor_view.ndim(view)];
        for (int i = 0; i < shape.length; i++) shape[i] = dims.getAtIndex(ValueLayout.JAVA_LONG, i);
        return shape;
    }

    private void checkOpen() {
        if (isClosed()) throw new IllegalStateException("tensor is closed");
    }

    @Override
    String describe() {
        return "tensor";
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + (isClosed() ? ", closed]" : "]");
    }
}
