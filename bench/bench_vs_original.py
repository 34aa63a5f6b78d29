"""Our training step against the original sg2im's, at the original's own configuration, side by side.

    .venv/bin/python bench/bench_vs_original.py --original_repo PATH [--pairs 3] [--steps 3] [--warmup 2]

PATH is the original code with the minimal patches for a modern torch: `git clone https://github.com/google/sg2im`,
`git -C sg2im checkout 2c1bf4a`, then apply the patches listed in PATCHES below (grid_sample with
align_corners=True, the behaviour of the torch 0.4 it was written for; F.upsample -> F.interpolate).

Two worker processes, one per implementation (both packages are called `sg2im`), start from the same state (the
original's seeded initial weights, loaded into ours) and step on the same seeded batches (batch 8, 64x64, 16x16
masks, 3-8 objects, COCO-sized vocabulary; the original train.py's defaults). First one step each from that state
is compared (losses, generated images, gradients); then they are timed alternately (A B A B ...), one at a time,
so they never share the CPU. Printed: median seconds per step of each, the ratio per pair (original / ours), its
median and spread, and the achieved GFLOP/s (the step's FLOPs counted by torch.utils.flop_counter).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
PATCHES = ("sg2im/bilinear.py, sg2im/layout.py: F.grid_sample(..., align_corners=True)",
           "sg2im/crn.py: F.upsample(...) -> F.interpolate(...)")
NUM_OBJECTS, NUM_PREDICATES, BATCH, SIZE, MASK = 184, 7, 8, 64, 16
WEIGHTS = {"l1": 1.0, "bbox": 10.0, "ac": 0.1, "d": 0.01, "d_obj": 1.0, "d_img": 1.0}
D_ARCH = "C4-64-2,C4-128-2,C4-256-2"


def vocab() -> dict:
    objs = ["__image__"] + [f"obj{i}" for i in range(1, NUM_OBJECTS)]
    preds = ["__in_image__", "left of", "right of", "above", "below", "inside", "surrounding"]
    return {"object_idx_to_name": objs, "object_name_to_idx": {n: i for i, n in enumerate(objs)},
            "pred_idx_to_name": preds, "pred_name_to_idx": {n: i for i, n in enumerate(preds)}}


def batch(index: int) -> tuple:
    """A COCO-like collated batch (imgs, objs, boxes, masks, triples, obj_to_img), the same in both workers."""
    gen = torch.Generator().manual_seed(1000 + index)
    objs, boxes, masks, triples, obj_to_img, offset = [], [], [], [], [], 0
    for n_img in range(BATCH):
        n = int(torch.randint(3, 9, (1,), generator=gen))
        objs.append(torch.cat([torch.randint(1, NUM_OBJECTS, (n,), generator=gen), torch.zeros(1, dtype=torch.long)]))
        xy = torch.rand(n, 2, generator=gen) * 0.6
        wh = 0.1 + torch.rand(n, 2, generator=gen) * 0.3
        boxes.append(torch.cat([torch.cat([xy, xy + wh], 1), torch.tensor([[0.0, 0.0, 1.0, 1.0]])]))
        masks.append((torch.rand(n + 1, MASK, MASK, generator=gen) > 0.5).long())
        other = (torch.arange(n) + 1 + torch.randint(0, max(n - 1, 1), (n,), generator=gen)) % n
        geo = torch.stack([torch.arange(n), torch.randint(1, NUM_PREDICATES, (n,), generator=gen), other], 1)
        in_image = torch.stack([torch.arange(n), torch.zeros(n, dtype=torch.long), torch.full((n,), n)], 1)
        t = torch.cat([geo, in_image])
        t[:, 0] += offset
        t[:, 2] += offset
        triples.append(t)
        obj_to_img.append(torch.full((n + 1,), n_img, dtype=torch.long))
        offset += n + 1
    imgs = torch.randn(BATCH, 3, SIZE, SIZE, generator=gen)
    return imgs, torch.cat(objs), torch.cat(boxes).float(), torch.cat(masks), torch.cat(triples), torch.cat(obj_to_img)


# --------------------------------------------------------------------------- the original's step
class Original:
    """The original scripts/train.py loop body on its own modules (CPU)."""

    def __init__(self, repo: Path, state: Path | None):
        sys.path.insert(0, str(repo))
        from sg2im.discriminators import AcCropDiscriminator, PatchDiscriminator
        from sg2im.losses import get_gan_losses
        from sg2im.model import Sg2ImModel

        torch.manual_seed(0)
        self.model = Sg2ImModel(vocab(), image_size=(SIZE, SIZE), embedding_dim=128, gconv_dim=128,
                                gconv_hidden_dim=512, gconv_num_layers=5, mlp_normalization="none",
                                refinement_dims=(1024, 512, 256, 128, 64), normalization="batch",
                                activation="leakyrelu-0.2", mask_size=MASK, layout_noise_dim=32)
        d = dict(arch=D_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid")
        self.d_obj = AcCropDiscriminator(vocab(), object_size=32, **d)
        self.d_img = PatchDiscriminator(**d)
        self.g_loss, self.d_loss = get_gan_losses("gan")
        self.opt = [torch.optim.Adam(m.parameters(), lr=1e-4) for m in (self.model, self.d_obj, self.d_img)]
        if state is not None:
            torch.save({"model": self.model.state_dict(), "d_obj": self.d_obj.state_dict(),
                        "d_img": self.d_img.state_dict()}, state)

    def step(self, b: tuple) -> dict:
        import torch.nn.functional as F

        imgs, objs, boxes, masks, triples, obj_to_img = b
        imgs_pred, boxes_pred, masks_pred, _ = self.model(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)
        total = torch.zeros(1)
        losses = {}
        for name, value, w in (("L1_pixel_loss", F.l1_loss(imgs_pred, imgs), WEIGHTS["l1"]),
                               ("bbox_pred", F.mse_loss(boxes_pred, boxes), WEIGHTS["bbox"])):
            losses[name] = (value * w).item()
            total = total + value * w
        scores_fake, ac_loss = self.d_obj(imgs_pred, objs, boxes, obj_to_img)
        for name, value, w in (("ac_loss", ac_loss, WEIGHTS["ac"]),
                               ("g_gan_obj_loss", self.g_loss(scores_fake), WEIGHTS["d"] * WEIGHTS["d_obj"]),
                               ("g_gan_img_loss", self.g_loss(self.d_img(imgs_pred)), WEIGHTS["d"] * WEIGHTS["d_img"])):
            losses[name] = (value * w).item()
            total = total + value * w
        losses["total_loss"] = total.item()
        self.opt[0].zero_grad()
        total.backward()
        grads = {k: p.grad.clone() for k, p in self.model.named_parameters() if p.grad is not None}
        self.opt[0].step()
        fake = imgs_pred.detach()
        sf, acf = self.d_obj(fake, objs, boxes, obj_to_img)
        sr, acr = self.d_obj(imgs, objs, boxes, obj_to_img)
        d_obj = self.d_loss(sr, sf) + acr + acf
        self.opt[1].zero_grad()
        d_obj.backward()
        self.opt[1].step()
        sf, sr = self.d_img(fake), self.d_img(imgs)
        d_img = self.d_loss(sr, sf)
        self.opt[2].zero_grad()
        d_img.backward()
        self.opt[2].step()
        losses.update(d_obj=d_obj.item(), d_img_gan_loss=d_img.item())
        return {"losses": losses, "image": imgs_pred.detach(), "grads": grads}


# --------------------------------------------------------------------------- ours
class Ours:
    def __init__(self, state: Path | None):
        sys.path.insert(0, str(REPO))
        from dataclasses import replace

        from sg2im.config.train import TrainConfig
        from sg2im.training.build import build_networks, make_optimizers
        from sg2im.training.start import Start

        cfg = TrainConfig()  # the original train.py defaults ...
        self.cfg = replace(cfg, optim=replace(cfg.optim, batch_size=BATCH))  # ... at batch 8
        torch.manual_seed(0)
        self.nets, _ = build_networks(self.cfg, vocab(), Start("fresh", None, ""), torch.device("cpu"))
        if state is not None:
            saved = torch.load(state, weights_only=True)
            for name, key in (("model", "model"), ("d_obj", "d_obj"), ("d_img", "d_img")):
                getattr(self.nets, name).load_state_dict(saved[key])
        self.optims = make_optimizers(self.nets, self.cfg.optim.learning_rate)

    def step(self, b: tuple) -> dict:
        from sg2im.data.batch import SceneGraphBatch
        from sg2im.training import step as steps

        imgs, objs, boxes, masks, triples, obj_to_img = b
        batch = SceneGraphBatch(imgs, objs, boxes, masks, triples, obj_to_img, torch.zeros(len(triples), dtype=torch.long))
        grads: dict = {}
        g_opt = self.optims.g
        real_step = g_opt.step

        def keep_grads(*args, **kwargs):  # the gradients as they go into Adam
            grads.update({k: p.grad.clone() for k, p in self.nets.model.named_parameters() if p.grad is not None})
            return real_step(*args, **kwargs)

        g_opt.step = keep_grads
        try:
            out = steps.train_step(self.nets, self.optims, batch, self.cfg.losses, "gan", None)
        finally:
            g_opt.step = real_step
        losses = {**out.g, "d_obj": out.d["d_obj_gan_loss"] + out.d["d_ac_loss_real"] + out.d["d_ac_loss_fake"],
                  "d_img_gan_loss": out.d["d_img_gan_loss"]}
        return {"losses": losses, "image": None, "grads": grads}


# --------------------------------------------------------------------------- worker and driver
def worker(kind: str, repo: Path | None, state: Path, init: bool) -> None:
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    impl = Original(repo, state if init else None) if kind == "original" else Ours(state)
    print("@@ready", flush=True)
    for line in sys.stdin:
        cmd, *rest = line.split()
        if cmd == "compare":
            torch.manual_seed(7)
            out = impl.step(batch(0))
            torch.save(out, rest[0])
            print("@@done", flush=True)
        elif cmd == "time":
            steps, warmup = int(rest[0]), int(rest[1])
            times = []
            for i in range(warmup + steps):
                b = batch(1 + i % 4)
                start = time.perf_counter()
                impl.step(b)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
            print("@@" + json.dumps({"median": statistics.median(times)}), flush=True)
        elif cmd == "flops":
            from torch.utils.flop_counter import FlopCounterMode

            with FlopCounterMode(display=False) as counter:
                impl.step(batch(1))
            print("@@" + json.dumps({"flops": counter.get_total_flops()}), flush=True)
        elif cmd == "quit":
            return


class Worker:
    def __init__(self, kind: str, repo: Path | None, state: Path, init: bool):
        args = [sys.executable, __file__, "--worker", kind, "--state", str(state)]
        if repo is not None:
            args += ["--original_repo", str(repo)]
        if init:
            args.append("--init")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.read() == "ready", f"{kind} worker failed to start"

    def read(self) -> str:
        """The worker's next answer (lines starting with @@; the original code prints its layers)."""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("worker died (see its stderr above)")
            if line.startswith("@@"):
                return line[2:].strip()

    def ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def compare(original: dict, ours: dict) -> list[str]:
    lines = []
    for name, a in original["losses"].items():
        b = ours["losses"][name]
        lines.append(f"  {name:16s} original {a:.6f}  ours {b:.6f}  rel diff {abs(a - b) / max(abs(a), 1e-12):.1e}")
    keys = sorted(original["grads"])
    ga = torch.cat([original["grads"][k].flatten() for k in keys])
    gb = torch.cat([ours["grads"][k].flatten() for k in keys])
    lines.append(f"  G gradients ({len(keys)} tensors, {ga.numel()} values): relative L2 difference "
                 f"{float((ga - gb).norm() / ga.norm()):.1e}, largest element difference "
                 f"{float((ga - gb).abs().max() / ga.abs().max()):.1e} of the largest gradient")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--original_repo", type=Path, default=None)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--worker", choices=("original", "ours"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--init", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        return worker(opts.worker, opts.original_repo, opts.state, opts.init)
    if opts.original_repo is None or not (opts.original_repo / "sg2im" / "model.py").is_file():
        raise SystemExit("give --original_repo: a checkout of https://github.com/google/sg2im at 2c1bf4a with these "
                         "patches applied:\n  " + "\n  ".join(PATCHES))
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.pt"
        original = Worker("original", opts.original_repo, state, init=True)
        ours = Worker("ours", None, state, init=False)
        try:
            for w, name in ((original, "original"), (ours, "ours")):
                w.ask(f"compare {Path(tmp) / name}.pt")
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, {SIZE}x{SIZE}, "
                  "the original train.py defaults")
            print("one step from the same state on the same batch:")
            print("\n".join(compare(torch.load(Path(tmp) / "original.pt", weights_only=False),
                                    torch.load(Path(tmp) / "ours.pt", weights_only=False))))
            flops = {"original": json.loads(original.ask("flops"))["flops"], "ours": json.loads(ours.ask("flops"))["flops"]}
            ratios, times = [], {"original": [], "ours": []}
            for pair in range(opts.pairs):
                a = json.loads(original.ask(f"time {opts.steps} {opts.warmup if pair == 0 else 1}"))["median"]
                b = json.loads(ours.ask(f"time {opts.steps} {opts.warmup if pair == 0 else 1}"))["median"]
                times["original"].append(a)
                times["ours"].append(b)
                ratios.append(a / b)
                print(f"pair {pair + 1}: original {a:.3f} s/step, ours {b:.3f} s/step, ratio {a / b:.2f}x")
        finally:
            original.close()
            ours.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"median: original {med['original']:.3f} s/step, ours {med['ours']:.3f} s/step; ours is "
          f"{statistics.median(ratios):.2f}x the original (pairs {min(ratios):.2f}x-{max(ratios):.2f}x)")
    for name in ("original", "ours"):
        print(f"{name}: {flops[name] / 1e9:.1f} GFLOP per step (torch.utils.flop_counter), achieved "
              f"{flops[name] / med[name] / 1e9:.1f} GFLOP/s")
    print(f"ours does {100 * (1 - flops['ours'] / flops['original']):.0f}% fewer FLOPs (the CRN convolves each image's "
          "few object masks instead of the dense layout: sg2im/model/layout.py, FactorizedLayout)")


if __name__ == "__main__":
    main()
