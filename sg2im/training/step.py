"""One training step (the original ``scripts/train.py`` loop body): G, then D_obj, then D_img.

  1. G forward with the GT layout (GT boxes, GT masks when the dataset has them);
  2. G losses (:mod:`sg2im.training.losses`), each weighted; total_loss is their sum;
  3. NaN guard: a non-finite total skips every update of this step (on every rank at once);
  4. G step (the discriminators' parameters do not require grad meanwhile: same math, less work);
  5. D_obj step on detached fake crops and real crops (separate forwards): GAN + AC(real) + AC(fake);
  6. D_img step on the detached fake image and the real image; WGAN weight clipping when d_clip.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

from sg2im.config.train import LossConfig
from sg2im.data.batch import SceneGraphBatch
from sg2im.training import distributed
from sg2im.training.losses import (d_img_losses, d_obj_losses, generator_adversarial_losses, generator_losses,
                                   get_gan_losses, total)
from sg2im.training.speed import Precision, fp32


@dataclass
class Nets:
    """The networks as called in training (DDP-wrapped when distributed); ``raw(name)`` unwraps."""

    model: nn.Module
    d_obj: nn.Module | None
    d_img: nn.Module | None

    def raw(self, name: str) -> nn.Module | None:
        """The network without its DistributedDataParallel wrapper (still compiled when compiled)."""
        module = getattr(self, name)
        return distributed.unwrap(module) if module is not None else None

    def weights(self, name: str) -> nn.Module | None:
        """The plain module (no DDP, no torch.compile wrapper): state dicts with the original's keys, checks."""
        module = self.raw(name)
        return getattr(module, "_orig_mod", module) if module is not None else None


@dataclass
class Optims:
    g: torch.optim.Optimizer
    d_obj: torch.optim.Optimizer | None
    d_img: torch.optim.Optimizer | None


@dataclass
class StepLosses:
    """One step's losses as floats: the generator's (weighted, with total_loss) and the discriminators'."""

    g: dict[str, float] = field(default_factory=dict)
    d: dict[str, float] = field(default_factory=dict)


class Timer:
    """Per-component wall time of a step (``timing: 1``), CUDA-synchronised when on a GPU."""

    def __init__(self, enabled: bool, device: torch.device):
        self.enabled, self.device = enabled, device
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times[name] = time.perf_counter() - start

    def line(self) -> str:
        return "timing: " + ", ".join(f"{k} {1000 * v:.1f} ms" for k, v in self.times.items())


def make_adam(module: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam (lr, default betas, no weight decay) with the fused kernel where supported, else foreach."""
    params = list(module.parameters())
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


def learning_rate_at(t: int, base: float, num_iterations: int, decay: str) -> float:
    """The learning rate of iteration ``t`` (1-based): constant, or cosine from ``base`` at t=1 to 0 at the end."""
    if decay == "none":
        return base
    return base * 0.5 * (1.0 + math.cos(math.pi * (t - 1) / max(num_iterations, 1)))


def set_learning_rate(optims: "Optims", lr: float) -> None:
    for optimizer in (optims.g, optims.d_obj, optims.d_img):
        if optimizer is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr


def set_requires_grad(module: nn.Module | None, flag: bool) -> None:
    if module is not None:
        for p in module.parameters():
            p.requires_grad_(flag)


@torch.no_grad()
def clip_weights_(module: nn.Module, clip_value: float | None) -> nn.Module:
    """Clamp every parameter to [-clip_value, clip_value] in place (WGAN ``d_clip``; the original accepted
    the flag but never clipped). None or <= 0 does nothing."""
    if clip_value is not None and clip_value > 0:
        for p in module.parameters():
            p.clamp_(-clip_value, clip_value)
    return module


def train_step(nets: Nets, optims: Optims, batch: SceneGraphBatch, weights: LossConfig, gan_loss_type: str,
               d_clip: float | None, timer: Callable[[str], object] | None = None,
               precision: Precision | None = None) -> StepLosses | None:
    """One G, D_obj, D_img update on ``batch``; None when the NaN guard skipped it. ``precision``: autocast
    of the forward passes (losses in fp32) and fp16 gradient scaling; fp32 when None."""
    timer = timer or Timer(False, batch.imgs.device)
    amp = precision or Precision(device_type=batch.imgs.device.type)
    g_loss, d_loss = get_gan_losses(gan_loss_type)
    imgs, objs, boxes, obj_to_img = batch.imgs, batch.objs, batch.boxes, batch.obj_to_img
    d_obj, d_img = nets.raw("d_obj"), nets.raw("d_img")  # plain modules: no DDP sync in the G step

    set_requires_grad(d_obj, False)
    set_requires_grad(d_img, False)
    with timer("G forward"):
        with amp.autocast():
            out_g = nets.model(objs, batch.triples, obj_to_img, boxes_gt=boxes, masks_gt=batch.masks)
        imgs_pred, boxes_pred, masks_pred, rel_scores = fp32(*out_g)
        losses = generator_losses(weights, imgs, imgs_pred, boxes, boxes_pred, batch.masks, masks_pred,
                                  batch.triples[:, 1], rel_scores)
    with timer("D forwards for G"):
        with amp.autocast():
            obj_scores, ac_loss = d_obj(imgs_pred, objs, boxes, obj_to_img) if d_obj is not None else (None, None)
            img_scores = d_img(imgs_pred) if d_img is not None else None
        obj_scores, ac_loss, img_scores = fp32(obj_scores, ac_loss, img_scores)
        losses.update(generator_adversarial_losses(weights, g_loss, obj_scores, ac_loss, img_scores))
    total_loss = total(losses)
    out = StepLosses(g={k: v.item() for k, v in losses.items()})
    out.g["total_loss"] = total_loss.item()

    finite = distributed.all_true(math.isfinite(out.g["total_loss"]), imgs.device)
    if finite:
        with timer("G backward+step"):
            amp.update(optims.g, total_loss, "g")
    set_requires_grad(d_obj, True)
    set_requires_grad(d_img, True)
    if not finite:
        return None

    imgs_fake = imgs_pred.detach()
    if nets.d_obj is not None:
        with timer("D_obj step"):
            with amp.autocast():
                scores_fake, ac_loss_fake = nets.d_obj(imgs_fake, objs, boxes, obj_to_img)
                scores_real, ac_loss_real = nets.d_obj(imgs, objs, boxes, obj_to_img)
            d = d_obj_losses(d_loss, *fp32(scores_real, scores_fake, ac_loss_real, ac_loss_fake))
            amp.update(optims.d_obj, d["d_obj_gan_loss"] + d["d_ac_loss_real"] + d["d_ac_loss_fake"], "d_obj")
            clip_weights_(d_obj, d_clip)
        out.d.update({k: v.item() for k, v in d.items()})
    if nets.d_img is not None:
        with timer("D_img step"):
            with amp.autocast():
                real_fake = _real_then_fake(nets.d_img, imgs_fake, imgs)
            d = d_img_losses(d_loss, *fp32(*real_fake))
            amp.update(optims.d_img, d["d_img_gan_loss"], "d_img")
            clip_weights_(d_img, d_clip)
        out.d.update({k: v.item() for k, v in d.items()})
    return out


def _real_then_fake(d_img: nn.Module, imgs_fake: Tensor, imgs: Tensor) -> tuple[Tensor, Tensor]:
    """D_img's scores as the original computes them: the fake batch first, then the real one (BatchNorm
    statistics depend on the order), returned as (real, fake)."""
    scores_fake = d_img(imgs_fake)
    scores_real = d_img(imgs)
    return scores_real, scores_fake
