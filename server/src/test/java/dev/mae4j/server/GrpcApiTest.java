package dev.mae4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.mae4j.server.grpc.EmbedBatchRequest;
import dev.mae4j.server.grpc.EmbedBatchResponse;
import dev.mae4j.server.grpc.EmbedRequest;
import dev.mae4j.server.grpc.EmbedResponse;
import dev.mae4j.server.grpc.EmbedderGrpc;
import dev.mae4j.server.grpc.InfoRequest;
import dev.mae4j.server.grpc.InfoResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC side driven by grpc-java's generated client: unary, batch and streaming calls, errors, deadlines, health. */
class GrpcApiTest {
    @TempDir
    static Path dir;

    private static Path weights, log;
    private static EmbeddingServer server;
    private static ManagedChannel channel;
    private static EmbedderGrpc.EmbedderBlockingStub blocking;
    private static byte[][] images;
    private static float[][] expected;

    @BeforeAll
    static void start() throws Exception {
        weights = Fixtures.weights(dir.resolve("grpc.safetensors"), 3);
        log = dir.resolve("access.log");
        images = new byte[4][];
        expected = new float[4][];
        for (int i = 0; i < images.length; i++) {
            images[i] = Fixtures.png(10 + i, 30, 30 + i);
            expected[i] = Fixtures.expected(weights, images[i]);
        }
        server = EmbeddingServer.start(
                weights, ServerOptions.defaults().httpPort(0).grpcPort(0).accessLog(log), line -> {});
        channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.grpcPort(), InsecureChannelCredentials.create())
                .build();
        blocking = EmbedderGrpc.newBlockingStub(channel);
    }

    @AfterAll
    static void stop() throws Exception {
        if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    private static float[] vector(EmbedResponse r) {
        float[] v = new float[r.getEmbeddingCount()];
        for (int k = 0; k < v.length; k++) v[k] = r.getEmbedding(k);
        return v;
    }

    private static EmbedRequest request(byte[] image, String id) {
        return EmbedRequest.newBuilder()
                .setImage(ByteString.copyFrom(image))
                .setId(id)
                .build();
    }

    @Test
    void unaryAndBatchCallsGetTheEncodersVectors() throws Exception {
        String id = Fixtures.modelId(weights);
        InfoResponse info = blocking.info(InfoRequest.getDefaultInstance());
        assertEquals(id, info.getModelId());
        assertEquals(Fixtures.CONFIG.embedDim(), info.getDim());
        assertEquals(28, info.getImageSize());
        EmbedResponse one = blocking.embed(request(images[0], "a"));
        assertEquals("a", one.getId());
        assertEquals(id, one.getModelId());
        assertEquals(Fixtures.CONFIG.embedDim(), one.getDim());
        Fixtures.assertSameVector(expected[0], vector(one), "unary");
        EmbedBatchRequest.Builder b = EmbedBatchRequest.newBuilder();
        for (byte[] im : images) b.addImages(ByteString.copyFrom(im));
        EmbedBatchResponse batch = blocking.embedBatch(b.build());
        assertEquals(images.length, batch.getResultsCount());
        for (int i = 0; i < images.length; i++)
            Fixtures.assertSameVector(expected[i], vector(batch.getResults(i)), "batch item " + i);
    }

    @Test
    void badImagesAreInvalidArgumentsAndLateCallsDeadlineExceeded() throws Exception {
        StatusRuntimeException garbage =
                assertThrows(StatusRuntimeException.class, () -> blocking.embed(request("garbage".getBytes(), "")));
        assertEquals(Status.Code.INVALID_ARGUMENT, garbage.getStatus().getCode());
        assertTrue(garbage.getStatus().getDescription().contains("not a readable PNG or JPEG"), garbage.toString());
        StatusRuntimeException bomb = assertThrows(
                StatusRuntimeException.class, () -> blocking.embed(request(Fixtures.bomb("20000x20000.jpg"), "")));
        assertEquals(Status.Code.INVALID_ARGUMENT, bomb.getStatus().getCode());
        assertTrue(bomb.getStatus().getDescription().contains("over the budget"), bomb.toString());
        StatusRuntimeException empty = assertThrows(
                StatusRuntimeException.class, () -> blocking.embedBatch(EmbedBatchRequest.getDefaultInstance()));
        assertEquals(Status.Code.INVALID_ARGUMENT, empty.getStatus().getCode());
        StatusRuntimeException late = assertThrows(
                StatusRuntimeException.class,
                () -> blocking.withDeadlineAfter(1, TimeUnit.MICROSECONDS).embed(request(images[0], "")));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, late.getStatus().getCode());
        Fixtures.assertSameVector(expected[1], vector(blocking.embed(request(images[1], ""))), "still served");
    }

    /** A stream answers in the order sent, ids echoed; a bad image is answered with its error and the stream goes on. */
    @Test
    void aStreamAnswersInOrderAndOutlivesABadImage() throws Exception {
        List<EmbedResponse> got = new ArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        StreamObserver<EmbedRequest> out = EmbedderGrpc.newStub(channel).embedStream(new StreamObserver<>() {
            @Override
            public void onNext(EmbedResponse r) {
                synchronized (got) {
                    got.add(r);
                }
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });
        int n = 40; // more than the stream's window (twice the largest batch): flow control lets it through
        for (int i = 0; i < n; i++) {
            byte[] body = i == 5 ? "garbage".getBytes() : i == 9 ? Fixtures.bomb("20000x20000.png") : images[i % 4];
            out.onNext(request(body, "r" + i));
        }
        out.onCompleted();
        done.get(60, TimeUnit.SECONDS);
        assertEquals(n, got.size());
        for (int i = 0; i < n; i++) {
            EmbedResponse r = got.get(i);
            assertEquals("r" + i, r.getId(), "answers in the order sent");
            if (i == 5 || i == 9) {
                assertEquals(Status.Code.INVALID_ARGUMENT.value(), r.getErrorCode(), r.toString());
                assertEquals(0, r.getEmbeddingCount());
            } else {
                assertEquals(0, r.getErrorCode(), r.getError());
                Fixtures.assertSameVector(expected[i % 4], vector(r), "stream item " + i);
            }
        }
    }

    @Test
    void healthIsServingAndCallsAreLoggedWithTheirRequestId() throws Exception {
        HealthCheckResponse h = HealthGrpc.newBlockingStub(channel)
                .check(HealthCheckRequest.newBuilder()
                        .setService("mae4j.v1.Embedder")
                        .build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, h.getStatus());
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER), "grpc-7");
        blocking.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m)).embed(request(images[2], ""));
        ObjectMapper json = new ObjectMapper();
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        JsonNode line = null;
        while (line == null && System.nanoTime() < until) { // the log line is written as the answer leaves
            for (String l : Files.readAllLines(log)) {
                JsonNode n = json.readTree(l);
                if (n.has("request_id") && n.get("request_id").asText().equals("grpc-7")) line = n;
            }
            if (line == null) Thread.sleep(20);
        }
        assertTrue(line != null, "the call's access-log line");
        assertEquals("grpc", line.get("protocol").asText());
        assertEquals("/mae4j.v1.Embedder/Embed", line.get("path").asText());
        assertEquals("OK", line.get("status").asText());
        assertEquals("127.0.0.1", line.get("remote").asText());
    }
}
