package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_adamw_config;
import dev.mae4j.bindings.mae_tensor_view;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Trains a model with AdamW exactly as torch.optim.AdamW, with the reference's parameter groups (no weight
 * decay on biases and other 1-D parameters). Each {@link #step} is one forward, backward and update.
 */
public final class Trainer extends NativeResource {
    private final MemorySegment handle;
    private final Model model;

    private Trainer(MemorySegment handle, Model model) {
        super(() -> Mae.mae_trainer_free(handle));
        this.handle = handle;
        this.model = model;
    }

    public static Builder builder(Model model) {
        if (model == null) throw new IllegalArgumentException("model must not be null");
        return new Builder(model);
    }

    /** One training step on a batch [N, C, H, W]; returns that step's loss. */
    public double step(Tensor images, Masker masker) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        if (masker == null) throw new IllegalArgumentException("masker must not be null");
        acquire();
        images.acquire();
        masker.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment view = mae_tensor_view.allocate(arena);
            images.writeView(view);
            MemorySegment loss = arena.allocate(ValueLayout.JAVA_DOUBLE);
            Status.check(Mae.mae_trainer_step(handle, view, masker.handle(), loss));
            return loss.get(ValueLayout.JAVA_DOUBLE, 0);
        } finally {
            masker.release();
            images.release();
            release();
        }
    }

    /** Sets the learning rate of the following steps. */
    public void setLearningRate(double lr) {
        acquire();
        try {
            Status.check(Mae.mae_trainer_set_lr(handle, lr));
        } finally {
            release();
        }
    }

    /** Updates taken so far. */
    public long stepCount() {
        acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            Status.check(Mae.mae_trainer_step_count(handle, out));
            return out.get(ValueLayout.JAVA_LONG, 0);
        } finally {
            release();
        }
    }

    public Model model() {
        return model;
    }

    @Override
    String describe() {
        return "trainer";
    }

    /** Defaults: the paper's AdamW (lr 1.5e-4, betas 0.9/0.95, weight decay 0.05, eps 1e-8). */
    public static final class Builder {
        private final Model model;
        private double lr = 1.5e-4, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weightDecay = 0.05;

        private Builder(Model model) {
            this.model = model;
        }

        public Builder learningRate(double v) { lr = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder eps(double v) { eps = v; return this; }

        public Trainer build() {
            if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learningRate must be finite and >= 0, got " + lr);
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
            if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
            if (!(weightDecay >= 0) || Double.isInfinite(weightDecay))
                throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
            model.acquire();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment cfg = mae_adamw_config.allocate(arena);
                mae_adamw_config.lr(cfg, lr);
                mae_adamw_config.beta1(cfg, beta1);
                mae_adamw_config.beta2(cfg, beta2);
                mae_adamw_config.eps(cfg, eps);
                mae_adamw_config.weight_decay(cfg, weightDecay);
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                Status.check(Mae.mae_trainer_create(model.handle(), cfg, out));
                return new Trainer(out.get(ValueLayout.ADDRESS, 0), model);
            } finally {
                model.release();
            }
        }
    }
}
