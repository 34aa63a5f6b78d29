"""Print where the default pipeline put its results (the last step of ``make repro``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sg2im.config.loader import read_params_file

# (label, path of keys) of the numbers shown next to each metrics file.
TRAIN_KEYS = (("iterations", ("iterations",)), ("it/s", ("iterations_per_s",)), ("val IoU", ("val_avg_iou",)))
EVALUATE_KEYS = (
    ("R@0.5 pred boxes", ("boxes", "all", "predicted", "R@0.5")),
    ("class-mean baseline", ("boxes", "all", "class_mean_baseline", "R@0.5")),
    ("object acc GT layout", ("object_accuracy", "gt_layout")),
    ("pred layout", ("object_accuracy", "pred_layout")),
    ("real crops", ("object_accuracy", "real_crops_ceiling")),
)


def load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def pick(metrics: dict, keys: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """``label=value`` for each key path present in the nested ``metrics``."""
    shown = []
    for label, path in keys:
        value: Any = metrics
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            shown.append(f"{label} {value:.3g}")
    return ", ".join(shown) or "(not there)"


MODELS = (("COCO model", ""), ("Visual Genome model", "_vg"))  # (name, suffix of its params.yaml sections)


def model_lines(root: Path, params: dict, name: str, suffix: str) -> list[str]:
    """Where one model's files are (paths from its sections of params.yaml), with its headline numbers."""
    train, strip = params.get(f"train{suffix}") or {}, params.get(f"strip{suffix}") or {}
    evaluate, generate = params.get(f"evaluate{suffix}") or {}, params.get(f"generate{suffix}") or {}
    if not train:
        return []
    train_json, eval_json = root / train.get("metrics_json", ""), root / evaluate.get("output", "")
    figures = root / generate.get("output_dir", "outputs/generate") / "figures"
    rendered = sorted(p.name for p in figures.glob("*.png")) if figures.is_dir() else []
    plots = root / train.get("plots_dir", "plots")
    return [
        f"--- {name} (dvc stages train{suffix}, strip{suffix}, evaluate{suffix}, generate{suffix}) ---",
        f"model (stripped):     {root / strip.get('output_checkpoint', '')}",
        f"training checkpoints: {root / train.get('output_dir', 'models')}/{train.get('checkpoint_name', 'checkpoint')}"
        "_{with,no}_model.pt",
        f"training metrics:     {train_json}  ({pick(load_json(train_json), TRAIN_KEYS)})",
        f"evaluation metrics:   {eval_json}  ({pick(load_json(eval_json), EVALUATE_KEYS)})",
        f"loss curves, samples: {plots}/train_losses.png, train_samples.png",
        f"paper figures:        {figures}/ ({', '.join(rendered) or 'none rendered'}; README.txt says why others are not)",
        f"MLflow run:           {load_json(train_json).get('mlflow_run_id') or '?'}",
    ]


def summary_lines(root: Path) -> list[str]:
    params = read_params_file(root / "params.yaml")
    lines = ["", "=== sg2im: the pipeline is done ==="]
    for name, suffix in MODELS:
        lines += model_lines(root, params, name, suffix)
    return lines + [
        f"MLflow store:         {root / 'mlflow.db'} (artifacts in {root / 'mlartifacts'})",
        "",
        "Browse the runs:      make ui        (MLflow on http://127.0.0.1:5000/#/experiments?workflowType=machine_learning)",
        "Then, in a shell:     source .venv/bin/activate   (the stages call this environment's python)",
        "All metrics:          dvc metrics show",
        "An experiment:        dvc exp run -S train.mask_loss_weight=0.2 && dvc exp show   (train_vg.* for the VG model)",
    ]


def main() -> None:
    print("\n".join(summary_lines(Path.cwd())))


if __name__ == "__main__":
    main()
