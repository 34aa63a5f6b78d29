"""Layout construction: the original algorithm (warp O x D x M x M, scatter-add) against ours
(warp O x 1 x M x M masks, then one batched matmul per image), forward + backward, measured in the
same run, interleaved. Prints the speed ratio and the max abs difference of outputs and gradients.

    .venv/bin/python bench/bench_layout.py [--batch 8] [--image-size 64] [--device cpu] [--reps 7]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from sg2im.model.layout import masks_to_layout, masks_to_layout_reference


def make_inputs(batch: int, dim: int, mask_size: int, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(4, 10, (batch,), generator=g)  # 3-8 objects + __image__, as COCO
    obj_to_img = torch.repeat_interleave(torch.arange(batch), counts)
    O = int(counts.sum())
    xy = torch.rand(O, 2, generator=g) * 0.6
    boxes = torch.cat([xy, xy + 0.1 + torch.rand(O, 2, generator=g) * 0.3], 1)
    vecs = torch.randn(O, dim, generator=g)
    masks = torch.rand(O, mask_size, mask_size, generator=g)
    return [t.to(device) for t in (vecs, boxes, masks, obj_to_img)]


def run_once(fn, vecs, boxes, masks, obj_to_img, size, device):
    v = vecs.clone().requires_grad_()
    m = masks.clone().requires_grad_()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn(v, boxes, m, obj_to_img, size, size)
    (out * out).sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out.detach(), v.grad, m.grad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--mask-size", type=int, default=16)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    inputs = make_inputs(args.batch, args.dim, args.mask_size, device)
    fns = {"original": masks_to_layout_reference, "ours": masks_to_layout}
    times = {k: [] for k in fns}
    for rep in range(args.reps + 1):  # first round is warm-up
        for name, fn in fns.items():
            dt, *_ = run_once(fn, *inputs, args.image_size, device)
            if rep:
                times[name].append(dt)
    _, out_a, gv_a, gm_a = run_once(masks_to_layout_reference, *inputs, args.image_size, device)
    _, out_b, gv_b, gm_b = run_once(masks_to_layout, *inputs, args.image_size, device)
    med = {k: statistics.median(v) for k, v in times.items()}
    O = inputs[0].shape[0]
    print(f"layout fwd+bwd, batch {args.batch} ({O} objects), D {args.dim}, masks {args.mask_size}, "
          f"{args.image_size}x{args.image_size}, {device}, torch threads {torch.get_num_threads()}, median of {args.reps}")
    print(f"  original (warp O x D x M x M, scatter_add): {med['original'] * 1e3:8.1f} ms")
    print(f"  ours     (warp masks, per-image matmul):    {med['ours'] * 1e3:8.1f} ms")
    print(f"  speed ratio original / ours: {med['original'] / med['ours']:.2f}x")
    scale = out_a.abs().max().item()
    print(f"  max abs diff: layout {(out_a - out_b).abs().max().item():.2e} (max |layout| {scale:.2f}), "
          f"grad vecs {(gv_a - gv_b).abs().max().item():.2e} (max |grad| {gv_a.abs().max().item():.1f}), "
          f"grad masks {(gm_a - gm_b).abs().max().item():.2e} (max |grad| {gm_a.abs().max().item():.1f})")


if __name__ == "__main__":
    main()
