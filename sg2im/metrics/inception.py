"""Inception Score and FID with the standard Inception weights, only from a file the user supplies.

Nothing is downloaded.  The supported file is pytorch-fid's port of the TensorFlow 2015-12-05
Inception graph, ``pt_inception-2015-12-05-6726825d.pth`` (the SHA-256 of the file starts with
``6726825d``; the same network the TTUR FID and the improved-gan Inception Score use).  It is
loaded into torchvision's ``inception_v3(num_classes=1008, aux_logits=False)`` whose Mixed_5b-5d,
6b-6e, 7b, 7c blocks are replaced by the TF-compatible variants pytorch-fid uses (average pools
that ignore padding, and a max pool in the last block's pool branch).  Input images in [0, 1]
are resized bilinearly to 299x299 and scaled to [-1, 1], exactly as pytorch-fid does.

- FID: Frechet distance of the 2048-d pool3 features (real vs generated).
- IS: exp(E_x KL(p(y|x) || p(y))) over the softmax of the 1008 logits, mean and std over
  ``splits`` equal parts (10 in the literature).

A torchvision ImageNet state dict (``inception_v3_google-*.pth``, 1000 classes, with AuxLogits)
is also accepted, with torchvision's own blocks and its ImageNet input normalisation; its numbers
are NOT comparable to published FID/IS (which use the TF graph) and the JSON says so.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn
from torchvision.models import inception as tv_inception

from sg2im.errors import DataError

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_SHA256_PREFIX = "6726825d"
NOT_COMPUTED = "not computed: no weights file"


def sha256_of_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def check_weights_file(path: str | Path, expected_sha256: str | None = None) -> str:
    """Return the file's SHA-256 after checking it starts with ``expected_sha256`` (a full hash or
    a prefix; default: pytorch-fid's ``6726825d``).  Raises DataError naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: Inception weights file not found (evaluate.inception_weights). Place "
            f"pytorch-fid's {FID_WEIGHTS_NAME} there, or set inception_weights to '' to skip IS/FID."
        )
    expected = (expected_sha256 or FID_WEIGHTS_SHA256_PREFIX).strip().lower()
    actual = sha256_of_file(path)
    if not actual.startswith(expected):
        raise DataError(
            f"{path}: SHA-256 {actual} does not match the expected {expected!r} "
            f"(evaluate.inception_sha256; default {FID_WEIGHTS_SHA256_PREFIX}, pytorch-fid's {FID_WEIGHTS_NAME}). "
            "Use the right file, or set inception_sha256 to this file's hash if you trust it."
        )
    return actual


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


def load_inception(path: str | Path, expected_sha256: str | None = None,
                   device: torch.device | str = "cpu") -> tuple[InceptionFeatures, dict]:
    """Check the file's hash, load it (weights only) into the matching architecture.

    Returns the network and ``{"weights_file", "sha256", "architecture"}``."""
    digest = check_weights_file(path, expected_sha256)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise DataError(f"{path}: cannot read the Inception weights ({exc}). Expected a PyTorch state dict.") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise DataError(f"{path}: not an Inception v3 state dict (no 'fc.weight'). Expected {FID_WEIGHTS_NAME}.")
    classes = int(state["fc.weight"].shape[0])
    if classes == 1008:
        net, flavour = build_fid_inception(), "pytorch-fid"
    else:
        aux = any(k.startswith("AuxLogits.") for k in state)
        net = torchvision.models.inception_v3(weights=None, aux_logits=aux, num_classes=classes,
                                              init_weights=False, transform_input=True)
        flavour = "torchvision"
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataError(f"{path}: the state dict does not fit the {flavour} Inception v3 architecture: "
                        f"{str(exc)[:400]}") from None
    info = {
        "weights_file": str(path),
        "sha256": digest,
        "architecture": flavour if flavour == "pytorch-fid"
        else "torchvision inception_v3 (NOT comparable to published TF-Inception IS/FID)",
    }
    return InceptionFeatures(net, flavour).to(device), info


def inception_score(logits: Tensor | np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Inception Score (mean, std over ``splits`` parts) from logits (N, classes)."""
    logits = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    splits = max(1, min(int(splits), logits.shape[0]))
    probs = logits.softmax(-1)
    scores = []
    for part in torch.tensor_split(probs, splits):
        marginal = part.mean(0, keepdim=True)
        kl = (part * (torch.log(part.clamp_min(1e-30)) - torch.log(marginal.clamp_min(1e-30)))).sum(1).mean()
        scores.append(float(kl.exp()))
    return float(np.mean(scores)), float(np.std(scores))
