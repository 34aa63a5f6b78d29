"""The Inception v3 network of FID and IS: pytorch-fid's TF-compatible architecture (its ``FIDInceptionA..E``
blocks), or torchvision's, and the feature extractor (pool3 features and logits) in front of either. Kept apart
from :mod:`sg2im.metrics.inception` because importing torchvision costs seconds: only a run with an Inception
weights file pays for it."""
from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn
from torchvision.models import inception as tv_inception


class _FIDInceptionA(tv_inception.InceptionA):
    """InceptionA whose pool branch averages without the zero padding (as TensorFlow does)."""

    def _forward(self, x: Tensor) -> list[Tensor]:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return [self.branch1x1(x), b5, b3, pool]


class _FIDInceptionC(tv_inception.InceptionC):
    def _forward(self, x: Tensor) -> list[Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return [self.branch1x1(x), b7, d, pool]


class _FIDInceptionE(tv_inception.InceptionE):
    """InceptionE; ``max_pool=True`` for the last block (the TF graph max-pools there)."""

    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def _forward(self, x: Tensor) -> list[Tensor]:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        if self.max_pool:
            pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        else:
            pooled = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return [self.branch1x1(x), b3, d, self.branch_pool(pooled)]


def build_fid_inception() -> torchvision.models.Inception3:
    """The TF-compatible Inception v3 architecture of pytorch-fid (random weights, 1008 classes)."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    net.Mixed_5b = _FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = _FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = _FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = _FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = _FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = _FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = _FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = _FIDInceptionE(1280, max_pool=False)
    net.Mixed_7c = _FIDInceptionE(2048, max_pool=True)
    return net


class InceptionFeatures(nn.Module):
    """Images in [0, 1] (N, 3, H, W) -> (pool3 features (N, 2048), logits (N, classes))."""

    def __init__(self, net: torchvision.models.Inception3, flavour: str) -> None:
        super().__init__()
        self.net = net.eval()
        self.flavour = flavour  # "pytorch-fid" or "torchvision"

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = F.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False)
        if self.flavour == "pytorch-fid":
            x = 2 * x - 1
        else:  # torchvision ImageNet weights: its transform_input expects ImageNet-normalised input
            mean = x.new_tensor([0.485, 0.456, 0.406])[None, :, None, None]
            std = x.new_tensor([0.229, 0.224, 0.225])[None, :, None, None]
            x = self.net._transform_input((x - mean) / std) if self.net.transform_input else (x - mean) / std
        n = self.net
        for layer in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1,
                      n.Conv2d_4a_3x3, n.maxpool2, n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a,
                      n.Mixed_6b, n.Mixed_6c, n.Mixed_6d, n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = layer(x)
        pool = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return pool, n.fc(pool)


def torchvision_inception(classes: int, aux_logits: bool) -> torchvision.models.Inception3:
    """torchvision's Inception v3 (random weights) with ``classes`` outputs, for its ImageNet weight files."""
    return torchvision.models.inception_v3(weights=None, aux_logits=aux_logits, num_classes=classes,
                                           init_weights=False, transform_input=True)
