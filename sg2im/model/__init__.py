"""The sg2im networks: generator, discriminators, losses, and checkpoint loading.

Layout: layers.py (MLP/CNN builders, architecture strings, norms, activations), graph.py (graph
triple convolution), layout.py (boxes/masks -> layout, crops), crn.py (cascaded refinement
network), generator.py (Sg2ImModel), discriminators.py, losses.py.
"""
from __future__ import annotations

import os
import pickle
import re
from typing import Any

import torch

from ..errors import DataError
from .crn import RefinementModule, RefinementNetwork
from .discriminators import AcCropDiscriminator, AcDiscriminator, PatchDiscriminator
from .generator import Sg2ImModel
from .graph import GraphTripleConv, GraphTripleConvNet
from .layers import build_cnn, build_mlp, get_activation, get_normalization_2d, parse_arch
from .layout import boxes_to_layout, crop_bbox_batch, masks_to_layout
from .losses import clip_weights_, get_gan_losses

__all__ = [
    "Sg2ImModel", "AcCropDiscriminator", "AcDiscriminator", "PatchDiscriminator", "GraphTripleConv",
    "GraphTripleConvNet", "RefinementModule", "RefinementNetwork", "build_cnn", "build_mlp", "parse_arch",
    "get_activation", "get_normalization_2d", "boxes_to_layout", "masks_to_layout", "crop_bbox_batch",
    "get_gan_losses", "clip_weights_", "build_generator", "load_generator", "strip_state_prefix",
]

_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile


def build_generator(model_kwargs: dict[str, Any]) -> Sg2ImModel:
    """``Sg2ImModel(**model_kwargs)`` (lists from YAML/JSON accepted for the tuple fields)."""
    kwargs = dict(model_kwargs)
    for key in ("image_size", "refinement_dims"):
        if key in kwargs and kwargs[key] is not None:
            kwargs[key] = tuple(kwargs[key])
    return Sg2ImModel(**kwargs)


def strip_state_prefix(state: dict[str, Any]) -> dict[str, Any]:
    """Remove ``module.`` / ``_orig_mod.`` key prefixes (DDP, torch.compile)."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu", trust_checkpoint: bool = False) -> dict:
    """torch.load a checkpoint dict; weights_only=True unless ``trust_checkpoint``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=not trust_checkpoint)
    except pickle.UnpicklingError as err:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        why = (f"it contains {found.group(1)}" if found
               else "it contains objects other than tensors and plain containers, e.g. a defaultdict")
        raise DataError(
            f"checkpoint {path} cannot be loaded safely with weights_only=True ({why}). "
            "If you trust the file, load it with trust_checkpoint (e.g. --trust_checkpoint 1)."
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise DataError(f"checkpoint {path} is not a readable torch checkpoint: {err}") from None
    if not isinstance(ckpt, dict):
        raise DataError(f"checkpoint {path} holds a {type(ckpt).__name__}, expected a dict with model_kwargs and model_state")
    return ckpt


def load_generator(path: str | os.PathLike, device: torch.device | str = "cpu",
                   trust_checkpoint: bool = False) -> tuple[Sg2ImModel, dict]:
    """Build the generator of a checkpoint (full or stripped) from its ``model_kwargs`` and load
    ``model_state``. Returns (model in eval mode on ``device``, checkpoint dict)."""
    path = os.fspath(path)
    ckpt = load_checkpoint(path, device, trust_checkpoint)
    missing = [k for k in ("model_kwargs", "model_state") if ckpt.get(k) is None]
    if missing:
        raise DataError(f"checkpoint {path} has no {' or '.join(missing)} (keys: {sorted(ckpt)}); "
                        "it is not a generator checkpoint (a *_no_model.pt file?). Use *_with_model.pt or a stripped sg2im.pt")
    model = build_generator(ckpt["model_kwargs"])
    state = strip_state_prefix(ckpt["model_state"])
    expected = model.state_dict()
    lacking = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if lacking or extra:
        raise DataError(f"checkpoint {path}: model_state does not match model_kwargs; "
                        f"missing keys {lacking[:5]}{'...' if len(lacking) > 5 else ''}, "
                        f"unexpected keys {extra[:5]}{'...' if len(extra) > 5 else ''}")
    bad = [k for k in expected if tuple(expected[k].shape) != tuple(state[k].shape)]
    if bad:
        raise DataError(f"checkpoint {path}: shape mismatch for {bad[:5]} between model_state and model_kwargs")
    model.load_state_dict(state)
    model.to(device).eval()
    return model, ckpt
