package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_config;
import dev.mae4j.bindings.mae_device;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The native inference encoder (mae_encoder_*) behind {@link Encoder#load}: the encoder's parameters alone, no
 * decoder or head, embedding in inference mode.
 */
final class EncoderNetwork extends Network {
    private final boolean classifier;

    private EncoderNetwork(MemorySegment handle, MaeConfig config, Device device, boolean classifier) {
        super(handle, config, device, () -> Mae.mae_encoder_free(handle), Mae::mae_encoder_params);
        this.classifier = classifier;
    }

    /** An MAE's encoder ({@code classifier} false) or a fine-tuned classifier's, its parameters at zero. */
    static EncoderNetwork create(MaeConfig config, Device device, boolean classifier) {
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding()) {
            MemorySegment cfg = mae_config.allocate(d.arena());
            config.writeTo(cfg);
            MemorySegment dev = mae_device.allocate(d.arena());
            device.writeTo(dev);
            MemorySegment out = d.pointer();
            int kind = classifier ? Mae.MAE_ENCODER_CLASSIFIER() : Mae.MAE_ENCODER_MAE();
            d.check(Mae.mae_encoder_create(cfg, dev, kind, out));
            MemorySegment handle = out.get(ValueLayout.ADDRESS, 0);
            try {
                return new EncoderNetwork(handle, config, device, classifier);
            } catch (RuntimeException e) {
                Mae.mae_encoder_free(handle);
                throw e;
            }
        }
    }

    boolean isClassifier() {
        return classifier;
    }

    void setBf16(boolean on) {
        Downcall.run(() -> Mae.mae_encoder_bf16_set(handle(), on ? 1 : 0), this);
    }

    Tensor embed(Tensor images, int pool) {
        try (Downcall d = Downcall.holding(this, images)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_encoder_embed(handle(), d.view(images), pool, out));
            return d.adopt(out);
        }
    }

    void embedInto(Tensor images, int pool, Tensor out) {
        try (Downcall d = Downcall.holding(this, images, out)) {
            d.check(Mae.mae_encoder_embed_into(handle(), d.view(images), pool, d.view(out)));
        }
    }

    @Override
    String describe() {
        return "encoder";
    }
}
