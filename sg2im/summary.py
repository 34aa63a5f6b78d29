"""Print where the default pipeline put its results (the last step of ``make repro``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def summary_lines(root: Path) -> list[str]:
    train = load_json(root / "metrics/train.json")
    evaluate = load_json(root / "metrics/evaluate.json")
    figures = root / "outputs/generate/figures"
    rendered = sorted(p.name for p in figures.glob("*.png")) if figures.is_dir() else []
    return [
        "",
        "=== sg2im: the pipeline is done ===",
        f"model (stripped):     {root / 'models/sg2im.pt'}",
        f"training checkpoints: {root / 'models'}/checkpoint_{{with,no}}_model.pt",
        f"training metrics:     {root / 'metrics/train.json'}  ({pick(train, TRAIN_KEYS)})",
        f"evaluation metrics:   {root / 'metrics/evaluate.json'}  ({pick(evaluate, EVALUATE_KEYS)})",
        f"loss curves, samples: {root / 'plots'}/train_losses.png, train_samples.png",
        f"generated images:     {root / 'outputs/generate'}",
        f"paper figures:        {figures}/ ({', '.join(rendered) or 'none rendered'}; README.txt says why others are not)",
        f"MLflow runs:          {root / 'mlflow.db'} (artifacts in {root / 'mlartifacts'}), "
        f"run {train.get('mlflow_run_id') or '?'}",
        "",
        "Browse the runs:      make ui        (MLflow on http://127.0.0.1:5000/#/experiments?workflowType=machine_learning)",
        "Then, in a shell:     source .venv/bin/activate   (the stages call this environment's python)",
        "All metrics:          dvc metrics show",
        "An experiment:        dvc exp run -S train.mask_loss_weight=0.2 && dvc exp show",
    ]


def main() -> None:
    print("\n".join(summary_lines(Path.cwd())))


if __name__ == "__main__":
    main()
