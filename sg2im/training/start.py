"""How a training run starts: fresh, resuming its own checkpoint, or from another run's generator weights.

- ``restore_from_checkpoint: 1`` and ``<output_dir>/<name>_with_model.pt`` of the same identity
  (parameters, code, data: :mod:`sg2im.training.identity`) -> **resume** (also when it already reached
  ``num_iterations``: the outputs are then written again from it, without training);
- a checkpoint of another identity, or one whose identity is missing or unreadable -> **fresh**, with one
  line per difference; the old file stays until the first new checkpoint replaces it (atomically);
- ``checkpoint_start_from: <file>`` (and no resumable checkpoint of its own) -> **start_from**: the
  generator (its architecture and weights) from that file, fresh optimisers and discriminators, a new
  identity (the original's behaviour).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sg2im.checkpoint import read_checkpoint
from sg2im.config.train import TrainConfig
from sg2im.errors import DataError
from sg2im.training.identity import RunIdentity, differences


@dataclass
class Start:
    mode: str  # "fresh", "resume" or "start_from"
    checkpoint: dict | None
    message: str
    reasons: list[str] = field(default_factory=list)


def decide_start(cfg: TrainConfig, identity: RunIdentity, by_dvc: bool) -> Start:
    """Fresh run, resume, or a new run from other weights, and the message that says which and why."""
    out, n = cfg.output, cfg.optim.num_iterations
    with_model, _ = out.checkpoint_paths
    reasons: list[str] = []
    if out.restore_from_checkpoint and with_model.exists():
        try:
            own = read_checkpoint(with_model)
        except DataError as exc:
            own, reasons = None, [f"unreadable: {exc}"]
        if own is not None:
            reasons = differences(own.get("identity"), identity)
            t_saved = int((own.get("counters") or {}).get("t") or 0)
            if not reasons and t_saved > n:
                reasons = [f"params: num_iterations {n}, but the checkpoint is already at t={t_saved}"]
            if not reasons:  # also a killed checkpoint_start_from run: its own checkpoint wins
                done = " (already finished: writing its outputs again, no training)" if t_saved == n else ""
                return Start("resume", own, f"resuming {with_model} at t={t_saved}{done}")
    if out.checkpoint_start_from:
        checkpoint = read_checkpoint(out.checkpoint_start_from)
        return Start("start_from", checkpoint, f"starting a new run from the generator of {out.checkpoint_start_from}"
                     + _replaces(with_model, reasons, by_dvc), reasons)
    note = f"no checkpoint at {with_model}: " if out.restore_from_checkpoint and not with_model.exists() else ""
    return Start("fresh", None, f"{note}starting a fresh run" + _replaces(with_model, reasons, by_dvc), reasons)


def _replaces(with_model, reasons: list[str], by_dvc: bool) -> str:
    if not with_model.exists():
        return ""
    if not reasons:
        return f" ({with_model} will be replaced)"
    who = "dvc repro / dvc exp run" if by_dvc else "this run"
    listing = "\n  ".join(reasons[:20])
    banner = "!" * 78
    return (f"\n{banner}\n{with_model} is not resumed; it belongs to another run:\n  {listing}\n"
            f"STARTING A FRESH RUN ({who}); the old checkpoint is replaced when the first new one is written."
            f"\n{banner}")
