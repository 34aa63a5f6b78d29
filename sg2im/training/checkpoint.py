"""Checkpoints: the original's keys (spec 4.5), atomic writes, strip, and the resume guard.

Two files per run, as the original: ``<output_dir>/<name>_with_model.pt`` (everything) and
``<name>_no_model.pt`` (the same minus weights and optimiser states, for browsing sweeps).
Every value is plain Python or a tensor, so ``torch.load(weights_only=True)`` reads them.

Beyond the original keys a checkpoint holds what an *exact* resume needs: every rank's RNG
states (torch, CUDA, numpy, python), the data position (sampler seed, epoch, batches done in the
epoch), the parameters that shape the run (``fingerprint_params`` and their hash
``params_fingerprint``), the NaN-skip count and the MLflow run id.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sg2im.atomic import atomic_write
from sg2im.errors import DataError

# Keys removed from the "_no_model" checkpoint (spec 4.5).
MODEL_KEYS = ("model_state", "optim_state", "model_best_state", "d_obj_state", "d_obj_optim_state",
              "d_obj_best_state", "d_img_state", "d_img_optim_state", "d_img_best_state")
# Parameters that do not change the training trajectory; a checkpoint written with other values
# of these may be resumed (num_iterations: exact resume makes "train longer" = "continue").
RUN_ONLY_KEYS = frozenset({
    "num_iterations", "print_every", "timing", "checkpoint_every", "output_dir", "checkpoint_name",
    "restore_from_checkpoint", "loader_num_workers", "device", "nproc", "num_val_samples", "shuffle_val",
    "use_boxes_pred_after",
})
KILL_HOOK_ENV = "SG2IM_TEST_KILL_IN_SAVE"  # test hook: SIGKILL ourselves inside the N-th save
_saves_done = 0


# --------------------------------------------------------------------------- plain values
def to_plain(value: Any) -> Any:
    """Turn defaultdicts, numpy values and tuples-of-mixed into what weights_only loading accepts."""
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


# --------------------------------------------------------------------------- atomic writes
def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save through :func:`sg2im.atomic.atomic_write`: never a half-written checkpoint."""

    def write(handle) -> None:
        global _saves_done
        torch.save(obj, handle)
        _saves_done += 1
        if os.environ.get(KILL_HOOK_ENV) and _saves_done == int(os.environ[KILL_HOOK_ENV]):
            os.kill(os.getpid(), signal.SIGKILL)  # test hook: die between write and rename

    atomic_write(path, write)


# --------------------------------------------------------------------------- paths, load
def checkpoint_paths(output_dir: str | os.PathLike, name: str) -> tuple[Path, Path]:
    """``(<dir>/<name>_with_model.pt, <dir>/<name>_no_model.pt)``."""
    folder = Path(output_dir)
    return folder / f"{name}_with_model.pt", folder / f"{name}_no_model.pt"


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu", trust: bool = False) -> dict:
    """Load a checkpoint dict (weights_only unless ``trust``), with a clear error when unreadable."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: checkpoint not found. Train first (`dvc repro train`) or fix the path.")
    try:
        data = torch.load(path, map_location=map_location, weights_only=not trust)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot read the checkpoint ({type(exc).__name__}: {exc}). "
                        "If it is an original sg2im checkpoint you trust, pass the trust option; "
                        "else delete it and train again.") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: not an sg2im checkpoint (a {type(data).__name__}, expected a dict).")
    return data


def save_checkpoint_pair(checkpoint: dict, output_dir: str | os.PathLike, name: str) -> tuple[Path, Path]:
    """Write ``_with_model.pt`` then ``_no_model.pt`` atomically; return their paths."""
    with_model, no_model = checkpoint_paths(output_dir, name)
    plain = to_plain(checkpoint)
    atomic_torch_save(plain, with_model)
    atomic_torch_save({k: v for k, v in plain.items() if k not in MODEL_KEYS}, no_model)
    return with_model, no_model


# --------------------------------------------------------------------------- new checkpoint
def new_checkpoint(args: Mapping[str, Any], vocab: dict, model_kwargs: dict, d_obj_kwargs: dict,
                   d_img_kwargs: dict) -> dict:
    """An empty checkpoint with the original keys (and the placeholders it never filled)."""
    return {
        "args": dict(args),
        "vocab": vocab,
        "model_kwargs": model_kwargs,
        "d_obj_kwargs": d_obj_kwargs,
        "d_img_kwargs": d_img_kwargs,
        "losses_ts": [],
        "losses": {},
        "d_losses": {},
        "checkpoint_ts": [],
        "train_batch_data": [],
        "train_samples": [],
        "train_iou": [],
        "val_batch_data": [],
        "val_samples": [],
        "val_losses": {},
        "val_iou": [],
        "norm_d": [],
        "norm_g": [],
        "counters": {"t": None, "epoch": None},
        "model_state": None,
        "optim_state": None,
        "d_obj_state": None,
        "d_obj_optim_state": None,
        "d_img_state": None,
        "d_img_optim_state": None,
        "best_t": [],
        "model_best_state": None,
        "d_obj_best_state": None,
        "d_img_best_state": None,
        # Additions for exact resume and traceability.
        "val_iou_no_image": [],
        "nan_skipped": 0,
        "rng_states": None,
        "data_position": None,
        "fingerprint_params": None,
        "params_fingerprint": None,
        "mlflow_run_id": None,
        "wall_time_s": 0.0,
    }


def strip_checkpoint(checkpoint: Mapping[str, Any], keep_discriminators: bool = True) -> dict:
    """What generation needs: args, model_kwargs (with vocab), model_state, the MLflow run id;
    plus the discriminators' states and kwargs when asked (the original's default)."""
    if checkpoint.get("model_state") is None or checkpoint.get("model_kwargs") is None:
        raise DataError("the checkpoint has no model_state/model_kwargs (is it a _no_model.pt file?). "
                        "Strip the _with_model.pt checkpoint instead.")
    model_kwargs = dict(checkpoint["model_kwargs"])
    if "vocab" not in model_kwargs and checkpoint.get("vocab") is not None:
        model_kwargs["vocab"] = checkpoint["vocab"]
    out = {"args": checkpoint.get("args"), "model_kwargs": model_kwargs, "model_state": checkpoint["model_state"],
           "mlflow_run_id": checkpoint.get("mlflow_run_id")}
    if keep_discriminators:
        for key in ("d_obj_state", "d_obj_kwargs", "d_img_state", "d_img_kwargs"):
            out[key] = checkpoint.get(key)
    return to_plain(out)


# --------------------------------------------------------------------------- RNG states
def rng_state(device: torch.device) -> dict:
    """This process's RNG states (torch, CUDA, numpy, python) as weights_only-loadable values."""
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_cached)},
        "python": {"version": py_version, "state": list(py_state), "gauss": py_gauss},
        "cuda": None,
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"], device)


# --------------------------------------------------------------------------- resume guard
def fingerprint_params(args: Mapping[str, Any], world_size: int) -> dict[str, Any]:
    """The parameters that shape the training trajectory (all but RUN_ONLY_KEYS), plus the world size."""
    values = {k: _jsonable(v) for k, v in sorted(args.items()) if k not in RUN_ONLY_KEYS}
    values["world_size"] = int(world_size)
    return values


def fingerprint(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def param_differences(saved: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """Human-readable ``name: checkpoint X != now Y`` lines ([] when the parameters agree)."""
    if saved is None:
        return ["(the checkpoint records no parameters: it was not written by this training code)"]
    saved = {k: _jsonable(v) for k, v in saved.items()}
    diffs = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if json.dumps(a, default=str) != json.dumps(b, default=str):
            diffs.append(f"{key}: checkpoint {a!r} != now {b!r}")
    return diffs
