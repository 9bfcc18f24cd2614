"""Writes N photo-sized JPEGs (500 × 375, ImageNet's typical size; quality 90) of smooth random colour fields into
DIR/images, for the image-folder decoding benchmark: python3 make_jpegs.py DIR N."""
import os
import random
import sys

from PIL import Image, ImageFilter


def main(root, n):
    out = os.path.join(root, "images")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(0)
    for i in range(n):
        small = Image.new("RGB", (25, 19))
        small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(25 * 19)])
        img = small.resize((500, 375), Image.BICUBIC).filter(ImageFilter.DETAIL)
        img.save(os.path.join(out, f"{i:04d}.jpg"), quality=90)
    print(f"wrote {n} JPEGs of 500 × 375 to {out}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
