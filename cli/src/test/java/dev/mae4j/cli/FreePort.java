package dev.mae4j.cli;

import java.io.IOException;
import java.net.ServerSocket;

/** A loopback port free now, for a test's rendezvous store (--master-port). */
final class FreePort {
    private FreePort() {
    }

    static int find() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
