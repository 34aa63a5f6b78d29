"""Stage train: the original scripts/train.py flags, one training run, MLflow tracking.

    python stages/train.py --output_dir runs/mine         # a run of your own (params.yaml [train] + flags)
    python stages/train.py --output_dir runs/vg --batch_size 8 --dataset vg
    python stages/train.py --nproc 2 --output_dir runs/ddp  # 2 processes (DistributedDataParallel, via torchrun)

Writes <output_dir>/<checkpoint_name>_{with,no}_model.pt (resumable), the metrics JSON (metrics_json),
train_losses.{csv,png} and train_samples.png (plots_dir). A run by hand never writes the pipeline's own
files: outputs that would land there go under --output_dir (or runs/train/) instead.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.config.train import TrainConfig  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402

DESCRIPTION = ("Train the sg2im generator with its object and image discriminators (the original "
               "scripts/train.py), with exact resume, MLflow tracking and torchrun/DDP.")


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage("train", TrainConfig, argv, description=DESCRIPTION))
    if cfg.run.nproc > 1 and "WORLD_SIZE" not in os.environ:  # this process launches the nproc workers
        from torch.distributed.run import get_args_parser, run

        launch = get_args_parser().parse_args(["--standalone", f"--nproc_per_node={cfg.run.nproc}", __file__])
        launch.training_script_args = list(sys.argv[1:] if argv is None else argv)
        return run(launch)
    from sg2im.training.loop import train

    return train(cfg)


if __name__ == "__main__":
    run_stage(main)
