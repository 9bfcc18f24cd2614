package dev.mae4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import dev.mae4j.server.grpc.EmbedRequest;
import dev.mae4j.server.grpc.EmbedderGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Serving writes no file into java.io.tmpdir: not on start (transports, natives), not per request (decoding). */
class NoTemporaryFilesTest {
    @Test
    void startingAndServingBothProtocolsWritesNoTemporaryFile() throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Path dir = Files.createTempDirectory("mae4j-no-tmp");
        Path weights = Fixtures.weights(dir.resolve("w.safetensors"), 2);
        byte[] png = Fixtures.png(3, 40, 30);
        List<String> created = new ArrayList<>();
        try (WatchService watch = tmp.getFileSystem().newWatchService()) {
            tmp.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
            try (EmbeddingServer s = EmbeddingServer.start(
                    weights, ServerOptions.defaults().httpPort(0).grpcPort(0).accessLog(null), line -> {})) {
                URI base = URI.create("http://127.0.0.1:" + s.httpPort());
                assertEquals(
                        200, HttpApiTest.post(base, "/embed", "image/png", png).statusCode());
                assertEquals(200, HttpApiTest.get(base, "/metrics").statusCode());
                ManagedChannel channel = Grpc.newChannelBuilderForAddress(
                                "127.0.0.1", s.grpcPort(), InsecureChannelCredentials.create())
                        .build();
                try {
                    EmbedderGrpc.newBlockingStub(channel)
                            .embed(EmbedRequest.newBuilder()
                                    .setImage(ByteString.copyFrom(png))
                                    .build());
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
            for (WatchKey key; (key = watch.poll(200, TimeUnit.MILLISECONDS)) != null; key.reset())
                key.pollEvents().forEach(e -> created.add(e.context().toString()));
        } finally {
            Files.deleteIfExists(weights);
            Files.deleteIfExists(dir);
        }
        assertEquals(List.of(), created, "files created in " + tmp + " while serving");
    }
}
