"""PyTorch's own bfloat16 autocast on a plain-PyTorch MAE (benchmarks/python/mae_reference.py, written from
models_mae.py), the reference of MixedPrecisionTest (run by the test with the project's venv).

  python bf16_reference.py DIR   reads DIR/weights.safetensors (float32 weights, our metadata) and DIR/inputs.safetensors
                                 (pixels [N, C, H, W], noise [N, L], mask_ratio), runs forward under
                                 torch.autocast("cpu", dtype=torch.bfloat16) as main_pretrain.py does, backward outside
                                 it, and writes DIR/torch-bf16.safetensors: loss, pred and every parameter's gradient
                                 (grad.<name>), all float32
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "benchmarks", "python"))
from mae_reference import MaskedAutoencoderViT, load_safetensors  # noqa: E402
from safetensors.torch import save_file  # noqa: E402


def main(out):
    weights, meta = load_safetensors(os.path.join(out, "weights.safetensors"))
    inputs, _ = load_safetensors(os.path.join(out, "inputs.safetensors"))
    model = MaskedAutoencoderViT(int(meta["img_size"]), int(meta["patch_size"]), int(meta["in_chans"]),
                                 int(meta["embed_dim"]), int(meta["depth"]), int(meta["num_heads"]),
                                 int(meta["decoder_embed_dim"]), int(meta["decoder_depth"]), int(meta["decoder_num_heads"]),
                                 float(meta["mlp_ratio"]), meta["norm_pix_loss"] == "true")
    model.load_state_dict(weights, strict=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, pred, _ = model(inputs["pixels"], float(inputs["mask_ratio"][0]), inputs["noise"])
    loss.backward()
    result = {"loss": loss.detach().float().reshape(1), "pred": pred.detach().float().contiguous()}
    for name, p in model.named_parameters():
        if p.grad is not None:
            result["grad." + name] = p.grad.detach().float().contiguous()
    save_file(result, os.path.join(out, "torch-bf16.safetensors"))
    print(json.dumps({"torch": torch.__version__, "loss": loss.item(), "pred_dtype": str(pred.dtype)}))


if __name__ == "__main__":
    main(sys.argv[1])
