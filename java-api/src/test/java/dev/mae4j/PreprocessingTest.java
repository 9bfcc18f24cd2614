package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The normalisation travels with the weights: every file mae4j writes records it, every loader reads it back,
 * files without it get the documented default, flagged. Expected values are the constants written here.
 */
class PreprocessingTest {
    // two channels (MaeConfig.tiny), values no default has
    private static final float[] MEAN = {0.125f, 0.75f}, STD = {0.25f, 0.5f};
    private static final Preprocessing OURS = Preprocessing.of(MEAN, STD);

    @Test
    void defaultsPerChannelCountAreTheDocumentedOnes() {
        Preprocessing rgb = Preprocessing.defaultFor(3), grey = Preprocessing.defaultFor(1);
        assertArrayEquals(new float[] {0.485f, 0.456f, 0.406f}, rgb.mean());
        assertArrayEquals(new float[] {0.229f, 0.224f, 0.225f}, rgb.std());
        assertArrayEquals(new float[] {0.5f}, grey.mean());
        assertArrayEquals(new float[] {0.5f}, grey.std());
        assertFalse(rgb.recorded());
        assertArrayEquals(new float[] {0.2860f}, Preprocessing.fashionMnist().mean());
        assertArrayEquals(new float[] {0.3530f}, Preprocessing.fashionMnist().std());
        assertTrue(Preprocessing.fashionMnist().recorded());
    }

    @Test
    void badStatisticsAreRefusedByName() {
        assertTrue(assertThrows(
                        IllegalArgumentException.class, () -> Preprocessing.of(new float[] {0.5f}, new float[] {0f}))
                .getMessage()
                .contains("std[0] must be finite and > 0"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> Preprocessing.of(new float[] {0.5f, 0.5f}, new float[] {1f}))
                .getMessage()
                .contains("one value per channel, got 2 and 1"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> Preprocessing.of(new float[] {Float.NaN}, new float[] {1f}))
                .getMessage()
                .contains("mean[0] is not finite"));
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1)) {
            assertTrue(
                    assertThrows(IllegalArgumentException.class, () -> m.setPreprocessing(Preprocessing.defaultFor(3)))
                            .getMessage()
                            .contains("preprocessing has 3 channels, the model 2"));
        }
    }

    @Test
    void modelClassifierAndEncoderFilesRecordIt(@TempDir Path dir) throws Exception {
        Path mae = dir.resolve("mae.safetensors"), vit = dir.resolve("vit.safetensors");
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1)) {
            assertFalse(m.preprocessing().recorded(), "a new model has the default until told");
            m.setPreprocessing(OURS);
            m.save(mae);
            try (Classifier c = Classifier.fromEncoder(m, 3, 0.0, 1)) {
                assertEquals(OURS, c.preprocessing(), "a classifier inherits its encoder's");
                c.save(vit);
            }
        }
        try (Model m = Model.load(mae, Device.cpu());
                Encoder e = Encoder.load(mae, Device.cpu());
                Encoder v = Encoder.load(vit, Device.cpu());
                Classifier c = Classifier.load(vit, Device.cpu())) {
            for (Preprocessing p :
                    List.of(m.preprocessing(), e.preprocessing(), v.preprocessing(), c.preprocessing())) {
                assertArrayEquals(MEAN, p.mean());
                assertArrayEquals(STD, p.std());
                assertTrue(p.recorded());
            }
        }
    }

    @Test
    void filesThatRecordNoneGetTheDefaultFlagged(@TempDir Path dir) throws Exception {
        Path bare = dir.resolve("bare.safetensors");
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (ParameterInfo p : m.parameters()) tensors.put(p.name(), m.parameter(p.name()));
            Map<String, String> metadata = new LinkedHashMap<>(MaeConfig.tiny().toMetadata());
            Weights.write(bare, tensors, metadata); // as files written before preprocessing was recorded
            tensors.values().forEach(Tensor::close);
        }
        try (Encoder e = Encoder.load(bare, Device.cpu())) {
            Preprocessing p = e.preprocessing();
            assertFalse(p.recorded());
            assertArrayEquals(new float[] {0.5f, 0.5f}, p.mean());
            assertArrayEquals(new float[] {0.5f, 0.5f}, p.std());
            assertEquals(
                    bare
                            + " records no preprocessing: using the default for 2 channels (mean [0.5, 0.5], std [0.5, 0.5])",
                    p.notice(bare));
        }
    }

    @Test
    void malformedOrMismatchedRecordsAreRefusedByName(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.safetensors");
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (ParameterInfo p : m.parameters()) tensors.put(p.name(), m.parameter(p.name()));
            Map<String, String> metadata = new LinkedHashMap<>(MaeConfig.tiny().toMetadata());
            for (String[] bad : new String[][] {
                {"[0.5, \"x\"]", "[1, 1]", "image_mean is not a list of numbers"},
                {"[0.5, 0.5]", "[1, 0]", "std[1] must be finite and > 0"},
                {"[0.5]", "[1]", "records preprocessing for 1 channels, the model has 2"}
            }) {
                metadata.put("image_mean", bad[0]);
                metadata.put("image_std", bad[1]);
                Weights.write(f, tensors, metadata);
                CheckpointException e = assertThrows(CheckpointException.class, () -> Model.load(f, Device.cpu()));
                assertTrue(e.getMessage().contains(bad[2]) && e.getMessage().contains(f.toString()), e.getMessage());
            }
            metadata.remove("image_std");
            Weights.write(f, tensors, metadata);
            assertTrue(assertThrows(CheckpointException.class, () -> Model.load(f, Device.cpu()))
                    .getMessage()
                    .contains("records only one of image_mean and image_std"));
            tensors.values().forEach(Tensor::close);
        }
    }

    @Test
    void huggingFaceFoldersCarryItInPreprocessorConfig(@TempDir Path dir) throws Exception {
        MaeConfig c = MaeConfig.tiny().toBuilder().normPixLoss(true).build();
        Path hf = dir.resolve("hf"), converted = dir.resolve("converted.safetensors");
        try (Model m = Model.create(c, Device.cpu(), 2)) {
            m.setPreprocessing(OURS);
            m.saveHuggingFace(hf, 0.75);
        }
        JsonNode json = new ObjectMapper()
                .readTree(hf.resolve("preprocessor_config.json").toFile());
        assertEquals("[0.125,0.75]", json.get("image_mean").toString());
        assertEquals("[0.25,0.5]", json.get("image_std").toString());
        assertEquals(8, json.get("size").get("height").asInt());
        assertEquals(1.0 / 255, json.get("rescale_factor").asDouble(), 0.0);
        try (Model back = Model.load(hf, Device.cpu())) {
            assertEquals(OURS, back.preprocessing());
        }
        Weights.convert(hf, converted); // one file: the folder's preprocessor_config.json goes into the metadata
        Files.delete(hf.resolve("preprocessor_config.json"));
        try (Model back = Model.load(converted, Device.cpu());
                Model bare = Model.load(hf, Device.cpu())) {
            assertEquals(OURS, back.preprocessing());
            assertFalse(bare.preprocessing().recorded());
        }
    }

    @Test
    void trainingCheckpointsRecordAndRestoreIt(@TempDir Path dir) throws Exception {
        Path ckpt = dir.resolve("ckpt.safetensors");
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
                Trainer t = Trainer.builder(m).build();
                Masker masker = Masker.random(0.75, 3)) {
            m.setPreprocessing(OURS);
            t.saveCheckpoint(ckpt, masker, Map.of());
        }
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 9);
                Trainer t = Trainer.builder(m).build();
                Masker masker = Masker.random(0.75, 3)) {
            t.loadCheckpoint(ckpt, masker);
            assertEquals(OURS, m.preprocessing());
        }
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
                Classifier c = Classifier.fromEncoder(m, 2, 0.0, 1);
                FineTuner t = FineTuner.builder(c).build()) {
            c.setPreprocessing(OURS);
            t.saveCheckpoint(ckpt, Map.of());
        }
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
                Classifier c = Classifier.fromEncoder(m, 2, 0.0, 1);
                FineTuner t = FineTuner.builder(c).build()) {
            t.loadCheckpoint(ckpt);
            assertEquals(OURS, c.preprocessing());
        }
    }
}
