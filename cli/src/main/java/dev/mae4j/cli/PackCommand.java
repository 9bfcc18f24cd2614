package dev.mae4j.cli;

import dev.mae4j.data.ImageFolder;
import dev.mae4j.data.Shard;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mae pack`: an image folder as one shard file that training memory-maps. */
@Command(
        name = "pack",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = "Decode and resize a folder of JPEG/PNG images once, into a shard that training maps zero-copy.")
final class PackCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--images", required = true, description = "The folder (class = sub-folder).")
    Path images;

    @Option(names = "--out", required = true, description = "The shard file to write.")
    Path out;

    @Option(
            names = "--img-size",
            description =
                    "Side of the stored images: each file through the evaluation transform (shorter side to side / 0.875, centre crop).")
    int imgSize = 224;

    @Option(names = "--in-chans", description = "1 (grey) or 3 (RGB).")
    int inChans = 3;

    @Override
    public Integer call() throws Exception {
        new OptionChecks(spec)
                .positive("--img-size", imgSize)
                .require(inChans == 1 || inChans == 3, "--in-chans must be 1 or 3, got " + inChans);
        ImageFolder folder = new ImageFolder(images, imgSize, inChans, new float[inChans], filled(inChans));
        Shard.write(
                out,
                folder.size(),
                inChans,
                imgSize,
                imgSize,
                folder.classes().size(),
                i -> ImageFolder.decodePixels(folder.file(i), imgSize, inChans),
                folder::label);
        System.out.printf(
                "wrote %s: %d images of %d×%d×%d in %d classes; %d unreadable files skipped%n",
                out, folder.size(), inChans, imgSize, imgSize, folder.classes().size(), folder.skipped());
        return 0;
    }

    private static float[] filled(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }
}
