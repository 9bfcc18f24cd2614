package dev.mae4j.server;

import dev.mae4j.MaeConfig;
import dev.mae4j.server.grpc.EmbedBatchRequest;
import dev.mae4j.server.grpc.EmbedBatchResponse;
import dev.mae4j.server.grpc.EmbedRequest;
import dev.mae4j.server.grpc.EmbedResponse;
import dev.mae4j.server.grpc.EmbedderGrpc;
import dev.mae4j.server.grpc.InfoRequest;
import dev.mae4j.server.grpc.InfoResponse;
import dev.mae4j.serving.Embedding;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC side of the server (mae4j/v1/embedding.proto): the same service, limits and batcher as HTTP. A call's
 * deadline, capped by the server's request timeout, is the images' deadline; a cancelled call's images never reach
 * the encoder if their batch has not formed. Streams use flow control: at most twice the largest batch of a
 * stream's images are in flight, so a fast client cannot queue without end.
 */
final class GrpcApi extends EmbedderGrpc.EmbedderImplBase {
    private final EmbeddingService service;
    private final CallLog log;

    /** The caller's x-request-id metadata and address, put in each call's context by {@link #interceptor}. */
    static final Context.Key<String> REQUEST_ID = Context.key("mae4j-request-id");

    static final Context.Key<String> REMOTE = Context.key("mae4j-remote");
    private static final Metadata.Key<String> REQUEST_ID_HEADER =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

    /** Records one finished call (access log and metrics). */
    interface CallLog {
        void call(Call call, Status.Code code, int images, long bytes, String modelId);
    }

    /** One call: its method, start, and the caller's request id and address. */
    record Call(String method, long startNanos, String requestId, String remote) {
        static Call begin(String method) {
            return new Call(method, System.nanoTime(), REQUEST_ID.get(), REMOTE.get());
        }
    }

    static ServerInterceptor interceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                java.net.SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                String remote = a instanceof java.net.InetSocketAddress i
                        ? i.getAddress().getHostAddress()
                        : String.valueOf(a);
                Context c = Context.current()
                        .withValue(REQUEST_ID, HttpApi.requestId(headers.get(REQUEST_ID_HEADER)))
                        .withValue(REMOTE, remote);
                return Contexts.interceptCall(c, call, headers, next);
            }
        };
    }

    GrpcApi(EmbeddingService service, CallLog log) {
        this.service = service;
        this.log = log;
    }

    @Override
    public void embed(EmbedRequest request, StreamObserver<EmbedResponse> out) {
        Call start = Call.begin("Embed");
        CompletableFuture<Embedding> f;
        try {
            f = service.embed(request.getImage().toByteArray(), "the image", timeout());
        } catch (RequestError e) {
            fail(out, start, e, 1, request.getImage().size());
            return;
        }
        cancelOnCancel(out, List.of(f));
        f.whenComplete((e, t) -> {
            if (t != null)
                fail(
                        out,
                        start,
                        EmbeddingService.failure(t),
                        1,
                        request.getImage().size());
            else {
                send(out, response(request.getId(), e));
                out.onCompleted();
                log.call(start, Status.Code.OK, 1, request.getImage().size(), e.modelId());
            }
        });
    }

    @Override
    public void embedBatch(EmbedBatchRequest request, StreamObserver<EmbedBatchResponse> out) {
        Call start = Call.begin("EmbedBatch");
        int n = request.getImagesCount();
        long bytes = request.getSerializedSize();
        List<byte[]> images = new ArrayList<>(n);
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            images.add(request.getImages(i).toByteArray());
            names.add("images[" + i + "]");
        }
        List<CompletableFuture<Embedding>> fs;
        try {
            if (n == 0) throw new RequestError(RequestError.Kind.BAD_REQUEST, "images is empty");
            fs = service.embedAll(images, names, timeout());
        } catch (RequestError e) {
            fail(out, start, e, n, bytes);
            return;
        }
        cancelOnCancel(out, fs);
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
            if (t != null) {
                fs.forEach(f -> f.cancel(false));
                fail(out, start, EmbeddingService.failure(t), n, bytes);
                return;
            }
            EmbedBatchResponse.Builder b = EmbedBatchResponse.newBuilder();
            for (CompletableFuture<Embedding> f : fs) b.addResults(response("", f.join()));
            send(out, b.build());
            out.onCompleted();
            log.call(start, Status.Code.OK, n, bytes, fs.get(0).join().modelId());
        });
    }

    @Override
    public StreamObserver<EmbedRequest> embedStream(StreamObserver<EmbedResponse> out) {
        Call start = Call.begin("EmbedStream");
        ServerCallStreamObserver<EmbedResponse> call = (ServerCallStreamObserver<EmbedResponse>) out;
        call.disableAutoRequest();
        Set<CompletableFuture<Embedding>> pending = ConcurrentHashMap.newKeySet();
        call.setOnCancelHandler(() -> pending.forEach(f -> f.cancel(false)));
        call.request(2 * service.options().maxBatch);
        return new StreamObserver<>() {
            private final Object lock = new Object();
            // Responses leave in the order requests came: each waits for the one before it.
            private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
            private int images;
            private long bytes;
            private String modelId;

            @Override
            public void onNext(EmbedRequest r) {
                CompletableFuture<EmbedResponse> answer;
                try {
                    CompletableFuture<Embedding> f =
                            service.embed(r.getImage().toByteArray(), "image " + r.getId(), timeout());
                    pending.add(f);
                    answer = f.handle((e, t) -> {
                        pending.remove(f);
                        if (t != null) return error(r.getId(), EmbeddingService.failure(t));
                        modelId = e.modelId();
                        return response(r.getId(), e);
                    });
                } catch (RequestError e) {
                    answer = CompletableFuture.completedFuture(error(r.getId(), e));
                }
                synchronized (lock) {
                    images++;
                    bytes += r.getImage().size();
                    tail = tail.thenCombine(answer, (v, resp) -> {
                        if (!call.isCancelled()) {
                            send(call, resp);
                            call.request(1);
                        }
                        return null;
                    });
                }
            }

            @Override
            public void onError(Throwable t) {
                pending.forEach(f -> f.cancel(false));
                log.call(start, Status.fromThrowable(t).getCode(), images, bytes, modelId);
            }

            @Override
            public void onCompleted() {
                synchronized (lock) {
                    tail = tail.thenRun(() -> {
                        if (!call.isCancelled()) call.onCompleted();
                        log.call(start, Status.Code.OK, images, bytes, modelId);
                    });
                }
            }
        };
    }

    @Override
    public void info(InfoRequest request, StreamObserver<InfoResponse> out) {
        MaeConfig c = service.config();
        if (c == null) {
            out.onError(Status.UNAVAILABLE
                    .withDescription("the model is still loading")
                    .asRuntimeException());
            return;
        }
        ServerOptions o = service.options();
        out.onNext(InfoResponse.newBuilder()
                .setModelId(service.modelId())
                .setDim(c.embedDim())
                .setImageSize(c.imgSize())
                .setChannels(c.inChans())
                .setMaxBatch(o.maxBatch)
                .setMaxImagesPerRequest(o.maxImagesPerRequest)
                .build());
        out.onCompleted();
    }

    private static EmbedResponse response(String id, Embedding e) {
        EmbedResponse.Builder b =
                EmbedResponse.newBuilder().setId(id).setDim(e.vector().length).setModelId(e.modelId());
        for (float x : e.vector()) b.addEmbedding(x);
        return b.build();
    }

    private static EmbedResponse error(String id, RequestError e) {
        return EmbedResponse.newBuilder()
                .setId(id)
                .setErrorCode(e.kind.grpc.value())
                .setError(e.getMessage())
                .build();
    }

    // The call's deadline, capped by the server's request timeout.
    private Duration timeout() {
        Duration cap = service.options().requestTimeout;
        Deadline d = Context.current().getDeadline();
        if (d == null) return cap;
        Duration left = Duration.ofNanos(Math.max(0, d.timeRemaining(TimeUnit.NANOSECONDS)));
        return left.compareTo(cap) < 0 ? left : cap;
    }

    private static <T> void cancelOnCancel(StreamObserver<T> out, List<CompletableFuture<Embedding>> fs) {
        ((ServerCallStreamObserver<T>) out).setOnCancelHandler(() -> fs.forEach(f -> f.cancel(false)));
    }

    private static <T> void send(StreamObserver<T> out, T message) {
        try {
            out.onNext(message);
        } catch (RuntimeException cancelled) {
            // the client went away: nothing to answer
        }
    }

    private <T> void fail(StreamObserver<T> out, Call call, RequestError e, int images, long bytes) {
        try {
            out.onError(e.status().asRuntimeException());
        } catch (RuntimeException cancelled) {
            // the client went away
        }
        log.call(call, e.kind.grpc, images, bytes, null);
    }
}
