"""GAN losses (original ``sg2im/losses.py``) and WGAN weight clipping.

'gan': stable BCE-with-logits (``max(x,0) - x*y + log(1+exp(-|x|))``) averaged over all elements
(patch maps flattened); 'lsgan': MSE between sigmoid(scores) and the target; 'wgan': mean scores.
Scores are computed in float32 (safe under autocast).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

GAN_TYPES = ("gan", "lsgan", "wgan")


def bce_loss(scores: torch.Tensor, target: float) -> torch.Tensor:
    x = scores.float().reshape(-1)
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))


def gan_g_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    return bce_loss(scores_fake, 1.0)


def gan_d_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    return bce_loss(scores_real, 1.0) + bce_loss(scores_fake, 0.0)


def lsgan_g_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    x = scores_fake.float().reshape(-1).sigmoid()
    return F.mse_loss(x, torch.ones_like(x))


def lsgan_d_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    r = scores_real.float().reshape(-1).sigmoid()
    f = scores_fake.float().reshape(-1).sigmoid()
    return F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f))


def wgan_g_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    return -scores_fake.float().mean()


def wgan_d_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    return scores_fake.float().mean() - scores_real.float().mean()


def get_gan_losses(gan_type: str) -> tuple[Callable[[torch.Tensor], torch.Tensor],
                                           Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """(g_loss(scores_fake), d_loss(scores_real, scores_fake)) for 'gan', 'lsgan' or 'wgan'."""
    if gan_type == "gan":
        return gan_g_loss, gan_d_loss
    if gan_type == "lsgan":
        return lsgan_g_loss, lsgan_d_loss
    if gan_type == "wgan":
        return wgan_g_loss, wgan_d_loss
    raise ValueError(f'unknown gan_loss_type "{gan_type}"; choose one of {", ".join(GAN_TYPES)}')


@torch.no_grad()
def clip_weights_(module: nn.Module, clip_value: float | None) -> nn.Module:
    """Clamp every parameter of ``module`` to [-clip_value, clip_value] in place (WGAN ``--d_clip``;
    the original accepted the flag but never clipped). None or <= 0 does nothing."""
    if clip_value is not None and clip_value > 0:
        for p in module.parameters():
            p.clamp_(-clip_value, clip_value)
    return module
