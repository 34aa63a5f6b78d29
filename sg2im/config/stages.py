"""The config class of every stage, by stage name (for presets, docs and tests; stages import their own)."""
from __future__ import annotations

from sg2im.config.download_coco import DownloadCocoConfig
from sg2im.config.download_vg import DownloadVgConfig
from sg2im.config.evaluate import EvaluateConfig
from sg2im.config.generate import GenerateConfig
from sg2im.config.preprocess_vg import PreprocessVgConfig
from sg2im.config.strip import StripConfig
from sg2im.config.train import TrainConfig

STAGE_CONFIGS: dict[str, type] = {
    "download_coco": DownloadCocoConfig,
    "download_vg": DownloadVgConfig,
    "preprocess_vg": PreprocessVgConfig,
    "train": TrainConfig,
    "strip": StripConfig,
    "evaluate": EvaluateConfig,
    "generate": GenerateConfig,
}
STAGES = tuple(STAGE_CONFIGS)
