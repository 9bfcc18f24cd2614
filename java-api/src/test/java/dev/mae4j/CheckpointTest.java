package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.io.SafeTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** safetensors checkpoints: bit-exact round trips, the reference's names, and clear errors for bad files. */
class CheckpointTest {
    @TempDir
    Path dir;

    private static Model trained(MaeConfig c) {
        Model model = Model.create(c, TestData.device(), 8);
        try (Trainer t = Trainer.builder(model).learningRate(1e-2).build();
                Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(2 * 128, 3)), 2, 2, 8, 8);
                Masker m = Masker.random(0.75, 1)) {
            t.step(images, m);
            t.step(images, m);
        }
        return model;
    }

    @Test
    void saveThenLoadIsBitExact() throws IOException {
        MaeConfig c = MaeConfig.tiny();
        Path file = dir.resolve("ckpt.safetensors");
        try (Model model = trained(c)) {
            model.save(file);
            try (Model byConfig = Model.load(file, c, TestData.device());
                    Model byMetadata = Model.load(file, TestData.device())) {
                assertEquals(c, byMetadata.config());
                for (ParameterInfo p : model.parameters()) {
                    try (Tensor a = model.parameter(p.name());
                            Tensor b = byConfig.parameter(p.name());
                            Tensor d = byMetadata.parameter(p.name())) {
                        assertEquals(-1, a.segment().mismatch(b.segment()), p.name());
                        assertEquals(-1, a.segment().mismatch(d.segment()), p.name());
                    }
                }
                try (Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(2 * 128, 9)), 2, 2, 8, 8);
                        Masker m1 = Masker.random(0.75, 2);
                        Masker m2 = Masker.random(0.75, 2);
                        ForwardResult r1 = model.forward(images, m1);
                        ForwardResult r2 = byConfig.forward(images, m2)) {
                    assertEquals(r1.loss(), r2.loss(), 0.0);
                }
            }
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void fileUsesReferenceKeysShapesAndF32() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (Model model = Model.create(MaeConfig.tiny(), TestData.device(), 0)) {
            model.save(file);
        }
        byte[] bytes = Files.readAllBytes(file);
        long headerLen =
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLen) % 8, "data starts 8-byte aligned");
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertTrue(header.contains("\"blocks.1.attn.qkv.weight\":{\"dtype\":\"F32\",\"shape\":[24,8]"), header);
        for (String key : List.of(
                "cls_token",
                "pos_embed",
                "mask_token",
                "decoder_pos_embed",
                "patch_embed.proj.weight",
                "blocks.0.mlp.fc1.bias",
                "norm.weight",
                "decoder_embed.weight",
                "decoder_blocks.0.norm2.bias",
                "decoder_norm.bias",
                "decoder_pred.weight",
                "\"embed_dim\":\"8\"",
                "\"format\":\"pt\"")) assertTrue(header.contains(key), "header lacks " + key);
    }

    @Test
    void savingReplacesAnEarlierCheckpoint() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (Model a = Model.create(MaeConfig.tiny(), TestData.device(), 1);
                Model b = Model.create(MaeConfig.tiny(), TestData.device(), 2)) {
            a.save(file);
            b.save(file);
            try (Model loaded = Model.load(file, TestData.device());
                    Tensor x = loaded.parameter("cls_token");
                    Tensor y = b.parameter("cls_token")) {
                assertEquals(-1, x.segment().mismatch(y.segment()));
            }
        }
    }

    @Test
    void aWriteThatFailsMidwayKeepsThePreviousFileAndLeavesNoTemporary() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (Model model = Model.create(MaeConfig.tiny(), TestData.device(), 1)) {
            model.save(file);
        }
        byte[] before = Files.readAllBytes(file);
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
        java.lang.foreign.MemorySegment gone = arena.allocate(16);
        arena.close(); // the second tensor's memory is gone: writing it fails after the first was written
        try (Tensor ok = Tensor.zeros(DType.F32, 4)) {
            List<SafeTensors.Source> sources = List.of(
                    new SafeTensors.Source("a", "F32", new long[] {4}, ok.segment()),
                    new SafeTensors.Source("b", "F32", new long[] {4}, gone));
            assertThrows(IllegalStateException.class, () -> SafeTensors.write(file, java.util.Map.of(), sources));
        }
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    private Path write(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    private static byte[] withHeader(String json, int dataBytes) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    private void assertRejected(Path file, String messagePart) {
        CheckpointException e =
                assertThrows(CheckpointException.class, () -> Model.load(file, MaeConfig.tiny(), TestData.device()));
        assertTrue(
                e.getMessage().contains(messagePart), "message '" + e.getMessage() + "' lacks '" + messagePart + "'");
    }

    @Test
    void malformedFilesAreRejectedWithTheirProblemNamed() throws IOException {
        assertRejected(write("empty", new byte[0]), "fewer than the 8-byte header length");
        byte[] huge = new byte[16];
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE);
        assertRejected(write("huge", huge), "header length");
        assertRejected(write("json", withHeader("{not json", 0)), "not valid JSON");
        assertRejected(write("array", withHeader("[1,2]", 0)), "not a JSON object");
        assertRejected(
                write(
                        "dup",
                        withHeader(
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                                4)),
                "Duplicate field 'a'");
        assertRejected(
                write("range", withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8)),
                "outside the data section");
        assertRejected(
                write("size", withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)),
                "needs 12");
        assertRejected(
                write(
                        "overlap",
                        withHeader(
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                                12)),
                "overlap");
        assertRejected(
                write("dtype", withHeader("{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8)),
                "unknown dtype");
        assertRejected(
                write("negative", withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8)),
                "bad shape");
        assertRejected(
                write("keys", withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8)),
                "missing [blocks.0.attn.proj.bias");
    }

    @Test
    void wrongShapesAndTypesAreRejected() throws IOException {
        Path good = dir.resolve("good.safetensors");
        try (Model model = Model.create(MaeConfig.tiny(), TestData.device(), 0)) {
            model.save(good);
        }
        // the same file read as a model of another width: every key is present, shapes differ
        MaeConfig wider = MaeConfig.tiny().toBuilder().embedDim(12).numHeads(3).build();
        CheckpointException e =
                assertThrows(CheckpointException.class, () -> Model.load(good, wider, TestData.device()));
        assertTrue(e.getMessage().contains("has shape"), e.getMessage());
        // a model of another depth: keys differ
        MaeConfig deeper = MaeConfig.tiny().toBuilder().depth(3).build();
        e = assertThrows(CheckpointException.class, () -> Model.load(good, deeper, TestData.device()));
        assertTrue(e.getMessage().contains("missing [blocks.2."), e.getMessage());
        assertThrows(
                java.nio.file.NoSuchFileException.class, () -> Model.load(dir.resolve("absent"), TestData.device()));
    }

    @Test
    void metadataWithoutConfigNeedsAnExplicitOne() throws IOException {
        Path file = write("bare", withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Model.load(file, TestData.device()));
        assertTrue(e.getMessage().contains("pass a MaeConfig"), e.getMessage());
    }

    @Test
    void nanWeightsAreRefusedWithTheTensorNamed(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path file = dir.resolve("nan.safetensors");
        try (Model m = Model.create(MaeConfig.tiny(), TestData.device(), 1)) {
            float[] v = new float[8];
            v[3] = Float.NaN;
            try (Tensor t = Tensor.fromFloats(v, 8)) {
                m.setParameter("norm.bias", t);
            }
            m.save(file);
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> Model.load(file, TestData.device()));
        assertTrue(e.getMessage().contains("'norm.bias' holds a NaN or infinite value (element 3)"), e.getMessage());
    }
}
