"""Data-path speed: items/s of the COCO (and VG) datasets without and with the decoded cache, on
the same data in one run, plus the ratio.  Training consumes ~20-100 items/s on 2 cores.

    .venv/bin/python bench/bench_data.py                       # the real COCO fixture (17 images, 640x480 JPEGs)
    .venv/bin/python bench/bench_data.py --coco_root data/coco --vg_root data/vg   # the pipeline's data

The cache is built in a temporary folder (its one-off build time is printed too).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from sg2im.data.batch import collate_scene_graphs  # noqa: E402
from sg2im.data.coco import CocoSceneGraphDataset  # noqa: E402
from sg2im.data.vg import VgSceneGraphDataset  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
warnings.filterwarnings("ignore", category=DeprecationWarning)


def rate(ds, min_items: int, min_seconds: float) -> float:
    """Items per second reading the dataset in order (wrapping around) for at least both limits."""
    n, start = 0, time.perf_counter()
    while n < min_items or time.perf_counter() - start < min_seconds:
        ds[n % len(ds)]
        n += 1
    return n / (time.perf_counter() - start)


def batch_rate(ds, batch_size: int, batches: int) -> float:
    start = time.perf_counter()
    for b in range(batches):
        collate_scene_graphs([ds[(b * batch_size + i) % len(ds)] for i in range(batch_size)])
    return batches * batch_size / (time.perf_counter() - start)


def report(name: str, make, items: int, seconds: float) -> None:
    plain = make(None)
    uncached = rate(plain, items, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cached_ds = make(tmp)
        build = time.perf_counter() - t0
        cached = rate(cached_ds, items * 20, seconds)
        batched = batch_rate(cached_ds, 32, 20)
    print(f"{name}: {len(plain)} images")
    print(f"  uncached (decode every access): {uncached:9.1f} items/s")
    print(f"  cached   (memory-mapped)       : {cached:9.1f} items/s   (cache built once in {build:.1f} s)")
    print(f"  cached + collate, batch 32     : {batched:9.1f} items/s")
    print(f"  ratio cached / uncached        : {cached / uncached:9.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coco_root", default=str(REPO / "tests" / "fixtures" / "coco_real"),
                        help="COCO layout root (annotations/, images/); default: the real 17-image fixture")
    parser.add_argument("--coco_split", default="train2017")
    parser.add_argument("--vg_root", default=None, help="VG root with {split}.h5, vocab.json and images/ (optional)")
    parser.add_argument("--image_size", default="64,64")
    parser.add_argument("--items", type=int, default=100, help="minimum items for the uncached rate")
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum seconds per rate")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (DataLoader workers use 1; more threads slow the tiny "
                             "collate ops down on a busy 2-core machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}")
    size = tuple(int(v) for v in args.image_size.split(","))

    root = Path(args.coco_root)
    ann = root / "annotations"
    split = args.coco_split
    report(f"COCO {root} ({split}, {size[0]}x{size[1]}, masks 16x16)",
           lambda cache: CocoSceneGraphDataset(str(root / "images" / split), str(ann / f"instances_{split}.json"),
                                               str(ann / f"stuff_{split}.json"), image_size=size, cache_dir=cache),
           args.items, args.seconds)
    if args.vg_root:
        vg = Path(args.vg_root)
        vocab = json.loads((vg / "vocab.json").read_text())
        report(f"VG {vg} (train.h5, {size[0]}x{size[1]})",
               lambda cache: VgSceneGraphDataset(vocab, str(vg / "train.h5"), str(vg / "images"), image_size=size,
                                                 cache_dir=cache),
               args.items, args.seconds)


if __name__ == "__main__":
    main()
