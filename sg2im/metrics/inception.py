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
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from sg2im.errors import DataError

if TYPE_CHECKING:
    from sg2im.metrics.inception_net import InceptionFeatures

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


def load_inception(path: str | Path, expected_sha256: str | None = None,
                   device: torch.device | str = "cpu") -> tuple["InceptionFeatures", dict]:
    """Check the file's hash, load it (weights only) into the matching architecture.

    Returns the network and ``{"weights_file", "sha256", "architecture"}``."""
    from sg2im.metrics.inception_net import InceptionFeatures, build_fid_inception, torchvision_inception

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
        net = torchvision_inception(classes, aux)
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
