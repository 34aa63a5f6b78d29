"""Settings for tests, built the way params.yaml is read (strict: an unknown key or bad value fails)."""
from __future__ import annotations

from typing import Any

from sg2im.config.preprocess_vg import PreprocessVgConfig
from sg2im.config.schema import build
from sg2im.config.train import TrainConfig


def _dict(values: Any) -> dict[str, Any]:
    return dict(values) if isinstance(values, dict) else dict(vars(values))


def train_config(values: Any) -> TrainConfig:
    values = _dict(values)
    return build(TrainConfig, values, "test", "train")


def datasets(values: Any, splits=("train", "val")):
    """``build_vocab_and_datasets`` of a flat train section."""
    from sg2im.data.build import build_vocab_and_datasets

    cfg = train_config(values)
    return build_vocab_and_datasets(cfg.data, cfg.model, splits)


def preprocess_config(values: Any) -> PreprocessVgConfig:
    values = _dict(values)
    return build(PreprocessVgConfig, values, "test", "preprocess_vg")
