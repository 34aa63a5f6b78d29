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
from dataclasses import replace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.loader import REPO_ROOT, read_section  # noqa: E402
from sg2im.config.schema import build  # noqa: E402
from sg2im.config.train import TrainConfig  # noqa: E402
from sg2im.data.batch import collate_scene_graphs  # noqa: E402
from sg2im.training import step as steps  # noqa: E402
from sg2im.training.build import build_networks  # noqa: E402
from sg2im.training.start import Start  # noqa: E402

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


def config(name: str) -> TrainConfig:
    """The original defaults (the declarations, batch 8), or params.yaml [train] (the embedded default)."""
    if name == "embedded":
        return build(TrainConfig, read_section(REPO_ROOT / "params.yaml", "train"), "params.yaml", "train")
    cfg = TrainConfig()
    return replace(cfg, optim=replace(cfg.optim, batch_size=8))


def time_steps(cfg: TrainConfig, plain: bool, iters: int, warmup: int) -> float:
    torch.manual_seed(0)
    device = torch.device("cpu")
    nets, _ = build_networks(cfg, vocab(), Start("fresh", None, ""), device)
    lr = cfg.optim.learning_rate
    if plain:
        adam = lambda m: torch.optim.Adam(m.parameters(), lr=lr, foreach=False)  # noqa: E731
    else:
        adam = lambda m: steps.make_adam(m, lr)  # noqa: E731
    optims = steps.Optims(adam(nets.model), adam(nets.d_obj) if nets.d_obj else None,
                          adam(nets.d_img) if nets.d_img else None)
    gen = torch.Generator().manual_seed(0)
    size, mask = cfg.model.size[0], cfg.model.mask_size
    batches = [synthetic_batch(cfg.optim.batch_size, size, mask, gen) for _ in range(iters + warmup)]
    original = steps.set_requires_grad
    if plain:
        steps.set_requires_grad = lambda module, flag: None
    try:
        times = []
        for i, batch in enumerate(batches):
            start = time.perf_counter()
            steps.train_step(nets, optims, batch, cfg.losses, cfg.discriminators.gan_loss_type, cfg.discriminators.d_clip)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    finally:
        steps.set_requires_grad = original
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    opts = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {opts.iters} steps after {opts.warmup} warm-up")
    results = {}
    for name in ("original", "embedded"):
        cfg = config(name)
        for plain in (True, False):
            s = time_steps(cfg, plain, opts.iters, opts.warmup)
            results[(name, plain)] = s
            label = "plain step (for-loop Adam, D not frozen)" if plain else "our step (fused Adam, D frozen in G step)"
            h, w = cfg.model.size
            print(f"{name:9s} batch {cfg.optim.batch_size:2d} {h}x{w} "
                  f"CRN {','.join(map(str, cfg.model.refinement_network_dims))}: {label}: {s:.3f} s/iter = {1 / s:.2f} it/s")
    for name in ("original", "embedded"):
        print(f"speed-up of our step over the plain step, {name}: {results[(name, True)] / results[(name, False)]:.2f}x")
    ratio = results[("original", False)] / results[("embedded", False)]
    print(f"embedded default vs original architecture (our step): {ratio:.2f}x the iterations per second")


if __name__ == "__main__":
    main()
