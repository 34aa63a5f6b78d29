"""The mutable state of a training run, saved and restored whole with each checkpoint.

``RunState`` holds the counters (iteration ``t``, epochs, the position in the data order), the histories
the original kept in its checkpoint (losses every ``print_every``, the checks every ``checkpoint_every``),
the NaN-skip count, wall time, the MLflow run id and every rank's random states. ``checkpoint_dict``
lays it out under the original's checkpoint keys (plus what an exact resume needs) and
:meth:`RunState.from_checkpoint` reads it back.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

# Histories under the original's keys (list per check; dict of name -> list per loss).
LIST_HISTORIES = ("losses_ts", "checkpoint_ts", "train_batch_data", "train_samples", "train_iou", "val_batch_data",
                  "val_samples", "val_iou", "val_iou_no_image")
DICT_HISTORIES = ("losses", "d_losses", "val_losses")
# Keys the original's checkpoint always had but never filled.
PLACEHOLDERS = {"norm_d": [], "norm_g": [], "best_t": [], "model_best_state": None, "d_obj_best_state": None,
                "d_img_best_state": None}


@dataclass
class RunState:
    t: int = 0
    epoch: int = 0  # epochs started (the original's counters['epoch'])
    data_epoch: int = 0  # the epoch of the data order the next batch comes from
    data_batch: int = 0  # batches of that epoch already used
    nan_skipped: int = 0
    wall_time_s: float = 0.0
    mlflow_run_id: str | None = None
    rng_states: list | None = None
    history: dict[str, Any] = field(default_factory=lambda: {**{k: [] for k in LIST_HISTORIES},
                                                             **{k: {} for k in DICT_HISTORIES}})

    def record_losses(self, g: Mapping[str, float], d: Mapping[str, float]) -> None:
        h = self.history
        h["losses_ts"].append(self.t)
        for name, value in g.items():
            h["losses"].setdefault(name, []).append(value)
        for name, value in d.items():
            h["d_losses"].setdefault(name, []).append(value)

    def record_checks(self, checks: Mapping[str, Any]) -> None:
        h, train, val = self.history, checks["train"], checks["val"]
        h["checkpoint_ts"].append(self.t)
        for split, check in (("train", train), ("val", val)):
            h[f"{split}_batch_data"].append(check.batch_data)
            h[f"{split}_samples"].append(check.samples)
            h[f"{split}_iou"].append(check.avg_iou)
        h["val_iou_no_image"].append(val.avg_iou_no_image)
        for name, value in val.losses.items():
            h["val_losses"].setdefault(name, []).append(value)

    def last(self, key: str) -> Any:
        values = self.history[key]
        return values[-1] if values else None

    def to_checkpoint(self, batches_per_epoch: int, seed: int) -> dict[str, Any]:
        return {**self.history, "counters": {"t": self.t, "epoch": self.epoch}, "nan_skipped": self.nan_skipped,
                "data_position": {"epoch": self.data_epoch, "batch": self.data_batch, "seed": seed,
                                  "batches_per_epoch": batches_per_epoch},
                "wall_time_s": self.wall_time_s, "mlflow_run_id": self.mlflow_run_id, "rng_states": self.rng_states}

    @classmethod
    def from_checkpoint(cls, ck: Mapping[str, Any]) -> "RunState":
        history = {k: list(ck.get(k) or []) for k in LIST_HISTORIES}
        history.update({k: {n: list(v) for n, v in (ck.get(k) or {}).items()} for k in DICT_HISTORIES})
        position = ck.get("data_position") or {}
        return cls(t=int(ck["counters"]["t"]), epoch=int(ck["counters"]["epoch"]),
                   data_epoch=int(position.get("epoch", 0)), data_batch=int(position.get("batch", 0)),
                   nan_skipped=int(ck.get("nan_skipped", 0)), wall_time_s=float(ck.get("wall_time_s", 0.0)),
                   mlflow_run_id=ck.get("mlflow_run_id"), rng_states=ck.get("rng_states"), history=history)


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
