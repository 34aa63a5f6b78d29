"""Cascaded refinement network (original ``sg2im/crn.py``; Chen & Koltun 2017)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .layers import get_activation, get_normalization_2d, upsample_nearest
from .layout import FactorizedLayout, conv_layout


class RefinementModule(nn.Module):
    """avg-pool the layout to the feature size, concat [layout, feats], then
    Conv3x3, Norm, Act, Conv3x3, Norm, Act (state-dict indices ``net.{0,1,3,4}`` with batch norm)."""

    def __init__(self, layout_dim: int, input_dim: int, output_dim: int, normalization: str = "instance",
                 activation: str = "leakyrelu"):
        super().__init__()
        layers = [
            nn.Conv2d(layout_dim + input_dim, output_dim, kernel_size=3, padding=1),
            get_normalization_2d(output_dim, normalization), get_activation(activation),
            nn.Conv2d(output_dim, output_dim, kernel_size=3, padding=1),
            get_normalization_2d(output_dim, normalization), get_activation(activation),
        ]
        layers = [layer for layer in layers if layer is not None]
        for layer in layers:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight)
        self.net = nn.Sequential(*layers)

    def forward(self, layout: torch.Tensor | FactorizedLayout, feats: torch.Tensor) -> torch.Tensor:
        HH, WW = layout.shape[-2:]
        H, W = feats.shape[-2:]
        if HH < H or HH % H or WW % W or HH // H != WW // W:
            raise ValueError(f"layout {HH}x{WW} cannot be pooled to features {H}x{W}")
        factor = HH // H
        if isinstance(layout, FactorizedLayout):
            return self.net[1:](self._first_conv(layout.pool(factor), feats))
        if factor > 1:
            layout = F.avg_pool2d(layout, kernel_size=factor, stride=factor)
        return self.net(torch.cat([layout, feats], dim=1))

    def _first_conv(self, layout: FactorizedLayout, feats: torch.Tensor) -> torch.Tensor:
        """The first conv on [layout, feats]: the layout's vector channels through :func:`conv_layout`, its
        noise channels and the features as usual (the same weights, split by input channel)."""
        conv = self.net[0]
        d = layout.vecs.shape[2]
        rest = feats if layout.noise is None else torch.cat([layout.noise, feats], dim=1)
        out = F.conv2d(rest, conv.weight[:, d:], conv.bias, padding=conv.padding)
        return out + conv_layout(layout, conv.weight[:, :d], padding=conv.padding[0])


class RefinementNetwork(nn.Module):
    """dims = (layout channels, C_1, ..., C_k). Starts from zeros of size (N, 1, H/2^k, W/2^k),
    doubles the resolution (nearest) before each module, then Conv3x3, Act, Conv1x1 -> 3 channels
    (no tanh: the output is in ImageNet-normalised space)."""

    def __init__(self, dims: Sequence[int], normalization: str = "instance", activation: str = "leakyrelu"):
        super().__init__()
        dims = tuple(int(d) for d in dims)
        layout_dim = dims[0]
        self.refinement_modules = nn.ModuleList(
            RefinementModule(layout_dim, 1 if i == 1 else dims[i - 1], dims[i], normalization, activation)
            for i in range(1, len(dims))
        )
        head = [nn.Conv2d(dims[-1], dims[-1], kernel_size=3, padding=1), get_activation(activation),
                nn.Conv2d(dims[-1], 3, kernel_size=1, padding=0)]
        nn.init.kaiming_normal_(head[0].weight)
        nn.init.kaiming_normal_(head[2].weight)
        self.output_conv = nn.Sequential(*head)

    def forward(self, layout: torch.Tensor | FactorizedLayout) -> torch.Tensor:
        N, _, H, W = layout.shape
        k = len(self.refinement_modules)
        in_h, in_w = H >> k, W >> k
        if in_h == 0 or in_w == 0:
            raise ValueError(f"layout {H}x{W} is too small for {k} refinement modules")
        like = layout.masks if isinstance(layout, FactorizedLayout) else layout
        feats = like.new_zeros(N, 1, in_h, in_w)
        for mod in self.refinement_modules:
            feats = mod(layout, upsample_nearest(feats, 2))
        return self.output_conv(feats)
