package dev.mae4j;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What {@link Model} and {@link Classifier} share: the native handle, the configuration and device, the
 * parameters (listed, copied, overwritten, their gradients) and the pixel normalisation the weights go with.
 */
abstract class Network extends NativeResource {
    /** The C ABI's parameter functions of one kind of network, bound to its handle. */
    record ParameterCalls(
            ParameterFiles.CountCall count,
            ParameterFiles.InfoCall info,
            NamedGetter get,
            NamedGetter gradient,
            NamedSetter set) {}

    private final MemorySegment handle;
    private final MaeConfig config;
    private final Device device;
    private final ParameterCalls calls;
    private final List<ParameterInfo> parameters;
    volatile Preprocessing preprocessing; // set directly only by loaders, whose files were checked on reading

    Network(MemorySegment handle, MaeConfig config, Device device, Runnable free, ParameterCalls calls) {
        super(free);
        this.handle = handle;
        this.config = config;
        this.device = device;
        this.calls = calls;
        this.preprocessing = Preprocessing.defaultFor(config.inChans());
        this.parameters = ParameterFiles.describe(calls.count(), calls.info());
    }

    /** A copy of a parameter's current value. */
    public Tensor parameter(String name) {
        return getNamed(name, calls.get());
    }

    /** A copy of a parameter's gradient from the last backward pass. */
    public Tensor gradient(String name) {
        return getNamed(name, calls.gradient());
    }

    /** Overwrites a parameter (values converted to the network's precision); the shape must match. */
    public void setParameter(String name, Tensor value) {
        setNamed(name, value, calls.set());
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
}
