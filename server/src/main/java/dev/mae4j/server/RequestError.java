package dev.mae4j.server;

import io.grpc.Status;

/** A request the server answers with an error: its HTTP status and gRPC code, and a message that names the problem. */
final class RequestError extends Exception {
    private static final long serialVersionUID = 1L;

    enum Kind {
        /** No readable image, malformed JSON or base64, a batch over the per-request limit. */
        BAD_REQUEST(400, Status.Code.INVALID_ARGUMENT),
        /** A body over the byte limit, an image over the pixel budget (refused before decoding). */
        TOO_LARGE(413, Status.Code.INVALID_ARGUMENT),
        /** Every byte or decode slot in use, or the queue full: retry later. */
        OVERLOADED(503, Status.Code.UNAVAILABLE),
        /** No model loaded yet, or the server drains. */
        UNAVAILABLE(503, Status.Code.UNAVAILABLE),
        /** The request's deadline passed before its answer. */
        DEADLINE(504, Status.Code.DEADLINE_EXCEEDED),
        /** The encoder failed. */
        INTERNAL(500, Status.Code.INTERNAL);

        final int http;
        final Status.Code grpc;

        Kind(int http, Status.Code grpc) {
            this.http = http;
            this.grpc = grpc;
        }
    }

    final Kind kind;

    RequestError(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    Status status() {
        return Status.fromCode(kind.grpc).withDescription(getMessage());
    }
}
