"""Discriminators (original ``sg2im/discriminators.py``): patch image discriminator and the
auxiliary-classifier object discriminator on box crops."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .layers import GlobalAvgPool, build_cnn
from .layout import crop_bbox_batch


class PatchDiscriminator(nn.Module):
    """D_img: ``build_cnn('I{3+layout_dim},' + arch)``; the raw conv output (N, C, h, w) is used as
    patch logits, as the original. ``classifier`` (Conv1x1 -> 1) is kept, unused, so parameter
    counts and state dicts match the original (257 parameters at the default arch)."""

    def __init__(self, arch: str, normalization: str = "batch", activation: str = "leakyrelu-0.2",
                 padding: str = "same", pooling: str = "avg", input_size: Sequence[int] = (128, 128),
                 layout_dim: int = 0):
        super().__init__()
        self.input_size = tuple(input_size)
        self.layout_dim = layout_dim
        arch = f"I{3 + layout_dim},{arch}"
        self.cnn, output_dim = build_cnn(arch, normalization=normalization, activation=activation,
                                         padding=padding, pooling=pooling)
        self.classifier = nn.Conv2d(output_dim, 1, kernel_size=1, stride=1)

    def forward(self, x: torch.Tensor, layout: torch.Tensor | None = None) -> torch.Tensor:
        if layout is not None:
            x = torch.cat([x, layout], dim=1)
        return self.cnn(x)


class AcDiscriminator(nn.Module):
    """CNN -> GlobalAvgPool -> Linear(C, 1024) -> real/fake logit and object-class logits."""

    def __init__(self, vocab: dict, arch: str, normalization: str = "none", activation: str = "relu",
                 padding: str = "same", pooling: str = "avg"):
        super().__init__()
        self.vocab = vocab
        cnn, D = build_cnn(arch, normalization=normalization, activation=activation, padding=padding, pooling=pooling)
        self.cnn = nn.Sequential(cnn, GlobalAvgPool(), nn.Linear(D, 1024))
        num_objects = len(vocab["object_idx_to_name"])
        self.real_classifier = nn.Linear(1024, 1)
        self.obj_classifier = nn.Linear(1024, num_objects)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() == 3:
            x = x[:, None]
        vecs = self.cnn(x)
        real_scores = self.real_classifier(vecs)
        obj_scores = self.obj_classifier(vecs)
        ac_loss = F.cross_entropy(obj_scores.float(), y)
        return real_scores, ac_loss


class AcCropDiscriminator(nn.Module):
    """D_obj: crops every object box (``object_size`` square, bilinear, align_corners=True) and
    runs the AcDiscriminator; returns (real_scores (O, 1), ac_loss)."""

    def __init__(self, vocab: dict, arch: str, normalization: str = "none", activation: str = "relu",
                 padding: str = "same", object_size: int = 64, pooling: str = "avg"):
        super().__init__()
        self.vocab = vocab
        self.discriminator = AcDiscriminator(vocab, arch, normalization, activation, padding, pooling)
        self.object_size = object_size

    def forward(self, imgs: torch.Tensor, objs: torch.Tensor, boxes: torch.Tensor,
                obj_to_img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        crops = crop_bbox_batch(imgs, boxes, obj_to_img, self.object_size)
        return self.discriminator(crops, objs)
