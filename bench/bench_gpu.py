"""Training throughput at the paper's configurations, for a GPU (runs on CPU too, with few iterations):
iterations/s, images/s, achieved TFLOP/s and MFU for fp32 and bf16; then the data loader's items/s at 1, 2,
4 and 8 workers on synthetic data in the official COCO layout at the real image sizes (640x480 JPEGs),
to tell whether the loader keeps up with the step.

    .venv/bin/python bench/bench_gpu.py                         # CUDA when there is one, else CPU (small counts)
    .venv/bin/python bench/bench_gpu.py --iters 50 --precisions fp32,bf16 --peak_tflops 989

Configurations: COCO 64x64 and VG 128x128, batch 32, the original's networks (CRN 1024..64, D 64-128-256).
Batches are synthetic scene graphs at the datasets' object counts (COCO 3-8 objects, VG up to 10 with
relationships), so the step is timed without data loading. FLOPs are counted once per configuration with
torch.utils.flop_counter (forward and backward of G, D_obj and D_img); MFU = achieved / the device's peak
for that precision (a table of common GPUs, or --peak_tflops).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train import synthetic_batch, vocab  # noqa: E402
from sg2im.config.train import TrainConfig  # noqa: E402
from sg2im.device import resolve_device  # noqa: E402
from sg2im.training import step as steps  # noqa: E402
from sg2im.training.build import build_networks, make_optimizers  # noqa: E402
from sg2im.training.speed import Precision  # noqa: E402
from sg2im.training.start import Start  # noqa: E402

CONFIGS = {"coco64": ("coco", 64), "vg128": ("vg", 128)}
# Dense peak TFLOP/s (fp32 without TF32, bf16 tensor cores) of common GPUs, from their data sheets.
PEAKS = {"H200": (67.0, 989.0), "H100": (67.0, 989.0), "A100": (19.5, 312.0), "L40S": (91.6, 362.0),
         "L4": (30.3, 121.0), "A10": (31.2, 125.0), "V100": (15.7, None), "T4": (8.1, None), "RTX 4090": (82.6, 165.0)}


def peak_tflops(device: torch.device, precision: str, given: float | None) -> float | None:
    if given:
        return given
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, (fp32, bf16) in PEAKS.items():
        if key in name:
            return fp32 if precision == "fp32" else bf16
    return None


def paper_config(dataset: str, size: int, batch_size: int) -> TrainConfig:
    cfg = TrainConfig()  # the original's defaults: the paper's networks
    return replace(cfg, data=replace(cfg.data, dataset=dataset), model=replace(cfg.model, image_size=(size, size)),
                   optim=replace(cfg.optim, batch_size=batch_size))


def time_config(cfg: TrainConfig, device: torch.device, precision: str, iters: int, warmup: int) -> dict:
    torch.manual_seed(0)
    nets, _ = build_networks(cfg, vocab(), Start("fresh", None, ""), device)
    optims = make_optimizers(nets, cfg.optim.learning_rate)
    amp = Precision.build(precision, device)
    gen = torch.Generator().manual_seed(0)
    size, mask = cfg.model.size[0], cfg.model.mask_size
    batches = [synthetic_batch(cfg.optim.batch_size, size, mask, gen).to(device) for _ in range(iters + warmup)]
    run = lambda b: steps.train_step(nets, optims, b, cfg.losses, cfg.discriminators.gan_loss_type,  # noqa: E731
                                     cfg.discriminators.d_clip, precision=amp)
    with FlopCounterMode(display=False) as counter:
        run(batches[0])
    flops = counter.get_total_flops()
    times = []
    for i, batch in enumerate(batches):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run(batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    s = statistics.median(times)
    return {"s_per_it": s, "it_s": 1 / s, "img_s": cfg.optim.batch_size / s, "tflops": flops / s / 1e12,
            "gflop_per_it": flops / 1e9}


def loader_rates(workers: list[int], image_size: int, batches: int, num_images: int) -> dict[int, float]:
    """items/s of the real COCO dataset class over synthetic official-layout data (640x480 JPEGs, no cache)."""
    from sg2im.config.data import DataConfig
    from sg2im.config.model import ModelConfig
    from sg2im.data.build import build_loader, build_vocab_and_datasets
    from sg2im.synthetic.coco_writer import write_coco

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_coco(root, num_images, 8, image_size=640, seed=0, aspect_fraction=1.0, workers=2)
        ann, img = root / "annotations", root / "images"
        data = DataConfig(dataset="coco", coco_train_image_dir=str(img / "train2017"),
                          coco_train_instances_json=str(ann / "instances_train2017.json"),
                          coco_train_stuff_json=str(ann / "stuff_train2017.json"),
                          coco_val_image_dir=str(img / "val2017"), coco_val_instances_json=str(ann / "instances_val2017.json"),
                          coco_val_stuff_json=str(ann / "stuff_val2017.json"), cache_dir="")
        _, datasets = build_vocab_and_datasets(data, ModelConfig(image_size=(image_size, image_size)), ("train",))
        rates = {}
        for n in workers:
            loader = build_loader(datasets["train"], 32, shuffle=True, num_workers=n, seed=0)
            it, count = iter(loader), 0
            next(it)  # workers started
            start = time.perf_counter()
            for _ in range(batches):
                try:
                    count += next(it).imgs.shape[0]
                except StopIteration:
                    it = iter(loader)
            rates[n] = count / (time.perf_counter() - start)
            del it, loader
        return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--iters", type=int, default=None, help="timed steps (default: 30 on CUDA, 2 on CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 5 on CUDA, 1 on CPU)")
    parser.add_argument("--configs", default="coco64,vg128")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--peak_tflops", type=float, default=None, help="the device's peak, when not in the table")
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--loader_batches", type=int, default=None, help="default: 30 on CUDA, 4 on CPU")
    parser.add_argument("--loader_images", type=int, default=None, help="synthetic 640x480 images (default 256 / 48)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    iters, warmup = args.iters or (30 if cuda else 2), args.warmup if args.warmup is not None else (5 if cuda else 1)
    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads; median of "
          f"{iters} steps after {warmup} warm-up")
    for config in args.configs.split(","):
        dataset, size = CONFIGS[config]
        cfg = paper_config(dataset, size, args.batch_size)
        base = None
        for precision in args.precisions.split(","):
            r = time_config(cfg, device, precision, iters, warmup)
            peak = peak_tflops(device, precision, args.peak_tflops)
            mfu = f"MFU {100 * r['tflops'] / peak:5.1f}% of {peak:g}" if peak else "MFU - (peak unknown: --peak_tflops)"
            base = base or r["s_per_it"]
            print(f"{config} batch {args.batch_size} {size}x{size} {precision:4s}: {r['it_s']:7.2f} it/s "
                  f"{r['img_s']:8.1f} img/s  {r['gflop_per_it']:6.1f} GFLOP/it  {r['tflops']:7.3f} TFLOP/s  {mfu}  "
                  f"speed-up over {args.precisions.split(',')[0]}: {base / r['s_per_it']:.2f}x")
    workers = [int(w) for w in args.workers.split(",")]
    rates = loader_rates(workers, 64, args.loader_batches or (30 if cuda else 4), args.loader_images or (256 if cuda else 48))
    for n, rate in rates.items():
        print(f"data loader (COCO, 640x480 JPEG -> 64x64, no cache), {n} workers: {rate:8.1f} items/s "
              f"({rate / rates[workers[0]]:.2f}x of {workers[0]} worker{'s' if workers[0] > 1 else ''})")
    print("the loader keeps up when its items/s exceed the step's img/s above")


if __name__ == "__main__":
    main()
