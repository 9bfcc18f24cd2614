package dev.mae4j;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback port free now, for a test's rendezvous store (ProcessGroup.Options, the CLI's --master-port). Taken below the kernel's ephemeral
 * range, so that no other socket's port-0 bind (the usual source of check-then-bind races on a busy machine) can take
 * it before the store binds it; never the same twice in one JVM.
 */
public final class FreePort {
    private static final int SPAN = 8000;
    private static final AtomicInteger NEXT =
            new AtomicInteger(ThreadLocalRandom.current().nextInt(SPAN));

    private FreePort() {}

    public static int find() throws IOException {
        int low = ephemeralLow();
        if (low - SPAN < 1024) {
            try (ServerSocket socket = new ServerSocket(0)) {
                return socket.getLocalPort();
            }
        }
        for (int i = 0; i < SPAN; i++) {
            int port = low - SPAN + Math.floorMod(NEXT.getAndIncrement(), SPAN);
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException taken) {
                // try the next one
            }
        }
        throw new IOException("no free port in " + (low - SPAN) + ".." + (low - 1));
    }

    private static int ephemeralLow() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                    .trim()
                    .split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 49152; // IANA's dynamic range, where other systems allocate
        }
    }
}
