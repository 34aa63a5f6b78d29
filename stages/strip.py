"""Stage strip: keep only what generation needs from a training checkpoint (original strip_checkpoint.py).

    python stages/strip.py                                   # params.yaml [strip]
    python stages/strip.py --input_checkpoint runs/mine/checkpoint_with_model.pt --output_checkpoint runs/mine/sg2im.pt
    python stages/strip.py --input_dir models/sweep --output_dir models/stripped

The stripped file holds args, model_kwargs (with the vocab), model_state and the MLflow run id, plus
the discriminators' states and kwargs when keep_discriminators is 1 (the original's default).  It is
written atomically and logged as an artifact of the training run (when the checkpoint names one).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.config.strip import StripConfig  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    cfg = settle_outputs(load_stage("strip", StripConfig, argv,
                                             description="Strip a training checkpoint down to the models."))
    from sg2im.strip import strip_all

    strip_all(cfg)


if __name__ == "__main__":
    run_stage(main)
