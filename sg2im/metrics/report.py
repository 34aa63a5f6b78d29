"""What an evaluation reports: the headline numbers (first in the metrics JSON, in `dvc exp show` and in
MLflow as ``test/...``: measured on the test split), the MLflow record, and the console summary."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from sg2im.config.evaluate import EvaluateConfig
from sg2im.config.schema import flatten
from sg2im.tracking import Tracker
from sg2im.vis.images import image_grid

# headline name -> path in the metrics dict
HEADLINE = {
    "R@0.5": ("boxes", "all", "predicted", "R@0.5"),
    "R@0.5_class_mean_baseline": ("boxes", "all", "class_mean_baseline", "R@0.5"),
    "R@0.3": ("boxes", "all", "predicted", "R@0.3"),
    "mean_iou": ("boxes", "all", "predicted", "mean_iou"),
    "things_R@0.5": ("boxes", "things", "predicted", "R@0.5"),
    "object_acc_gt_layout": ("object_accuracy", "gt_layout"),
    "object_acc_pred_layout": ("object_accuracy", "pred_layout"),
    "object_acc_real_crops": ("object_accuracy", "real_crops_ceiling"),
    "crop_fid_gt_layout": ("crop_fid", "gt_layout"),
    "crop_fid_pred_layout": ("crop_fid", "pred_layout"),
    "diversity_pred_layout": ("diversity", "pred_layout", "l1"),
    "FID_pred_layout": ("inception", "pred_layout", "FID"),
    "IS_pred_layout": ("inception", "pred_layout", "IS_mean"),
}


def _at(metrics: dict, path: tuple[str, ...]) -> Any:
    value: Any = metrics
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def headline(metrics: dict) -> dict[str, float]:
    """The numbers a reader compares first (those the run has)."""
    return {k: v for k, p in HEADLINE.items() if isinstance(v := _at(metrics, p), (int, float))}


def with_headline(metrics: dict) -> dict:
    """The metrics dict with ``headline`` first."""
    return {"headline": headline(metrics), **metrics}


def metric_name(key: str) -> str:
    return key.replace("@", "_at_")


def detail_metrics(metrics: dict, prefix: str = "test/detail/") -> dict[str, float]:
    """Every other measured number (box statistics per group, accuracies of things, diversity...), not the
    settings: the protocol and the classifier's settings are parameters."""
    out: dict[str, float] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{name}/{k}" if name else k)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value)):
            out[prefix + metric_name(name)] = float(value)

    for section in ("boxes", "object_accuracy", "crop_fid", "diversity", "inception"):
        walk(metrics.get(section), section)
    return out


def log_evaluation(cfg: EvaluateConfig, metrics: dict, extras: dict, output: str) -> None:
    """Into the evaluated model's MLflow run (a new run when this is a run by hand, or when it is gone):
    the headline as ``test/...``, the rest as ``test/detail/...``, the settings as ``evaluate.*`` params,
    the sample grid (real | GT layout | predicted layout) and the metrics file."""
    if not cfg.track:
        return
    params = {f"evaluate.{k}": v for k, v in flatten(cfg).items()}
    params.update({f"evaluate.classifier.{k}": v for k, v in (metrics.get("classifier") or {}).items()
                   if k in ("steps", "batch_size", "lr", "width", "jitter", "crop_size", "train_images")})
    tracker = Tracker.start("evaluate", params=params, tags={"stage": "evaluate"}, run_id=extras.get("mlflow_run_id"))
    if not tracker.enabled:
        return
    if tracker.reopened:  # the training run's parameters are fixed; evaluate's settings go in as tags
        tracker.set_tags(params)
    tracker.log_metrics({f"test/{metric_name(k)}": v for k, v in headline(metrics).items()})
    tracker.log_metrics(detail_metrics(metrics))
    samples = extras.get("samples") or {}
    rows = [samples[k] for k in ("real", "gt_layout", "pred_layout") if k in samples]
    if rows:
        n = min(len(r) for r in rows)
        imgs = np.concatenate([(r[:n].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8) for r in rows])
        tracker.log_image(image_grid(imgs, nrow=n), key="samples/test_real_gt-layout_pred-layout")
    tracker.log_artifact(output, artifact_path="evaluate")
    tracker.end()


def run_evaluation(cfg: EvaluateConfig) -> dict:
    """The evaluate stage's work: evaluate, write the metrics JSON (headline first), log to MLflow, report."""
    from sg2im.atomic import atomic_write_json
    from sg2im.metrics.evaluation import evaluate_checkpoint

    metrics, extras = evaluate_checkpoint(cfg)
    metrics = with_headline(metrics)
    path = atomic_write_json(cfg.output, metrics, indent=2)
    log_evaluation(cfg, metrics, extras, cfg.output)
    print("\n".join(summary_lines(metrics, path)))
    return metrics


def summary_lines(m: dict, path: Any) -> list[str]:
    p, b, acc = m["protocol"], m["boxes"]["all"], m["object_accuracy"]
    return [
        f"evaluated {p['checkpoint']} on {p['dataset']} {p['split']}: {p['num_images']} images, "
        f"{p['num_objects']} objects, {p['samples_per_layout']} samples/layout, {p['seconds']} s",
        f"  boxes      R@0.3 {b['predicted']['R@0.3']}  R@0.5 {b['predicted']['R@0.5']}  mIoU "
        f"{b['predicted']['mean_iou']}  (class-mean baseline: R@0.5 {b['class_mean_baseline']['R@0.5']}, "
        f"mIoU {b['class_mean_baseline']['mean_iou']})",
        f"  object acc real crops {acc['real_crops_ceiling']}  GT layout {acc['gt_layout']}  "
        f"pred layout {acc['pred_layout']}",
        f"  crop FID   GT layout {m['crop_fid']['gt_layout']}  pred layout {m['crop_fid']['pred_layout']}",
        f"  diversity  {m['diversity']}",
        f"  inception  {m['inception'].get('status')}",
        f"wrote {path}",
    ]
