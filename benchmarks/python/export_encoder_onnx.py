"""Exports the encoder of MAE weights written by mae4j (a .safetensors file with the architecture in its metadata)
to ONNX for ONNX Runtime: the reference model (mae_reference.py, models_mae.py's operations), unmasked, the [CLS]
token after the final norm out — what mae4j's Encoder.embed(images, Output.CLS) returns. The batch is dynamic."""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mae_reference import MaskedAutoencoderViT, load_safetensors  # noqa: E402

ARCHITECTURE = ("img_size", "patch_size", "in_chans", "embed_dim", "depth", "num_heads", "decoder_embed_dim",
                "decoder_depth", "decoder_num_heads")


class ClsEncoder(nn.Module):
    """images [N, C, H, W] -> the normalised [CLS] token [N, D], no masking."""

    def __init__(self, mae):
        super().__init__()
        self.mae = mae

    def forward(self, imgs):
        m = self.mae
        x = m.patch_embed(imgs) + m.pos_embed[:, 1:, :]
        cls = (m.cls_token + m.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        for blk in m.blocks:
            x = blk(x)
        return m.norm(x)[:, 0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--exporter", choices=("dynamo", "torchscript"), default="dynamo",
                    help="torch.onnx's default torch.export-based exporter, or the older TorchScript one")
    a = ap.parse_args()
    tensors, meta = load_safetensors(a.weights)
    cfg = {k: int(meta[k]) for k in ARCHITECTURE}
    mae = MaskedAutoencoderViT(**cfg)
    missing, unexpected = mae.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    if unexpected or any(not k.startswith("decoder") and k != "mask_token" for k in missing):
        sys.exit(f"weights do not match the architecture: missing {missing}, unexpected {unexpected}")
    enc = ClsEncoder(mae).eval()
    x = torch.randn(2, cfg["in_chans"], cfg["img_size"], cfg["img_size"])
    tmp = a.out + ".tmp"
    with torch.no_grad():
        if a.exporter == "dynamo":
            n = torch.export.Dim("n", min=1, max=4096)
            torch.onnx.export(enc, (x,), tmp, input_names=["images"], output_names=["cls"],
                              dynamic_shapes={"imgs": {0: n}}, dynamo=True, optimize=True, external_data=False)
        else:
            torch.onnx.export(enc, (x,), tmp, input_names=["images"], output_names=["cls"],
                              dynamic_axes={"images": {0: "n"}, "cls": {0: "n"}}, opset_version=18, dynamo=False)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
