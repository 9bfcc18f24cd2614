"""The Python peer of ImageFolderBenchmark: the reference's pretraining input pipeline (main_pretrain.py:
torchvision ImageFolder with RandomResizedCrop(224, scale=(0.2, 1.0), bicubic), RandomHorizontalFlip, ToTensor,
Normalize) over the same JPEGs, batches of 64, in one process and through a DataLoader with W worker processes (the
reference's way to use cores). Prints images/s, one JSON line per setting:
python3 bench_decode.py DIR [WORKERS] [BATCHES]."""
import json
import sys
import time

import torch
from torchvision import datasets, transforms


def main(root, workers, batches):
    torch.set_num_threads(1)
    transform = transforms.Compose([
        transforms.RandomResizedCrop(224, scale=(0.2, 1.0), interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    data = datasets.ImageFolder(root, transform=transform)
    for w in sorted({0, workers}):
        loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True, num_workers=w, drop_last=True,
                                             persistent_workers=w > 0)
        times = []
        while len(times) < batches + 2:  # the first two batches warm up (and start the workers)
            it = iter(loader)
            t0 = time.perf_counter()
            for _ in it:
                t1 = time.perf_counter()
                times.append(t1 - t0)
                t0 = t1
                if len(times) == batches + 2:
                    break
        measured = sorted(times[2:])
        median = measured[len(measured) // 2]
        print(json.dumps({"side": "python", "workers": w, "batch": 64, "batches": batches,
                          "median_batch_ms": round(median * 1e3, 1), "images_per_s": round(64 / median, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2, int(sys.argv[3]) if len(sys.argv) > 3 else 10)
