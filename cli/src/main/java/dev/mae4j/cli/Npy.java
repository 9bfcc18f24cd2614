package dev.mae4j.cli;

import dev.mae4j.DType;
import dev.mae4j.Tensor;
import dev.mae4j.io.AtomicFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.StringJoiner;

/** NumPy's .npy format (version 1.0), little-endian, C order: what numpy.load reads. */
final class Npy {
    private Npy() {}

    /** Writes {@code rows} (each the same shape) stacked along a new first axis, atomically. */
    static void write(Path file, List<Tensor> rows, long[] rowShape, DType dtype) throws IOException {
        StringJoiner shape = new StringJoiner(", ", "(", rowShape.length == 0 ? ",)" : ")");
        shape.add(Long.toString(rows.stream().mapToLong(t -> t.shape()[0]).sum()));
        for (long s : rowShape) shape.add(Long.toString(s));
        String descr = dtype == DType.F64 ? "<f8" : "<f4";
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int unpadded = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        ByteBuffer head = ByteBuffer.allocate(10 + header.length()).order(ByteOrder.LITTLE_ENDIAN);
        head.put((byte) 0x93)
                .put("NUMPY".getBytes(StandardCharsets.US_ASCII))
                .put((byte) 1)
                .put((byte) 0);
        head.putShort((short) header.length())
                .put(header.getBytes(StandardCharsets.US_ASCII))
                .flip();
        AtomicFile.write(file, ch -> {
            while (head.hasRemaining()) ch.write(head);
            for (Tensor t : rows) {
                ByteBuffer b = t.segment().asByteBuffer();
                while (b.hasRemaining()) ch.write(b);
            }
        });
    }
}
