"""Training iterations per second: the original default architecture (batch 8, 64x64) and the
embedded default (params.yaml [train]), each with our step (fused Adam, discriminators frozen
during the G step) and with a plain step (for-loop Adam, no freezing) measured in the same run.

    .venv/bin/python bench/bench_train.py [--iters 5] [--warmup 2]

Batches are synthetic COCO-like scene graphs (3-8 objects + __image__, 16x16 masks, one geometric
triple per object), so only the step is timed, not data loading.  The CPU may be shared: compare
the ratios printed, not the absolute numbers, across runs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.data.batch import collate_scene_graphs  # noqa: E402
from sg2im.model import get_gan_losses  # noqa: E402
from sg2im.params import read_section  # noqa: E402
from sg2im.training import loop  # noqa: E402

NUM_OBJECTS, NUM_PREDICATES = 184, 7


def vocab() -> dict:
    objs = ["__image__"] + [f"obj{i}" for i in range(1, NUM_OBJECTS)]
    preds = ["__in_image__", "left of", "right of", "above", "below", "inside", "surrounding"]
    return {"object_idx_to_name": objs, "object_name_to_idx": {n: i for i, n in enumerate(objs)},
            "pred_idx_to_name": preds, "pred_name_to_idx": {n: i for i, n in enumerate(preds)}}


def synthetic_batch(batch_size: int, size: int, mask_size: int, gen: torch.Generator):
    items = []
    for _ in range(batch_size):
        n = int(torch.randint(3, 9, (1,), generator=gen))
        objs = torch.cat([torch.randint(1, NUM_OBJECTS, (n,), generator=gen), torch.zeros(1, dtype=torch.long)])
        xy = torch.rand(n, 2, generator=gen) * 0.6
        wh = 0.1 + torch.rand(n, 2, generator=gen) * 0.3
        boxes = torch.cat([torch.cat([xy, xy + wh], 1), torch.tensor([[0.0, 0.0, 1.0, 1.0]])])
        masks = (torch.rand(n + 1, mask_size, mask_size, generator=gen) > 0.5).long()
        other = (torch.arange(n) + 1 + torch.randint(0, max(n - 1, 1), (n,), generator=gen)) % n
        geo = torch.stack([torch.arange(n), torch.randint(1, NUM_PREDICATES, (n,), generator=gen), other], 1)
        in_image = torch.stack([torch.arange(n), torch.zeros(n, dtype=torch.long), torch.full((n,), n)], 1)
        items.append((torch.randn(3, size, size, generator=gen), objs, boxes, masks, torch.cat([geo, in_image])))
    return collate_scene_graphs(items)


def config(name: str) -> SimpleNamespace:
    """Train args: the original defaults (stage declarations), or those overlaid with params.yaml [train]."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_train_stage", Path(__file__).resolve().parent.parent / "stages" / "train.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    values = {p.name: p.parse(p.default, "default") for p in stage.PARAMS}
    if name == "embedded":
        section = read_section("train")
        values.update({p.name: p.parse(section[p.name], "params.yaml") for p in stage.PARAMS if p.name in section})
    else:
        values["batch_size"] = 8
    values["image_size"] = tuple(values["image_size"]) * (2 if len(values["image_size"]) == 1 else 1)
    return SimpleNamespace(**values)


def time_steps(args: SimpleNamespace, plain: bool, iters: int, warmup: int) -> float:
    torch.manual_seed(0)
    device = torch.device("cpu")
    model, d_obj, d_img, *_ = loop.build_models(args, vocab(), device)
    if plain:
        adam = lambda m: torch.optim.Adam(m.parameters(), lr=args.learning_rate, foreach=False)  # noqa: E731
    else:
        adam = lambda m: loop.make_adam(m, args.learning_rate)  # noqa: E731
    optims = loop.Optims(adam(model), adam(d_obj) if d_obj else None, adam(d_img) if d_img else None)
    nets = loop.Nets(model, d_obj, d_img)
    g_loss, d_loss = get_gan_losses(args.gan_loss_type)
    gen = torch.Generator().manual_seed(0)
    batches = [synthetic_batch(args.batch_size, args.image_size[0], args.mask_size, gen) for _ in range(iters + warmup)]
    original = loop.set_requires_grad
    if plain:
        loop.set_requires_grad = lambda module, flag: None
    try:
        times = []
        for i, batch in enumerate(batches):
            start = time.perf_counter()
            loop.train_step(args, nets, optims, batch, g_loss, d_loss, loop.Timer(False, device), device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    finally:
        loop.set_requires_grad = original
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    opts = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {opts.iters} steps after {opts.warmup} warm-up")
    results = {}
    for name in ("original", "embedded"):
        args = config(name)
        for plain in (True, False):
            s = time_steps(args, plain, opts.iters, opts.warmup)
            results[(name, plain)] = s
            label = "plain step (for-loop Adam, D not frozen)" if plain else "our step (fused Adam, D frozen in G step)"
            print(f"{name:9s} batch {args.batch_size:2d} {args.image_size[0]}x{args.image_size[1]} "
                  f"CRN {','.join(map(str, args.refinement_network_dims))}: {label}: {s:.3f} s/iter = {1 / s:.2f} it/s")
    for name in ("original", "embedded"):
        print(f"speed-up of our step over the plain step, {name}: {results[(name, True)] / results[(name, False)]:.2f}x")
    ratio = results[("original", False)] / results[("embedded", False)]
    print(f"embedded default vs original architecture (our step): {ratio:.2f}x the iterations per second")


if __name__ == "__main__":
    main()
