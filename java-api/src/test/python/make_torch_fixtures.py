"""Writes the torch.save fixtures of TorchSaveFileTest with real PyTorch (the committed ones come from Debian's
torch 1.13, the era of the official MAE checkpoints; the project venv's 2.13 writes files the test reads as well:
../../../../.venv/bin/python make_torch_fixtures.py DIR). The values follow a formula the Java test
repeats: parameter k, element i holds ((7 i + 13 k) mod 17 - 8) / 16, exactly representable in every dtype."""
import argparse
import collections
import io
import json
import os
import pickle
import sys
import zipfile

import torch

# MaeConfig.tiny(): 8 px, patch 2, 2 channels, encoder 8 wide x 2 blocks, decoder 12 wide x 1 block, mlp ratio 2.
IMG, P, C, D, DEPTH, DD, DDEPTH, MLP = 8, 2, 2, 8, 2, 12, 1, 2.0
L = (IMG // P) ** 2


def block(prefix, dim):
    h = int(dim * MLP)
    return [(prefix + n, s) for n, s in [
        ("norm1.weight", [dim]), ("norm1.bias", [dim]), ("attn.qkv.weight", [3 * dim, dim]), ("attn.qkv.bias", [3 * dim]),
        ("attn.proj.weight", [dim, dim]), ("attn.proj.bias", [dim]), ("norm2.weight", [dim]), ("norm2.bias", [dim]),
        ("mlp.fc1.weight", [h, dim]), ("mlp.fc1.bias", [h]), ("mlp.fc2.weight", [dim, h]), ("mlp.fc2.bias", [dim])]]


def mae_names():
    names = [("cls_token", [1, 1, D]), ("pos_embed", [1, L + 1, D]), ("mask_token", [1, 1, DD]),
             ("decoder_pos_embed", [1, L + 1, DD]), ("patch_embed.proj.weight", [D, C, P, P]), ("patch_embed.proj.bias", [D])]
    for i in range(DEPTH):
        names += block("blocks.%d." % i, D)
    names += [("norm.weight", [D]), ("norm.bias", [D]), ("decoder_embed.weight", [DD, D]), ("decoder_embed.bias", [DD])]
    for i in range(DDEPTH):
        names += block("decoder_blocks.%d." % i, DD)
    names += [("decoder_norm.weight", [DD]), ("decoder_norm.bias", [DD]), ("decoder_pred.weight", [P * P * C, DD]),
              ("decoder_pred.bias", [P * P * C])]
    return names


def values(k, shape, dtype=torch.float32):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.int64)
    return (((7 * i + 13 * k) % 17 - 8).to(torch.float64) / 16).reshape(shape).to(dtype)


def mae_state_dict():
    sd = collections.OrderedDict()
    for k, (name, shape) in enumerate(mae_names()):
        sd[name] = values(k, shape)
    return sd


def hf_state_dict(sd):
    """ViTMAEForPreTraining naming, query/key/value split, as transformers' conversion script produces."""
    out = collections.OrderedDict()
    top = {"cls_token": "vit.embeddings.cls_token", "pos_embed": "vit.embeddings.position_embeddings",
           "patch_embed.proj.weight": "vit.embeddings.patch_embeddings.projection.weight",
           "patch_embed.proj.bias": "vit.embeddings.patch_embeddings.projection.bias",
           "norm.weight": "vit.layernorm.weight", "norm.bias": "vit.layernorm.bias", "mask_token": "decoder.mask_token",
           "decoder_pos_embed": "decoder.decoder_pos_embed"}
    inner = {"attn.proj": "attention.output.dense", "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense",
             "norm1": "layernorm_before", "norm2": "layernorm_after"}
    for name, t in sd.items():
        if name in top:
            out[top[name]] = t
        elif name.startswith("decoder_blocks.") or name.startswith("blocks."):
            dec = name.startswith("decoder_blocks.")
            rest = name.split(".", 1)[1]
            idx, tail = rest.split(".", 1)
            prefix = ("decoder.decoder_layers.%s." if dec else "vit.encoder.layer.%s.") % idx
            if tail.startswith("attn.qkv."):
                kind = tail[len("attn.qkv."):]
                q, k, v = t.chunk(3, dim=0)
                out[prefix + "attention.attention.query." + kind] = q.clone()
                out[prefix + "attention.attention.key." + kind] = k.clone()
                out[prefix + "attention.attention.value." + kind] = v.clone()
            else:
                mod, kind = tail.rsplit(".", 1)
                out[prefix + inner[mod] + "." + kind] = t
        else:
            out["decoder." + name] = t
    return out


def main(out):
    os.makedirs(out, exist_ok=True)
    sd = mae_state_dict()
    # A training checkpoint as main_pretrain.py's misc.save_model writes it.
    torch.save({"model": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}, "epoch": 3,
                "scaler": {"scale": 65536.0}, "args": argparse.Namespace(lr=None, blr=1.5e-4, model="mae_vit_tiny")},
               os.path.join(out, "mae_tiny_checkpoint.pth"))
    # The encoder alone, as the official mae_pretrain_vit_*.pth files hold it.
    enc = collections.OrderedDict((k, v) for k, v in sd.items() if not (k.startswith("decoder") or k == "mask_token"))
    torch.save({"model": enc}, os.path.join(out, "mae_tiny_encoder.pth"))
    # Hugging Face naming in a model folder with its config.json.
    hf = os.path.join(out, "hf_tiny")
    os.makedirs(hf, exist_ok=True)
    torch.save(hf_state_dict(sd), os.path.join(hf, "pytorch_model.bin"))
    with open(os.path.join(hf, "config.json"), "w") as f:
        json.dump({"architectures": ["ViTMAEForPreTraining"], "model_type": "vit_mae", "hidden_size": D,
                   "num_hidden_layers": DEPTH, "num_attention_heads": 2, "intermediate_size": int(D * MLP),
                   "hidden_act": "gelu", "layer_norm_eps": 1e-6, "image_size": IMG, "patch_size": P, "num_channels": C,
                   "qkv_bias": True, "decoder_num_attention_heads": 3, "decoder_hidden_size": DD,
                   "decoder_num_hidden_layers": DDEPTH, "decoder_intermediate_size": int(DD * MLP), "mask_ratio": 0.75,
                   "norm_pix_loss": False}, f, indent=2)
    # Storage layouts: half precision, a transposed (strided) view, two views of one storage, a scalar.
    base = values(0, [3, 4])
    torch.save({"half": values(1, [2, 3], torch.float16), "bf16": values(2, [5], torch.bfloat16),
                "double": values(3, [2, 2], torch.float64), "transposed": base.t(), "row1": base[1], "whole": base,
                "step": torch.tensor(7), "ints": torch.arange(4, dtype=torch.int32)},
               os.path.join(out, "layouts.pth"))
    # The reference's interpolate_pos_embed on a learned table, for the bicubic resize.
    pos = values(5, [1, 1 + 16, 4])
    tokens = pos[:, 1:].reshape(-1, 4, 4, 4).permute(0, 3, 1, 2)
    tokens = torch.nn.functional.interpolate(tokens, size=(6, 6), mode="bicubic", align_corners=False)
    resized = torch.cat((pos[:, :1], tokens.permute(0, 2, 3, 1).flatten(1, 2)), dim=1)
    torch.save({"pos": pos, "resized": resized}, os.path.join(out, "pos_resize.pth"))
    # A hostile file: a torch.save zip whose pickle calls os.system.
    with zipfile.ZipFile(os.path.join(out, "hostile.pth"), "w") as z:
        z.writestr("hostile/data.pkl", b"\x80\x02cos\nsystem\nq\x00X\x0b\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.")
        z.writestr("hostile/version", "3\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
