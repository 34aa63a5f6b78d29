"""Checkpoint files: reading (weights-only, or trusted pickle), atomic writing, strip.

Two files per training run, as the original: ``<output_dir>/<name>_with_model.pt`` (everything) and
``<name>_no_model.pt`` (the same minus weights and optimiser states, for browsing sweeps). Every value
is plain Python or a tensor, so ``torch.load(weights_only=True)`` reads them. Beyond the original's
keys (its ``scripts/train.py``) a checkpoint holds what an exact resume needs, saved and restored whole
by :class:`sg2im.training.state.RunState`, and the run's identity (:mod:`sg2im.training.identity`).
"""
from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sg2im.atomic import atomic_write
from sg2im.errors import DataError

# Keys removed from the "_no_model" checkpoint (the original's).
MODEL_KEYS = ("model_state", "optim_state", "model_best_state", "d_obj_state", "d_obj_optim_state",
              "d_obj_best_state", "d_img_state", "d_img_optim_state", "d_img_best_state")
STATE_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile


def to_plain(value: Any) -> Any:
    """Turn defaultdicts, numpy values and paths into what weights_only loading accepts."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [to_plain(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save through :func:`sg2im.atomic.atomic_write`: never a half-written checkpoint."""
    return atomic_write(path, lambda handle: torch.save(obj, handle))


def read_checkpoint(path: str | os.PathLike, trust: bool = False, map_location: Any = "cpu") -> dict:
    """A checkpoint dict, read with ``weights_only=True`` unless ``trust`` (an original pickle you trust).

    Every failure is a :class:`DataError` naming the file, what is wrong and the fix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist. Train first (`dvc repro train`) or fix the path.")
    try:
        data = torch.load(path, map_location=map_location, weights_only=not trust)
    except pickle.UnpicklingError as err:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        why = (f"it contains {found.group(1)}" if found
               else "it contains objects other than tensors and plain containers, e.g. a defaultdict")
        raise DataError(f"checkpoint {path} cannot be loaded safely with weights_only=True ({why}). If you trust "
                        "the file (an original sg2im checkpoint), load it with --trust_checkpoint 1, or convert "
                        "it once with stages/convert_checkpoint.py.") from None
    except Exception as exc:  # noqa: BLE001 - truncated, not a torch file, wrong device...
        raise DataError(f"checkpoint {path} is not a readable torch checkpoint ({type(exc).__name__}: {exc}); "
                        "it is truncated or not a checkpoint: delete it and train (or download) it again.") from None
    if not isinstance(data, dict):
        raise DataError(f"checkpoint {path} holds a {type(data).__name__}, expected a dict with model_kwargs and "
                        "model_state")
    return data


def strip_state_prefix(state: Mapping[str, Any]) -> dict[str, Any]:
    """Remove ``module.`` / ``_orig_mod.`` key prefixes (DDP, torch.compile)."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in STATE_PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def tensor_bytes(value: Any) -> int:
    """The bytes of every tensor in a (nested) checkpoint: about its size on disk."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, Mapping):
        return sum(tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(v) for v in value)
    return 0


def save_checkpoint_pair(checkpoint: Mapping[str, Any], with_model: Path, no_model: Path) -> tuple[Path, Path]:
    """Write ``_with_model.pt`` then ``_no_model.pt`` atomically; return their paths. The free space is checked
    first (the new file is written beside the old one), so a full disk stops the run here, with the previous
    checkpoint intact, instead of in the middle of the write."""
    from sg2im.disk import check_free_space

    plain = to_plain(checkpoint)
    check_free_space(Path(with_model).parent, int(1.05 * tensor_bytes(plain)) + (1 << 20),
                     f"the checkpoint {Path(with_model).name} (the last one stays until it is written)")
    atomic_torch_save(plain, with_model)
    atomic_torch_save({k: v for k, v in plain.items() if k not in MODEL_KEYS}, no_model)
    return Path(with_model), Path(no_model)


def complete_pair(checkpoint: Mapping[str, Any], no_model: Path) -> bool:
    """A run killed between the two writes of a pair leaves ``_no_model.pt`` one checkpoint behind the
    ``_with_model.pt`` being resumed (``checkpoint``): write it again from that. True when it was rewritten."""
    try:
        brief = read_checkpoint(no_model)
        if brief.get("counters") == checkpoint.get("counters") and brief.get("losses_ts") == checkpoint.get("losses_ts"):
            return False
    except DataError:
        pass  # missing or unreadable: written below
    atomic_torch_save({k: v for k, v in to_plain(checkpoint).items() if k not in MODEL_KEYS}, no_model)
    print(f"note: {no_model} was one checkpoint behind (a run killed between the two writes of a pair): written "
          "again from the checkpoint resumed", flush=True)
    return True


def strip_checkpoint(checkpoint: Mapping[str, Any], keep_discriminators: bool = True) -> dict:
    """What generation needs (the original's strip_checkpoint.py): args, model_kwargs (with vocab),
    model_state, the MLflow run id, the counters (iterations trained, for captions); plus the discriminators' states and kwargs when asked."""
    if checkpoint.get("model_state") is None or checkpoint.get("model_kwargs") is None:
        raise DataError("the checkpoint has no model_state/model_kwargs (is it a _no_model.pt file?). "
                        "Strip the _with_model.pt checkpoint instead.")
    model_kwargs = dict(checkpoint["model_kwargs"])
    if "vocab" not in model_kwargs and checkpoint.get("vocab") is not None:
        model_kwargs["vocab"] = checkpoint["vocab"]
    out = {"args": checkpoint.get("args"), "model_kwargs": model_kwargs, "model_state": checkpoint["model_state"],
           "mlflow_run_id": checkpoint.get("mlflow_run_id"), "counters": checkpoint.get("counters")}
    if keep_discriminators:
        for key in ("d_obj_state", "d_obj_kwargs", "d_img_state", "d_img_kwargs"):
            out[key] = checkpoint.get(key)
    return to_plain(out)
