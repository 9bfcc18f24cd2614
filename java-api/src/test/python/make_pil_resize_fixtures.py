"""Writes ResizedCropPilTest's fixture with real torchvision and PIL (run with Debian's python3-torchvision and
python3-pil: /usr/bin/python3 make_pil_resize_fixtures.py ../resources/pil/resized-crop.json): small grey and RGB
images, each cropped and resized by torchvision's F.resized_crop with bicubic interpolation, as RandomResizedCrop
does to the reference's PIL images — shrinking, enlarging, both at once, unchanged, the whole image — and put
through the reference's evaluation transform, Resize(int(size / 0.875), bicubic) + CenterCrop(size); and small JPEG
files (colour with 4:2:0 and 4:4:4 chroma, progressive, grey) with the pixels PIL decodes from them."""
import base64
import io
import json
import random
import sys

import PIL
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from make_pil_fixtures import planar


def images(rng):
    # non-square, and big enough that a shrink by 3 or more widens the filter past the crop's edges
    for mode, w, h in (("L", 37, 23), ("RGB", 31, 19)):
        bands = len(mode)
        noise = [rng.randrange(256) for _ in range(w * h * bands)]
        # smooth ramps with sharp steps: bicubic overshoots them, so the clipping to 0..255 is exercised
        steps = [(0 if (i // bands) % w < w // 2 else 250) + ((i // bands) // w) % 5 for i in range(w * h * bands)]
        for pixels in (noise, steps):
            img = Image.new(mode, (w, h))
            img.putdata(pixels if bands == 1 else [tuple(pixels[i:i + 3]) for i in range(0, len(pixels), 3)])
            yield img


def crops(img, rng):
    w, h = img.size
    yield (0, 0, h, w, w, h)  # the whole image, unchanged: PIL copies
    yield (0, 0, h, w, 12, 9)  # the whole image, shrunk (evaluation's Resize)
    yield (0, 0, h, w, 2 * w + 3, 2 * h - 1)  # the whole image, enlarged
    yield (3, 5, h - 3, w - 5, w - 5, h - 3)  # a crop at its own size
    yield (0, 0, 1, 1, 4, 3)  # one pixel
    for _ in range(10):
        ch, cw = rng.randint(1, h), rng.randint(1, w)
        top, left = rng.randint(0, h - ch), rng.randint(0, w - cw)
        yield (top, left, ch, cw, rng.randint(1, w + 4), rng.randint(1, h + 4))


def jpegs(rng):
    """(file bytes, PIL's decoded image) for JPEGs of odd sizes, so that chroma upsampling meets the edges."""
    for mode, w, h, options in (("RGB", 23, 17, {}), ("RGB", 23, 17, {"subsampling": 0}),
                                ("RGB", 30, 11, {"progressive": True}), ("L", 19, 13, {})):
        small = Image.new(mode, (5, 4))
        small.putdata([tuple(rng.randrange(256) for _ in range(3)) if mode == "RGB" else rng.randrange(256)
                       for _ in range(20)])
        buf = io.BytesIO()
        small.resize((w, h), Image.BICUBIC).save(buf, "JPEG", quality=85, **options)
        data = buf.getvalue()
        yield data, Image.open(io.BytesIO(data)).convert(mode)


def main(out):
    rng = random.Random(2021)
    inputs, cases, evaluations = [], [], []
    for i, img in enumerate(images(rng)):
        inputs.append({"mode": img.mode, "width": img.size[0], "height": img.size[1], "pixels": planar(img)})
        for top, left, ch, cw, out_w, out_h in crops(img, rng):
            result = F.resized_crop(img, top, left, ch, cw, [out_h, out_w], InterpolationMode.BICUBIC)
            cases.append({"image": i, "crop": [top, left, ch, cw], "width": out_w, "height": out_h,
                          "output": planar(result)})
        for size in (5, 8, 16, 19):  # main_finetune.py's evaluation transform (crop_pct 224 / 256 up to 224)
            evaluation = transforms.Compose([transforms.Resize(int(size / (224 / 256)), interpolation=InterpolationMode.BICUBIC),
                                             transforms.CenterCrop(size)])
            evaluations.append({"image": i, "size": size, "output": planar(evaluation(img))})
    decoded = [{"jpeg": base64.b64encode(data).decode(), "mode": img.mode, "width": img.size[0], "height": img.size[1],
                "pixels": planar(img)} for data, img in jpegs(rng)]
    with open(out, "w") as f:
        json.dump({"pil": PIL.__version__, "torchvision": torchvision.__version__, "images": inputs, "cases": cases,
                   "evaluations": evaluations, "jpegs": decoded}, f, separators=(",", ":"))
    print(f"wrote {len(cases)} crops and {len(evaluations)} evaluation transforms (PIL {PIL.__version__}, torchvision "
          f"{torchvision.__version__}) to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
