"""PyTorch's FlopCounterMode on a plain-PyTorch MAE (benchmarks/python/mae_reference.py), for FlopsTest.

  python flop_count.py CONFIG_JSON MASK_RATIO   prints {"forward": F, "training": T}: per image, forward alone and
                                                forward + backward, with attention through the math kernel (the
                                                counter does not see the CPU flash kernel's products)
"""
import json
import os
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "benchmarks", "python"))
from mae_reference import MaskedAutoencoderViT  # noqa: E402


def main(config, mask_ratio):
    cfg = json.loads(config)
    model = MaskedAutoencoderViT(**cfg)
    n = 2
    images = torch.randn(n, cfg["in_chans"], cfg["img_size"], cfg["img_size"])
    with sdpa_kernel(SDPBackend.MATH):
        with FlopCounterMode(display=False) as forward:
            model(images, mask_ratio)
        with FlopCounterMode(display=False) as training:
            loss, _, _ = model(images, mask_ratio)
            loss.backward()
    print(json.dumps({"forward": forward.get_total_flops() / n, "training": training.get_total_flops() / n}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
