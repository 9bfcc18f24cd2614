package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * What {@link Model} and {@link Classifier} share: the native handle, the configuration and device, the
 * parameters (listed, copied, overwritten, their gradients) and the pixel normalisation the weights go with.
 */
abstract class Network extends NativeResource {
    private final MemorySegment handle;
    private final MaeConfig config;
    private final Device device;
    private final MemorySegment params; // mae_params, borrowed from the handle
    private volatile List<ParameterInfo> parameters;
    volatile Preprocessing preprocessing; // set directly only by loaders, whose files were checked on reading

    /** {@code params} borrows the handle's parameters: mae_model_params or mae_classifier_params. */
    Network(MemorySegment handle, MaeConfig config, Device device, Runnable free, BorrowCall params) {
        super(free);
        this.handle = handle;
        this.config = config;
        this.device = device;
        MemorySegment p = borrow(handle, params);
        this.params = p;
        this.preprocessing = Preprocessing.defaultFor(config.inChans());
        this.parameters = describe(p);
    }

    private static List<ParameterInfo> describe(MemorySegment p) {
        return NetworkWeights.describe(
                out -> Mae.mae_params_count(p, out),
                (i, name, view, trainable) -> Mae.mae_params_info(p, i, name, view, trainable));
    }

    /** Reads the parameters' list again: a fine-tuner changes which are trained. Call acquired. */
    final void refreshParameters() {
        parameters = describe(params);
    }

    /** A copy of a parameter's current value. */
    public Tensor parameter(String name) {
        return getNamed(name, (n, out) -> Mae.mae_params_get(params, n, out));
    }

    /** A copy of a parameter's gradient from the last backward pass. */
    public Tensor gradient(String name) {
        return getNamed(name, (n, out) -> Mae.mae_params_grad_get(params, n, out));
    }

    /** Overwrites a parameter (values converted to the network's precision); the shape must match. */
    public void setParameter(String name, Tensor value) {
        setNamed(name, value, (n, view) -> Mae.mae_params_set(params, n, view));
    }

    /** Every parameter in the reference state_dict's order. */
    public List<ParameterInfo> parameters() {
        return parameters;
    }

    public MaeConfig config() {
        return config;
    }

    public Device device() {
        return device;
    }

    /**
     * How this network's input pixels are normalised: what its weights file recorded, what
     * {@link #setPreprocessing} set, or (new networks, files that record none) {@link Preprocessing#defaultFor}
     * its channel count. Saving writes it.
     */
    public Preprocessing preprocessing() {
        return preprocessing;
    }

    /** Records the normalisation this network is trained with, for saving to write. */
    public void setPreprocessing(Preprocessing preprocessing) {
        if (preprocessing == null) throw new IllegalArgumentException("preprocessing must not be null");
        if (preprocessing.channels() != config.inChans())
            throw new IllegalArgumentException("preprocessing has " + preprocessing.channels() + " channels, the "
                    + describe() + " " + config.inChans());
        this.preprocessing = preprocessing;
    }

    /** The native handle; call between acquire and release. */
    MemorySegment handle() {
        return handle;
    }

    /**
     * Fills {@code net} from a weights file's tensors (those {@code optional} names may be absent) and gives it the
     * file's preprocessing; on any failure closes {@code net} and rethrows, so a half-loaded network never escapes.
     */
    static <N extends Network> N loaded(
            N net, Path path, WeightsReader.Loaded weights, Preprocessing preprocessing, Predicate<String> optional)
            throws IOException {
        return loaded(net, path, weights.tensors, preprocessing, optional);
    }

    /** As above, from the tensors given (a file's, some left out). */
    static <N extends Network> N loaded(
            N net, Path path, Map<String, Tensor> tensors, Preprocessing preprocessing, Predicate<String> optional)
            throws IOException {
        try {
            NetworkWeights.load(path, tensors, net.parameters(), net::setParameter, optional);
            net.preprocessing = preprocessing;
            return net;
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
    }
}
