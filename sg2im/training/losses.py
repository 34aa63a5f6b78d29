"""Every loss of training, each a function of tensors (the original ``calculate_model_losses`` and
``sg2im/losses.py``, paper section 3.4).

Generator: L1 pixel, box MSE, [mask BCE], [predicate CE], D_obj's auxiliary classification of the fake
crops, and the GAN losses of both discriminators; every term is returned already multiplied by its
weight (:class:`~sg2im.config.train.LossConfig`), so ``total_loss`` is their sum.
Discriminators: GAN loss on real vs fake, plus D_obj's auxiliary classification of real and fake crops.

GAN losses: 'gan' is stable BCE-with-logits averaged over all elements (patch maps flattened); 'lsgan'
MSE between sigmoid(scores) and the target; 'wgan' mean scores. Scores are computed in float32 (safe
under autocast).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from sg2im.config.train import LossConfig

GAN_TYPES = ("gan", "lsgan", "wgan")


# --------------------------------------------------------------------------- GAN losses
def bce_loss(scores: Tensor, target: float) -> Tensor:
    x = scores.float().reshape(-1)
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))


def gan_g_loss(scores_fake: Tensor) -> Tensor:
    return bce_loss(scores_fake, 1.0)


def gan_d_loss(scores_real: Tensor, scores_fake: Tensor) -> Tensor:
    return bce_loss(scores_real, 1.0) + bce_loss(scores_fake, 0.0)


def lsgan_g_loss(scores_fake: Tensor) -> Tensor:
    x = scores_fake.float().reshape(-1).sigmoid()
    return F.mse_loss(x, torch.ones_like(x))


def lsgan_d_loss(scores_real: Tensor, scores_fake: Tensor) -> Tensor:
    r = scores_real.float().reshape(-1).sigmoid()
    f = scores_fake.float().reshape(-1).sigmoid()
    return F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f))


def wgan_g_loss(scores_fake: Tensor) -> Tensor:
    return -scores_fake.float().mean()


def wgan_d_loss(scores_real: Tensor, scores_fake: Tensor) -> Tensor:
    return scores_fake.float().mean() - scores_real.float().mean()


def get_gan_losses(gan_type: str) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]:
    """(g_loss(scores_fake), d_loss(scores_real, scores_fake)) for 'gan', 'lsgan' or 'wgan'."""
    if gan_type == "gan":
        return gan_g_loss, gan_d_loss
    if gan_type == "lsgan":
        return lsgan_g_loss, lsgan_d_loss
    if gan_type == "wgan":
        return wgan_g_loss, wgan_d_loss
    raise ValueError(f'unknown gan_loss_type "{gan_type}"; choose one of {", ".join(GAN_TYPES)}')


# --------------------------------------------------------------------------- generator
def generator_losses(w: LossConfig, imgs: Tensor, imgs_pred: Tensor, boxes: Tensor, boxes_pred: Tensor,
                     masks: Tensor | None, masks_pred: Tensor | None, predicates: Tensor,
                     rel_scores: Tensor) -> dict[str, Tensor]:
    """The original ``calculate_model_losses``: the reconstruction terms, each times its weight."""
    losses = {
        "L1_pixel_loss": F.l1_loss(imgs_pred.float(), imgs.float()) * w.l1_pixel_loss_weight,
        "bbox_pred": F.mse_loss(boxes_pred.float(), boxes.float()) * w.bbox_pred_loss_weight,
    }
    if w.predicate_pred_loss_weight > 0:
        losses["predicate_pred"] = F.cross_entropy(rel_scores.float(), predicates) * w.predicate_pred_loss_weight
    if w.mask_loss_weight > 0 and masks is not None and masks_pred is not None:
        losses["mask_loss"] = F.binary_cross_entropy(masks_pred.float(), masks.float()) * w.mask_loss_weight
    return losses


def generator_adversarial_losses(w: LossConfig, g_loss: Callable[[Tensor], Tensor],
                                 obj_scores_fake: Tensor | None, ac_loss_fake: Tensor | None,
                                 img_scores_fake: Tensor | None) -> dict[str, Tensor]:
    """Fooling the discriminators: D_obj's AC loss on fake crops, then the GAN terms of D_obj and D_img."""
    losses: dict[str, Tensor] = {}
    if obj_scores_fake is not None:
        losses["ac_loss"] = ac_loss_fake * w.ac_loss_weight
        losses["g_gan_obj_loss"] = g_loss(obj_scores_fake) * (w.discriminator_loss_weight * w.d_obj_weight)
    if img_scores_fake is not None:
        losses["g_gan_img_loss"] = g_loss(img_scores_fake) * (w.discriminator_loss_weight * w.d_img_weight)
    return losses


def total(losses: dict[str, Tensor]) -> Tensor:
    """The sum of the (weighted) terms."""
    return torch.stack([v.reshape(()).float() for v in losses.values()]).sum()


# --------------------------------------------------------------------------- discriminators
def d_obj_losses(d_loss: Callable[[Tensor, Tensor], Tensor], scores_real: Tensor, scores_fake: Tensor,
                 ac_loss_real: Tensor, ac_loss_fake: Tensor) -> dict[str, Tensor]:
    """D_obj's update: GAN loss on real vs fake crops plus the AC loss on both (unweighted, as the original)."""
    return {"d_obj_gan_loss": d_loss(scores_real, scores_fake), "d_ac_loss_real": ac_loss_real,
            "d_ac_loss_fake": ac_loss_fake}


def d_img_losses(d_loss: Callable[[Tensor, Tensor], Tensor], scores_real: Tensor,
                 scores_fake: Tensor) -> dict[str, Tensor]:
    return {"d_img_gan_loss": d_loss(scores_real, scores_fake)}
