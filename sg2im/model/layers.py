"""Building blocks shared by the generator and the discriminators (original ``sg2im/layers.py``).

* ``get_normalization_2d`` / ``get_activation``: names used by every ``--*normalization`` and
  ``--*activation`` flag. Fixed bug: the original reset every activation name to 'leakyrelu', so
  ``relu`` silently became ``LeakyReLU(0.01)``; here ``relu`` is a real ReLU.
* ``build_mlp``: Linear layers with (optional BatchNorm1d and) ReLU after each, the last included
  by default, as the original.
* ``build_cnn``: the architecture-string grammar of the discriminators (see ``parse_arch``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

NORMALIZATIONS = ("batch", "instance", "none")


def get_normalization_2d(channels: int, normalization: str) -> nn.Module | None:
    """BatchNorm2d, InstanceNorm2d (no affine, as the original) or None for 'none'."""
    if normalization == "instance":
        return nn.InstanceNorm2d(channels)
    if normalization == "batch":
        return nn.BatchNorm2d(channels)
    if normalization == "none":
        return None
    raise ValueError(f'unknown normalization "{normalization}"; choose one of {", ".join(NORMALIZATIONS)}')


def parse_activation(name: str) -> tuple[str, float | None]:
    """'relu' -> ('relu', None); 'leakyrelu' -> ('leakyrelu', 0.01); 'leakyrelu-0.2' -> ('leakyrelu', 0.2)."""
    low = name.lower()
    if low == "relu":
        return "relu", None
    if low.startswith("leakyrelu"):
        rest = low[len("leakyrelu"):]
        if rest == "":
            return "leakyrelu", 0.01
        if rest.startswith("-"):
            try:
                return "leakyrelu", float(rest[1:])
            except ValueError:
                pass
    raise ValueError(f'unknown activation "{name}"; use "relu", "leakyrelu" or "leakyrelu-<slope>" (e.g. leakyrelu-0.2)')


def get_activation(name: str) -> nn.Module:
    """``nn.ReLU`` for 'relu' (a real ReLU: the original's bug is fixed), ``nn.LeakyReLU(slope)`` otherwise."""
    kind, slope = parse_activation(name)
    if kind == "relu":
        return nn.ReLU()
    return nn.LeakyReLU(negative_slope=slope)


class Flatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(x, 1)


class GlobalAvgPool(nn.Module):
    """(N, C, H, W) -> (N, C) mean over space (works for channels_last too)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def get_padding(kernel_size: int, padding: str) -> int:
    if padding == "valid":
        return 0
    if padding == "same":
        if kernel_size % 2 != 1:
            raise ValueError(f"padding 'same' needs an odd kernel size, got {kernel_size}")
        return (kernel_size - 1) // 2
    raise ValueError(f'unknown padding "{padding}"; choose "same" or "valid"')


def _init_conv(layer: nn.Module, method: str) -> None:
    if not isinstance(layer, nn.Conv2d):
        return
    if method == "default":
        return
    if method == "kaiming-normal":
        nn.init.kaiming_normal_(layer.weight)
    elif method == "kaiming-uniform":
        nn.init.kaiming_uniform_(layer.weight)
    else:
        raise ValueError(f'unknown init "{method}"; choose default, kaiming-normal or kaiming-uniform')


class ResidualBlock(nn.Module):
    """Norm, Act, Conv, Norm, Act, Conv plus a shortcut.

    Fixed bugs: the original computed ``self.net(x)`` twice, and with 'valid' padding sliced the
    shortcut with ``[0:-0]`` (an empty tensor). Here the net runs once and, with 'valid' padding,
    the shortcut is centre-cropped by the K-1 pixels per side that the two convolutions remove.
    """

    def __init__(self, channels: int, normalization: str = "batch", activation: str = "relu",
                 padding: str = "same", kernel_size: int = 3, init: str = "default"):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError("residual blocks need an odd kernel size")
        pad = get_padding(kernel_size, padding)
        self.crop = 0 if padding == "same" else kernel_size - 1
        layers = [
            get_normalization_2d(channels, normalization), get_activation(activation),
            nn.Conv2d(channels, channels, kernel_size=kernel_size, padding=pad),
            get_normalization_2d(channels, normalization), get_activation(activation),
            nn.Conv2d(channels, channels, kernel_size=kernel_size, padding=pad),
        ]
        layers = [layer for layer in layers if layer is not None]
        for layer in layers:
            _init_conv(layer, init)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.crop
        shortcut = x if c == 0 else x[:, :, c:-c, c:-c]
        return shortcut + self.net(x)


@dataclass(frozen=True)
class ArchLayer:
    """One token of an architecture string."""

    kind: str  # 'conv', 'res', 'up', 'pool', 'fc'
    kernel: int = 0
    channels: int = 0  # conv: output channels; fc: output dim
    stride: int = 1
    factor: int = 0
    din: int = 0


def parse_arch(arch: str | Sequence[str]) -> tuple[int, list[ArchLayer]]:
    """Parse the original grammar: ``I<C>`` (input channels, first token only; default 3),
    ``C<K>-<X>[-<S>]`` (KxK conv to X channels, stride S), ``R`` (residual block), ``U<X>`` (nearest
    upsampling by X), ``P<X>`` (pooling, kernel = stride = X), ``FC-<Din>-<Dout>`` (flatten once,
    Linear). Returns (input channels, layers)."""
    tokens = [t.strip() for t in (arch.split(",") if isinstance(arch, str) else arch)]
    tokens = [t for t in tokens if t]
    in_channels = 3
    if tokens and tokens[0][0] == "I":
        try:
            in_channels = int(tokens[0][1:])
        except ValueError:
            raise ValueError(f'bad input token "{tokens[0]}" in architecture "{arch}"; expected I<channels>') from None
        tokens = tokens[1:]
    layers: list[ArchLayer] = []
    for tok in tokens:
        try:
            if tok.startswith("FC"):
                _, din, dout = tok.split("-")
                layers.append(ArchLayer("fc", din=int(din), channels=int(dout)))
            elif tok[0] == "C":
                vals = [int(v) for v in tok[1:].split("-")]
                if len(vals) == 2:
                    layers.append(ArchLayer("conv", kernel=vals[0], channels=vals[1]))
                elif len(vals) == 3:
                    layers.append(ArchLayer("conv", kernel=vals[0], channels=vals[1], stride=vals[2]))
                else:
                    raise ValueError
            elif tok == "R":
                layers.append(ArchLayer("res"))
            elif tok[0] == "U":
                layers.append(ArchLayer("up", factor=int(tok[1:])))
            elif tok[0] == "P":
                layers.append(ArchLayer("pool", factor=int(tok[1:])))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(
                f'invalid layer "{tok}" in architecture "{arch}"; use I<C>, C<K>-<X>[-<S>], R, U<X>, P<X> or FC-<Din>-<Dout>'
            ) from None
    return in_channels, layers


def build_cnn(arch: str | Sequence[str], normalization: str = "batch", activation: str = "relu",
              padding: str = "same", pooling: str = "max", init: str = "default") -> tuple[nn.Sequential, int]:
    """Build the CNN of an architecture string; returns (Sequential, output channels).

    As the original: every conv except the first is preceded by Norm + Act; nothing follows the
    last conv; an activation follows each FC except a final one; 'none' norms are dropped, so
    module indices match the original state dicts (``cnn.{0,1,3,4,6}`` for the default D arch).
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f'unknown pooling "{pooling}"; choose "max" or "avg"')
    cur_c, specs = parse_arch(arch)
    layers: list[nn.Module | None] = []
    first_conv, flat = True, False
    for i, spec in enumerate(specs):
        if spec.kind == "conv":
            if not first_conv:
                layers.append(get_normalization_2d(cur_c, normalization))
                layers.append(get_activation(activation))
            first_conv = False
            pad = get_padding(spec.kernel, padding)
            conv = nn.Conv2d(cur_c, spec.channels, kernel_size=spec.kernel, padding=pad, stride=spec.stride)
            _init_conv(conv, init)
            layers.append(conv)
            cur_c = spec.channels
        elif spec.kind == "res":
            norm = "none" if first_conv else normalization
            layers.append(ResidualBlock(cur_c, normalization=norm, activation=activation, padding=padding, init=init))
            first_conv = False
        elif spec.kind == "up":
            layers.append(nn.Upsample(scale_factor=spec.factor, mode="nearest"))
        elif spec.kind == "pool":
            pool_cls = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
            layers.append(pool_cls(kernel_size=spec.factor, stride=spec.factor))
        elif spec.kind == "fc":
            if not flat:
                layers.append(Flatten())
            flat = True
            layers.append(nn.Linear(spec.din, spec.channels))
            if i + 1 < len(specs):
                layers.append(get_activation(activation))
            cur_c = spec.channels
    modules = [layer for layer in layers if layer is not None]
    for layer in modules:
        log.debug("cnn layer: %s", layer)
    return nn.Sequential(*modules), cur_c


def build_mlp(dim_list: Sequence[int], activation: str = "relu", batch_norm: str = "none",
              dropout: float = 0.0, final_nonlinearity: bool = True) -> nn.Sequential:
    """Linear layers; (BatchNorm1d if batch_norm='batch' and) ReLU after each, the last included
    when final_nonlinearity (the original default)."""
    if batch_norm not in ("none", "batch"):
        raise ValueError(f'unknown mlp_normalization "{batch_norm}"; choose "none" or "batch"')
    layers: list[nn.Module] = []
    for i in range(len(dim_list) - 1):
        layers.append(nn.Linear(dim_list[i], dim_list[i + 1]))
        final_layer = i == len(dim_list) - 2
        if not final_layer or final_nonlinearity:
            if batch_norm == "batch":
                layers.append(nn.BatchNorm1d(dim_list[i + 1]))
            if activation == "relu":
                layers.append(nn.ReLU())
            elif activation == "leakyrelu":
                layers.append(nn.LeakyReLU())
        if dropout > 0:
            layers.append(nn.Dropout(p=dropout))
    return nn.Sequential(*layers)


def upsample_nearest(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest upsampling (the original's deprecated ``F.upsample``)."""
    return F.interpolate(x, scale_factor=factor, mode="nearest")
