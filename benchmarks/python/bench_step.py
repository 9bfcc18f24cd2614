"""Times the Python reference's MAE training step (forward, backward, AdamW) with the protocol of mae bench and
the C++ driver, after checking that it computes what libmae computes on the same weights and noise.

  .venv/bin/python bench_step.py --config fashion-mnist --check DIR [--batch N] [--steps N] [--warmup N] [--threads N]
                                 [--ddp RANKS] [--turns PREFIX] [--compile]

--ddp RANKS times Python's own way to use several cores: DistributedDataParallel over Gloo on loopback, RANKS
processes with batch/RANKS images each (the same global batch) and the cores split between them as torchrun
would (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = cores / RANKS).

--turns PREFIX takes each step in turn with another process (benchmarks/python/lockstep.py), as mae bench --turns:
ask on the pipe PREFIX.from ("warm" or "step"), wait for "go" on PREFIX.to, "end" when done.

DIR comes from `mae bench --export-check DIR`: weights.safetensors (libmae's initial weights) and
check.safetensors (images, noise, libmae's loss and prediction)."""
import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mae_reference import MaskedAutoencoderViT, load_safetensors, param_groups  # noqa: E402

ARCHITECTURE = ("img_size", "patch_size", "in_chans", "embed_dim", "depth", "num_heads", "decoder_embed_dim",
                "decoder_depth", "decoder_num_heads")


def architecture(check_dir):
    """The model mae bench exported: the architecture its weights' metadata records (libmae's preset registry)."""
    _, meta = load_safetensors(os.path.join(check_dir, "weights.safetensors"))
    return {k: int(meta[k]) for k in ARCHITECTURE}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="fashion-mnist", help="the preset's name, for the report (the model is --check's)")
    ap.add_argument("--check", required=True, help="directory written by mae bench --export-check")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--driver-name", default="python", help="the label of this run's line (e.g. python+malloc)")
    ap.add_argument("--ddp", type=int, default=1, help="data-parallel processes (DistributedDataParallel, Gloo)")
    ap.add_argument("--ddp-port", type=int, default=29517)
    ap.add_argument("--turns", help="take steps in turns with another process (pipes PREFIX.from, PREFIX.to)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where the timed steps run (the check runs on the CPU)")
    ap.add_argument("--bf16", action="store_true",
                    help="the forward pass under torch.autocast(dtype=torch.bfloat16), as main_pretrain.py's amp (mae bench --precision bf16)")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the model (inductor); the warm-up steps include the compilation")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = architecture(a.check)
    batch = a.batch or (256 if cfg["img_size"] <= 32 else 8)  # as mae bench
    model = build(a, cfg)
    check, _ = load_safetensors(os.path.join(a.check, "check.safetensors"))
    with torch.no_grad():
        loss, pred, _ = model(check["images"], 0.75, check["noise"])
    loss_err = abs(loss.item() - check["loss"].item())
    pred_err = (pred - check["pred"]).abs().max().item()
    if not (loss_err <= 1e-5 * max(1.0, abs(loss.item())) and pred_err <= 1e-4):
        print(json.dumps({"driver": "python", "config": a.config, "error": "outputs differ from libmae's",
                          "loss_err": loss_err, "pred_max_err": pred_err}))
        sys.exit(1)

    if a.ddp > 1:
        share = str(max(1, (os.cpu_count() or 1) // a.ddp))
        os.environ.update(OMP_NUM_THREADS=share, OPENBLAS_NUM_THREADS=share, MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(a.ddp_port))
        queue = mp.get_context("spawn").SimpleQueue()
        mp.spawn(ddp_rank, args=(a, cfg, batch, queue), nprocs=a.ddp)
        ms, last = queue.get()
        threads = int(share)
    else:
        turns = Turns(a.turns) if a.turns else None
        model = model.to(a.device)
        ms, last = time_steps(a, model, images_of(cfg, batch, 0, 1).to(a.device), turns)
        if turns:
            turns.close()
        threads = a.threads
    in_order = list(ms)
    ms.sort()
    q = lambda p: ms[min(len(ms) - 1, int(p * (len(ms) - 1) + 0.5))]
    print(json.dumps({"driver": a.driver_name + ("+compile" if a.compile else "") + ("+bf16" if a.bf16 else ""), "config": a.config, "batch": batch, "threads": threads, "device": a.device,
                      "ranks": a.ddp, "steps": a.steps,
                      "median_ms": round(q(0.5), 3), "p25_ms": round(q(0.25), 3), "p75_ms": round(q(0.75), 3),
                      "images_per_s": round(1000 * batch / q(0.5), 2), "last_loss": last, "torch": torch.__version__,
                      "check_loss_err": loss_err, "check_pred_max_err": pred_err,
                      **({"ms_in_order": [round(x, 3) for x in in_order]} if a.turns else {})}))


class Turns:
    """This side of lockstep.py's pipes: ask for a turn, wait for go."""

    def __init__(self, prefix):
        self.requests = open(prefix + ".from", "w")
        self.go = open(prefix + ".to")

    def await_turn(self, measured):
        self.requests.write("step\n" if measured else "warm\n")
        self.requests.flush()
        line = self.go.readline().strip()
        if line != "go":
            raise SystemExit("--turns: expected go from the coordinator, got %r" % line)

    def close(self):
        self.requests.write("end\n")
        self.requests.flush()
        self.requests.close()
        self.go.close()


def build(a, cfg):
    model = MaskedAutoencoderViT(mlp_ratio=4.0, norm_pix_loss=True, **cfg)
    weights, _ = load_safetensors(os.path.join(a.check, "weights.safetensors"))
    model.load_state_dict(weights, strict=True)
    return model


def images_of(cfg, batch, rank, ranks):
    """This rank's slice of the benchmark batch (the whole batch for one process)."""
    g = torch.Generator().manual_seed(0)
    images = torch.randn(batch, cfg["in_chans"], cfg["img_size"], cfg["img_size"], generator=g)
    per = batch // ranks
    return images[rank * per:(rank + 1) * per]


def time_steps(a, model, images, turns=None):
    """Warm-up, then each measured step (forward, backward, AdamW) timed alone: (times in ms, last loss)."""
    params = model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
    opt = torch.optim.AdamW(param_groups(params, 0.05), lr=1.5e-4, betas=(0.9, 0.95))
    if a.compile:
        model = torch.compile(model)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(torch.device(a.device).type, dtype=torch.bfloat16, enabled=a.bf16):
            loss, _, _ = model(images, 0.75)
        loss.backward()
        opt.step()
        return loss.item()  # the same per-step host read the Java and C++ steps make

    for _ in range(a.warmup):
        if turns:
            turns.await_turn(False)
        step()
    ms = []
    last = None
    for _ in range(a.steps):
        if turns:
            turns.await_turn(True)
        t0 = time.perf_counter()
        last = step()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms, last


def ddp_rank(rank, a, cfg, batch, queue):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    dist.init_process_group("gloo", rank=rank, world_size=a.ddp)
    model = torch.nn.parallel.DistributedDataParallel(build(a, cfg))
    ms, last = time_steps(a, model, images_of(cfg, batch, rank, a.ddp))
    if rank == 0:
        queue.put((ms, last))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
