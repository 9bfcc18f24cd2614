package dev.mae4j;

import dev.mae4j.bindings.Mae;

/** Turns libmae status codes into Java exceptions carrying the library's message. */
final class Status {
    private Status() {}

    static void check(int status) {
        if (status == Mae.MAE_OK()) return;
        check(status, NativeLibrary.string(Mae.mae_last_error()));
    }

    /** As {@link #check(int)}, running {@code cleanup} first when it failed (the message is read before it). */
    static void check(int status, Runnable cleanup) {
        if (status == Mae.MAE_OK()) return;
        String message = NativeLibrary.string(Mae.mae_last_error());
        cleanup.run();
        check(status, message);
    }

    /** As {@link #check(int)} with a message read earlier (when other calls came between). */
    static void check(int status, String message) {
        if (status == Mae.MAE_OK()) return;
        if (status == Mae.MAE_ERR_INVALID_ARGUMENT()) throw new IllegalArgumentException(message);
        if (status == Mae.MAE_ERR_INVALID_STATE()) throw new IllegalStateException(message);
        if (status == Mae.MAE_ERR_OUT_OF_MEMORY()) throw new MaeOutOfMemoryException(message);
        if (status == Mae.MAE_ERR_UNSUPPORTED()) throw new UnsupportedOperationException(message);
        if (status == Mae.MAE_ERR_PEER_FAILURE()) throw new PeerFailureException(message);
        throw new MaeException(message);
    }
}
