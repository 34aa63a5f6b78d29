"""Stage evaluate: box statistics, object accuracy, crop FID, diversity (and IS/FID with the
user's Inception weights) of a checkpoint on the test split, with predicted and GT layouts.

    python stages/evaluate.py --checkpoint runs/mine/sg2im.pt --output runs/mine/evaluate.json

Writes the metrics JSON (output; its 'headline' section first) atomically and logs the same numbers to
the MLflow run of the model it evaluates (the checkpoint's ``mlflow_run_id``; a run by hand gets a run
of its own).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.evaluate import EvaluateConfig  # noqa: E402
from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage("evaluate", EvaluateConfig, argv,
                                                description=__doc__.split("\n")[0]))
    from sg2im.metrics.report import run_evaluation

    return run_evaluation(cfg)


if __name__ == "__main__":
    run_stage(main)
