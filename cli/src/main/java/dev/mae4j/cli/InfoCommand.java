package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Library;
import picocli.CommandLine.Command;

/** `mae info`: what this installation runs on. */
@Command(
        name = "info",
        mixinStandardHelpOptions = true,
        description = "Print the native library's LibTorch version, threads and CUDA devices.")
final class InfoCommand implements Runnable {
    @Override
    public void run() {
        System.out.println("libmae ABI version: " + Library.abiVersion());
        System.out.println("LibTorch version:   " + Library.torchVersion());
        System.out.println("intra-op threads:   " + Library.threads());
        System.out.println("CUDA devices:       " + Device.cudaDeviceCount());
        System.out.println("Java:               " + Runtime.version());
    }
}
