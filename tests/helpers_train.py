"""Tiny training configurations on the real COCO fixture (17 images), for the training tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "coco_real"
PYTHON = sys.executable


def tiny_train_params(tmp: Path, **overrides) -> dict:
    """A train section that runs a handful of 16x16 iterations in seconds (train = val = the fixture)."""
    images = str(FIXTURE / "images" / "train2017")
    instances = str(FIXTURE / "annotations" / "instances_train2017.json")
    stuff = str(FIXTURE / "annotations" / "stuff_train2017.json")
    params = {
        "dataset": "coco", "batch_size": 4, "num_iterations": 6, "learning_rate": 5e-4, "eval_mode_after": 100000,
        "image_size": "16,16", "num_val_samples": 4, "loader_num_workers": 0,
        "coco_train_image_dir": images, "coco_val_image_dir": images,
        "coco_train_instances_json": instances, "coco_train_stuff_json": stuff,
        "coco_val_instances_json": instances, "coco_val_stuff_json": stuff, "cache_dir": "",
        "mask_size": 8, "embedding_dim": 16, "gconv_dim": 16, "gconv_hidden_dim": 32, "gconv_num_layers": 2,
        "refinement_network_dims": "16,8", "layout_noise_dim": 4, "d_obj_arch": "C4-8-2,C4-16-2",
        "d_img_arch": "C4-8-2,C4-16-2", "crop_size": 16, "print_every": 1, "checkpoint_every": 3,
        "output_dir": str(tmp / "models"), "restore_from_checkpoint": 1, "device": "cpu", "seed": 0,
        "metrics_json": str(tmp / "metrics" / "train.json"), "plots_dir": str(tmp / "plots"),
    }
    params.update(overrides)
    return params


def write_params(tmp: Path, **overrides) -> Path:
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump({"train": tiny_train_params(tmp, **overrides)}))
    return path


def tiny_args(tmp: Path, **overrides):
    """The tiny run's TrainConfig, read the way the stage reads it (params.yaml in ``tmp``)."""
    from sg2im.config.loader import load_stage
    from sg2im.config.train import TrainConfig

    params_file = write_params(tmp, **overrides)
    return load_stage("train", TrainConfig, ["--params", str(params_file)]).config


def stage_env(tmp: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update({"DVC_ROOT": str(tmp), "PYTHONUNBUFFERED": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
                "OMP_NUM_THREADS": "1"})
    for key in ("MLFLOW_TRACKING_URI", "RANK", "WORLD_SIZE", "LOCAL_RANK", "DVC_EXP_NAME", "DVC_STAGE", "DVC_EXP_BASELINE_REV", "SG2IM_PARAMS"):
        env.pop(key, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_train_stage(tmp: Path, *flags: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """``python stages/train.py`` in ``tmp`` (its params.yaml), to completion."""
    return subprocess.run([PYTHON, str(REPO / "stages" / "train.py"), *flags], cwd=tmp, env=env or stage_env(tmp),
                          capture_output=True, text=True, timeout=timeout)
