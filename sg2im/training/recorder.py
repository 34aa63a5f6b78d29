"""Everything a training run reports, fed through one object: the console, MLflow, the run state's
histories and the offline files (loss CSV and PNG, the sample grid, the metrics JSON).

MLflow metric names are grouped for the UI, which shows one section per prefix in name order: the
training losses ``loss/D/<term>`` and ``loss/G/<term>`` every ``print_every`` iterations and the validation
check ``loss/val/<term>`` (with ``loss/val/avg_iou``) at every checkpoint come first, then evaluate's
``test/...`` (the test split), then ``train/...`` (train IoU, iterations per second, NaN skips); sample grids
are the image series ``samples/val`` and ``samples/train``; settings are parameters, never metrics.
Only rank 0 records; the others hold a silent recorder.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

from tqdm import tqdm

from sg2im.atomic import atomic_write_json
from sg2im.config.train import TrainConfig
from sg2im.tracking import Tracker
from sg2im.training.check import sample_grid
from sg2im.training.history import write_loss_csv, write_loss_png
from sg2im.training.state import RunState
from sg2im.training.step import StepLosses
from sg2im.vis.images import save_png


def log_line(t: int, total: int, g: Mapping[str, float], d: Mapping[str, float]) -> str:
    parts = [f"t = {t} / {total}"]
    parts += [f"G [{k}]: {v:.4f}" for k, v in g.items()]
    parts += [f"D [{k}]: {v:.4f}" for k, v in d.items()]
    return ", ".join(parts)


class Recorder:
    def __init__(self, cfg: TrainConfig, tracker: Tracker | None, main: bool):
        self.cfg, self.tracker, self.main = cfg, tracker or Tracker(), main
        self.plots = cfg.output.plots_path

    def say(self, *parts: Any) -> None:
        if self.main:
            tqdm.write(" ".join(map(str, parts)), file=sys.stdout)

    # ---------------------------------------------------------------- during the run
    def losses(self, state: RunState, step: StepLosses, rate: float, timing: str | None) -> None:
        """Every print_every iterations (the state holds them already): console line, MLflow."""
        if not self.main:
            return
        self.say(log_line(state.t, self.cfg.optim.num_iterations, step.g, step.d))
        if timing:
            self.say(timing)
        metrics = {**{f"loss/G/{k}": v for k, v in step.g.items()}, **{f"loss/D/{k}": v for k, v in step.d.items()},
                   "train/iterations_per_s": rate, "train/nan_skipped": state.nan_skipped}
        self.tracker.log_metrics(metrics, step=state.t)

    def skipped(self, state: RunState) -> None:
        self.say(f"WARNING: t = {state.t}: got a non-finite loss; step skipped (no G or D update), "
                 f"{state.nan_skipped} skipped so far")
        if self.main:
            self.tracker.log_metrics({"train/nan_skipped": state.nan_skipped}, step=state.t)

    def checked(self, state: RunState, checks: Mapping[str, Any], checkpoint: Path) -> None:
        """At every checkpoint (the state holds the checks already): console, MLflow metrics and sample grids,
        the offline files."""
        if not self.main:
            return
        val, train = checks["val"], checks["train"]
        self.say(f"t = {state.t}: val avg IoU {val.avg_iou:.4f} (without __image__ {val.avg_iou_no_image:.4f}), "
                 f"train avg IoU {train.avg_iou:.4f}; checkpoint -> {checkpoint}")
        metrics = {f"loss/val/{k}": v for k, v in val.losses.items()}
        metrics.update({"loss/val/avg_iou": val.avg_iou, "loss/val/avg_iou_no_image": val.avg_iou_no_image,
                        "train/avg_iou": train.avg_iou, "train/avg_iou_no_image": train.avg_iou_no_image})
        self.tracker.log_metrics(metrics, step=state.t)
        for split, check in checks.items():
            if check.samples:
                self.tracker.log_image(sample_grid(check.samples), key=f"samples/{split}", step=state.t)
        self.write_views(state)

    def write_views(self, state: RunState) -> None:
        """The loss CSV (DVC plot) and the latest validation samples (plots/train_samples.png)."""
        h = state.history
        write_loss_csv(self.plots / "train_losses.csv", h["losses_ts"], h["losses"], h["d_losses"])
        samples = state.last("val_samples")
        if samples:
            save_png(sample_grid(samples), self.plots / "train_samples.png")

    # ---------------------------------------------------------------- the end
    def finish(self, state: RunState, summary: dict[str, Any], stripped: Path | None) -> dict[str, Any]:
        """Loss curves, samples, metrics JSON; in MLflow the stripped generator and the files; the run ends."""
        if not self.main:
            return summary
        h = state.history
        self.write_views(state)
        write_loss_png(self.plots / "train_losses.png", h["losses_ts"], h["losses"], h["d_losses"])
        metrics_json = self.cfg.output.metrics_path
        atomic_write_json(metrics_json, summary, indent=2, sort_keys=True, default=str)
        if self.tracker.enabled:
            if stripped is not None:
                self.tracker.log_artifact(stripped, artifact_path="checkpoints")
            for path in (self.plots / "train_losses.csv", self.plots / "train_losses.png", metrics_json):
                self.tracker.log_artifact(path, artifact_path="train")
            self.tracker.log_metrics({"train/final_iterations_per_s": _num(summary["iterations_per_s"])}, step=state.t)
            self.tracker.end()
        self.say(f"done: {state.t} iterations; metrics -> {metrics_json}; loss curves -> {self.plots}/"
                 f"train_losses.csv, train_losses.png; samples -> {self.plots}/train_samples.png; checkpoints -> "
                 f"{self.cfg.output.checkpoint_paths[0]}")
        return summary

    def failed(self, exc: BaseException) -> None:
        """An interrupted or failed run is marked KILLED/FAILED in MLflow."""
        self.tracker.end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else float("nan")

