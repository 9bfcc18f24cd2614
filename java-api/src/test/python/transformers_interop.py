"""The real transformers library on both sides of TransformersInteropTest (run by the test with the project's venv).

  python transformers_interop.py write DIR   ViTMAEForPreTraining and ViTMAEModel folders as transformers saves
                                             them (non-default layer_norm_eps, norm_pix_loss, mask_ratio; the first
                                             with a preprocessor_config.json of PROCESSOR), and
                                             DIR/expected.safetensors: the inputs, noise and transformers' outputs
  python transformers_interop.py read DIR    loads DIR/ours (written by mae4j) with from_pretrained and AutoModel,
                                             fails on missing or unexpected keys, and writes DIR/ours-outputs.safetensors
                                             for DIR/ours-inputs.safetensors, with "processed": its image_u8 rescaled and
                                             normalised as DIR/ours/preprocessor_config.json says, by transformers
"""
import json
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import image_transforms
from transformers.image_processing_base import ImageProcessingMixin
from transformers import AutoModel, AutoModelForPreTraining, ViTMAEConfig, ViTMAEForPreTraining, ViTMAEModel

CONFIG = dict(image_size=32, patch_size=8, num_channels=3, hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
              intermediate_size=192, decoder_hidden_size=32, decoder_num_hidden_layers=2,
              decoder_num_attention_heads=4, decoder_intermediate_size=128, layer_norm_eps=1e-5,
              norm_pix_loss=True, mask_ratio=0.6, hidden_act="gelu", qkv_bias=True)
# Non-default statistics, so that a reader that falls back to a default cannot pass.
PROCESSOR = dict(image_mean=[0.25, 0.5, 0.75], image_std=[0.125, 0.25, 0.5], size={"height": 32, "width": 32},
                 do_normalize=True, do_rescale=True, rescale_factor=1 / 255)


def packed(tensors):
    return {k: v.detach().float().contiguous() for k, v in tensors.items()}


def write(out):
    torch.manual_seed(7)
    config = ViTMAEConfig(**CONFIG)
    pre = ViTMAEForPreTraining(config).eval()
    pre.save_pretrained(out + "/pretraining")
    # the image processor's file as transformers writes it (ViTImageProcessor itself needs PIL and torchvision)
    ImageProcessingMixin(**PROCESSOR).save_pretrained(out + "/pretraining")
    g = torch.Generator().manual_seed(11)
    pixels = torch.randn(2, 3, 32, 32, generator=g)
    noise = torch.rand(2, 16, generator=g)
    with torch.no_grad():
        o = pre(pixel_values=pixels, noise=noise)
    encoder = ViTMAEModel(ViTMAEConfig(**dict(CONFIG, mask_ratio=0.0))).eval()
    encoder.save_pretrained(out + "/model")
    ordered = torch.arange(16, dtype=torch.float32).repeat(2, 1)  # mask ratio 0 and sorted noise: every patch in order
    with torch.no_grad():
        hidden = encoder(pixel_values=pixels, noise=ordered).last_hidden_state
    # interpolate_pos_encoding=True on 48 × 48 images: the pretraining model's table resized to a 6 × 6 grid
    with torch.no_grad():
        pos_48 = pre.vit.embeddings.interpolate_pos_encoding(torch.zeros(1, 1 + 36, 48), 48, 48)
    save_file(packed({"pixel_values": pixels, "noise": noise, "loss": o.loss.reshape(1), "logits": o.logits,
                      "mask": o.mask, "last_hidden_state": hidden, "pos_48": pos_48}), out + "/expected.safetensors")
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__}))


def read(out):
    model, info = ViTMAEForPreTraining.from_pretrained(out + "/ours", output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise SystemExit("from_pretrained reported %s" % problems)
    for auto_class, expected in ((AutoModelForPreTraining, "ViTMAEForPreTraining"), (AutoModel, "ViTMAEModel")):
        picked = type(auto_class.from_pretrained(out + "/ours")).__name__
        if picked != expected:
            raise SystemExit("%s picked %s, not %s" % (auto_class.__name__, picked, expected))
    inputs = load_file(out + "/ours-inputs.safetensors")
    with torch.no_grad():
        o = model.eval()(pixel_values=inputs["pixel_values"], noise=inputs["noise"])
    # what transformers' image processors do with the processor file mae4j wrote: rescale, then normalise
    proc, _ = ImageProcessingMixin.get_image_processor_dict(out + "/ours")
    image = inputs["image_u8"].numpy()  # [H, W, C] on 0..255
    processed = image_transforms.normalize(image_transforms.rescale(image, proc["rescale_factor"]), proc["image_mean"],
                                           proc["image_std"], data_format="channels_first", input_data_format="channels_last")
    if proc["size"] != {"height": 32, "width": 32}:
        raise SystemExit("preprocessor_config.json size is %s" % proc["size"])
    save_file(packed({"loss": o.loss.reshape(1), "logits": o.logits, "mask": o.mask,
                      "processed": torch.from_numpy(processed)}), out + "/ours-outputs.safetensors")
    print(json.dumps({"transformers": transformers.__version__}))


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
