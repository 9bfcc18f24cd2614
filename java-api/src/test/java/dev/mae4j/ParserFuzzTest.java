package dev.mae4j;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mae4j.data.IdxImages;
import dev.mae4j.data.ImageFolder;
import dev.mae4j.data.ImageHeader;
import dev.mae4j.data.Shard;
import dev.mae4j.io.SafeTensors;
import dev.mae4j.io.TorchSaveFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;

/**
 * Every parser of outside files against arbitrary bytes: each either succeeds or throws the exception that
 * says the file is bad (IOException, CheckpointException, IllegalArgumentException for a bad value) — never
 * anything else, never a crash. Without JAZZER_FUZZ these run the committed corpus under
 * src/test/resources/dev/mae4j/ParserFuzzTestInputs/ as regression tests.
 */
@Tag("slow")
class ParserFuzzTest {
    private static Path file(byte[] data, String suffix) throws IOException {
        Path f = Files.createTempFile("mae4j-fuzz", suffix);
        Files.write(f, data);
        return f;
    }

    /** The header read before any decoding: dimensions or IOException (ImageTooLargeException for bombs). */
    @FuzzTest(maxDuration = "10s")
    void imageHeader(byte[] data) {
        try {
            ImageHeader.Dimensions d = ImageHeader.check(data, "fuzz input");
            if (d.width() <= 0 || d.height() <= 0 || d.pixels() > ImageHeader.maxPixels())
                throw new AssertionError("accepted " + d);
        } catch (IOException expected) {
            // not an image, corrupt, or over the pixel budget
        }
    }

    @FuzzTest(maxDuration = "10s")
    void safetensors(byte[] data) throws IOException {
        Path f = file(data, ".safetensors");
        try (SafeTensors st = SafeTensors.open(f)) {
            st.entries().size();
        } catch (IOException expected) {
            // CheckpointException included: the file is refused with its problem named
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void weightsInAnyFormat(byte[] data) throws IOException {
        Path f = file(data, ".pth");
        try (WeightsReader.Loaded w = WeightsReader.read(f)) {
            w.tensors.size();
        } catch (IOException expected) {
            // refused: not a checkpoint, a hostile pickle, a broken zip
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void torchPickle(byte[] data) throws IOException {
        // The pickle alone inside an otherwise valid torch.save zip.
        Path f = Files.createTempFile("mae4j-fuzz", ".pth");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(f))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            zip.write(data);
            zip.closeEntry();
        }
        try {
            TorchSaveFile.read(f, WeightsReader.TENSORS).values().forEach(Tensor::close);
        } catch (IOException expected) {
            // refused
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void idx(byte[] data) throws IOException {
        Path f = file(data, "-images-idx3-ubyte");
        try {
            IdxImages.read(f, null);
        } catch (IOException expected) {
            // refused
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void shard(byte[] data) throws IOException {
        Path f = file(data, ".maeshard");
        try (Shard s = Shard.open(f, new float[] {0.5f}, new float[] {0.5f})) {
            if (s.size() > 0) s.label(0);
        } catch (IOException | IllegalArgumentException expected) {
            // refused (IllegalArgumentException: a shard of 3 channels given one mean)
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void huggingFaceConfig(byte[] data) throws IOException {
        Path f = file(data, ".json");
        try {
            HuggingFaceConfig.read(f, DType.F32);
        } catch (IOException expected) {
            // refused
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void imageDecoding(byte[] data) throws IOException {
        Path f = file(data, ".png");
        try {
            ImageFolder.decode(f, 8, 3, new float[] {0, 0, 0}, new float[] {1, 1, 1}, new float[192], 0);
        } catch (RuntimeException e) {
            if (!e.getMessage().contains(f.getFileName().toString()))
                throw new AssertionError("a decode failure must name the file, got: " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    // libmae's libjpeg decoder (where it has one): anything after a JPEG's start-of-image marker
    @FuzzTest(maxDuration = "10s")
    void jpegDecoding(byte[] data) throws IOException {
        byte[] jpeg = new byte[data.length + 3];
        jpeg[0] = (byte) 0xff;
        jpeg[1] = (byte) 0xd8;
        jpeg[2] = (byte) 0xff;
        System.arraycopy(data, 0, jpeg, 3, data.length);
        imageDecoding(jpeg);
    }
}
