"""ImageNet normalisation both ways: the one home of the mean, the std and the original's de-processing.

Images enter the model ImageNet-normalised (the original ``imagenet_preprocess``); generated images
leave it as the original ``imagenet_deprocess_batch`` did: un-normalised, each image's own min..max
stretched to 0..255, truncated to uint8 (what run_model.py saved and what evaluation measures).
"""
from __future__ import annotations

import torch
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stats(like: Tensor) -> tuple[Tensor, Tensor]:
    shape = (3, 1, 1) if like.dim() == 3 else (1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=like.device).view(shape)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=like.device).view(shape)
    return mean, std


def normalize(pixels: Tensor) -> Tensor:
    """(..., 3, H, W) float in [0, 1] -> ImageNet-normalised."""
    mean, std = _stats(pixels)
    return (pixels - mean) / std


def denormalize(imgs: Tensor) -> Tensor:
    """ImageNet-normalised (N, 3, H, W) or (3, H, W) -> float pixels (not clamped)."""
    mean, std = _stats(imgs)
    return imgs.float() * std + mean


def real_pixels(imgs: Tensor) -> Tensor:
    """Real dataset images -> [0, 1]."""
    return denormalize(imgs).clamp(0, 1)


def to_uint8(imgs: Tensor, rescale: bool = True) -> Tensor:
    """Generated (N, 3, H, W), normalised -> uint8 (N, 3, H, W): the original ``imagenet_deprocess_batch``
    (per-image min-max stretch when ``rescale``, then truncation)."""
    x = denormalize(imgs)
    if rescale:
        flat = x.flatten(1)
        lo = flat.min(1).values.view(-1, 1, 1, 1)
        hi = flat.max(1).values.view(-1, 1, 1, 1)
        x = (x - lo) / (hi - lo).clamp_min(1e-12)
    return x.mul(255).clamp(0, 255).to(torch.uint8)


def saved_pixels(imgs: Tensor) -> Tensor:
    """Generated images as saved to PNG, back in [0, 1] (what evaluation measures)."""
    return to_uint8(imgs).float() / 255
