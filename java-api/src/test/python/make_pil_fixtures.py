"""Writes RandAugmentTest's fixture with real PIL (run with Debian's python3-pil:
/usr/bin/python3 make_pil_fixtures.py ../resources/pil/rand-augment.json): small grey and RGB images, each put
through timm's RandAugment operations one at a time and in pairs, by the PIL calls timm's auto_augment.py makes
(bicubic resampling and the dataset-mean fill colour, as main_finetune.py's create_transform asks for)."""
import json
import random
import sys

import PIL
from PIL import Image, ImageEnhance, ImageOps

# round(255 * mean) of Fashion-MNIST's mean (0.2860) and of ImageNet's, as timm's img_mean
FILL = {"L": 73, "RGB": (124, 116, 104)}


def apply(img, op, arg):
    fill = FILL[img.mode]
    affine = lambda m: img.transform(img.size, Image.AFFINE, m, resample=Image.BICUBIC, fillcolor=fill)
    if op == "AutoContrast":
        return ImageOps.autocontrast(img)
    if op == "Equalize":
        return ImageOps.equalize(img)
    if op == "Invert":
        return ImageOps.invert(img)
    if op == "Posterize":
        return img if arg >= 8 else ImageOps.posterize(img, int(arg))
    if op == "Solarize":
        return ImageOps.solarize(img, arg)
    if op == "SolarizeAdd":
        lut = [min(255, i + int(arg)) if i < 128 else i for i in range(256)]
        return img.point(lut * len(img.getbands()))
    if op in ("Color", "Contrast", "Brightness", "Sharpness"):
        return getattr(ImageEnhance, op)(img).enhance(arg)
    if op == "Rotate":
        return img.rotate(arg, resample=Image.BICUBIC, fillcolor=fill)
    if op == "ShearX":
        return affine((1, arg, 0, 0, 1, 0))
    if op == "ShearY":
        return affine((1, 0, 0, arg, 1, 0))
    if op == "TranslateXRel":
        return affine((1, 0, arg * img.size[0], 0, 1, 0))
    if op == "TranslateYRel":
        return affine((1, 0, 0, 0, 1, arg * img.size[1]))
    raise ValueError(op)


SINGLE = [("AutoContrast", 0), ("Equalize", 0), ("Invert", 0)] \
    + [("Posterize", b) for b in (0, 1, 2, 4, 8)] \
    + [("Solarize", t) for t in (0, 26, 128, 230, 256)] \
    + [("SolarizeAdd", a) for a in (0, 30, 110)] \
    + [(op, f) for op in ("Color", "Contrast", "Brightness", "Sharpness") for f in (0.1, 0.55, 1.0, 1.63, 1.9)] \
    + [("Rotate", d) for d in (-30.0, -12.7, 0.0, 7.3, 29.9)] \
    + [(op, v) for op in ("ShearX", "ShearY") for v in (-0.3, -0.13, 0.21, 0.3)] \
    + [(op, v) for op in ("TranslateXRel", "TranslateYRel") for v in (-0.45, -0.2, 0.13, 0.45)]


def images(rng):
    # (mode, width, height): non-square so that x and y cannot be swapped unnoticed
    for mode, w, h in (("L", 10, 8), ("RGB", 9, 7)):
        bands = len(mode)
        noise = [rng.randrange(256) for _ in range(w * h * bands)]
        # a narrow smooth range (what autocontrast and equalize stretch) with a little noise
        narrow = [min(255, 90 + 5 * ((i // bands) % w) + 4 * ((i // bands) // w) + rng.randrange(6)) for i in range(w * h * bands)]
        for pixels in (noise, narrow):
            img = Image.new(mode, (w, h))
            img.putdata(pixels if bands == 1 else [tuple(pixels[i:i + 3]) for i in range(0, len(pixels), 3)])
            yield img


def planar(img):
    """[C, H, W] row-major pixel values."""
    return [v for band in img.split() for v in band.getdata()]


def main(out):
    rng = random.Random(2021)
    inputs, cases = [], []
    for i, img in enumerate(images(rng)):
        inputs.append({"mode": img.mode, "width": img.size[0], "height": img.size[1], "fill": FILL[img.mode],
                       "pixels": planar(img)})
        chains = [[s] for s in SINGLE] + [[rng.choice(SINGLE), rng.choice(SINGLE)] for _ in range(12)]
        for chain in chains:
            result = img
            for op, arg in chain:
                result = apply(result, op, arg)
            cases.append({"image": i, "ops": [[op, arg] for op, arg in chain], "output": planar(result)})
    with open(out, "w") as f:
        json.dump({"pil": PIL.__version__, "images": inputs, "cases": cases}, f, separators=(",", ":"))
    print(f"wrote {len(cases)} cases (PIL {PIL.__version__}) to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
