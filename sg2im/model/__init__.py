"""The sg2im networks (original ``sg2im/model.py`` and friends), and building the generator of a checkpoint.

Layout: layers.py (MLP/CNN builders, architecture strings, norms, activations), graph.py (graph
triple convolution), layout.py (boxes/masks -> layout, crops), crn.py (cascaded refinement
network), generator.py (Sg2ImModel), discriminators.py.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from sg2im.checkpoint import read_checkpoint, strip_state_prefix
from sg2im.config.model import DEPRECATED_MODEL_KWARGS, ModelConfig
from sg2im.errors import DataError

from .discriminators import AcCropDiscriminator, AcDiscriminator, PatchDiscriminator
from .generator import Sg2ImModel

__all__ = ["Sg2ImModel", "AcCropDiscriminator", "AcDiscriminator", "PatchDiscriminator", "build_generator",
           "generator_from_checkpoint", "load_generator"]


def build_generator(model_kwargs: dict[str, Any]) -> Sg2ImModel:
    """The generator of an original-style ``model_kwargs`` (ours or the original's; lists from YAML/JSON
    accepted). Keys the model does not take are ignored with a warning, as the original did."""
    config, vocab, ignored = ModelConfig.from_model_kwargs(dict(model_kwargs))
    unexpected = [k for k in ignored if k not in DEPRECATED_MODEL_KWARGS]
    if ignored:
        warnings.warn(f"Sg2ImModel got unexpected kwargs (ignored): {sorted(ignored)}"
                      + ("" if unexpected else " (deprecated keys of old checkpoints)"), stacklevel=2)
    return Sg2ImModel(vocab, config)


def generator_from_checkpoint(ckpt: dict, source: str) -> Sg2ImModel:
    """The generator of a checkpoint dict (full or stripped): built from its ``model_kwargs``, ``model_state``
    loaded (every key and shape checked), in eval mode on the CPU. ``source`` names it in errors."""
    missing = [k for k in ("model_kwargs", "model_state") if ckpt.get(k) is None]
    if missing:
        raise DataError(f"checkpoint {source} has no {' or '.join(missing)} (keys: {sorted(ckpt)}); it is not a "
                        "generator checkpoint (a *_no_model.pt file?). Use *_with_model.pt or a stripped sg2im.pt")
    model = build_generator(ckpt["model_kwargs"])
    state = strip_state_prefix(ckpt["model_state"])
    expected = model.state_dict()
    lacking = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if lacking or extra:
        raise DataError(f"checkpoint {source}: model_state does not match model_kwargs; "
                        f"missing keys {lacking[:5]}{'...' if len(lacking) > 5 else ''}, "
                        f"unexpected keys {extra[:5]}{'...' if len(extra) > 5 else ''}")
    bad = [k for k in expected if tuple(expected[k].shape) != tuple(state[k].shape)]
    if bad:
        raise DataError(f"checkpoint {source}: shape mismatch for {bad[:5]} between model_state and model_kwargs")
    model.load_state_dict(state)
    return model.eval()


def load_generator(path: str | os.PathLike, device: torch.device | str = "cpu",
                   trust_checkpoint: bool = False) -> tuple[Sg2ImModel, dict]:
    """Build the generator of a checkpoint file (full or stripped) from its ``model_kwargs`` and load
    ``model_state``. Returns (model in eval mode on ``device``, checkpoint dict)."""
    ckpt = read_checkpoint(path, trust=trust_checkpoint, map_location=device)
    model = generator_from_checkpoint(ckpt, str(path))
    return model.to(device).eval(), ckpt
