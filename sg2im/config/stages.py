"""The config class of every stage, by stage name (for presets, docs and tests; stages import their own)."""
from __future__ import annotations

from sg2im.config.convert_checkpoint import ConvertCheckpointConfig
from sg2im.config.download_coco import DownloadCocoConfig
from sg2im.config.download_models import DownloadModelsConfig
from sg2im.config.download_vg import DownloadVgConfig
from sg2im.config.evaluate import EvaluateConfig
from sg2im.config.generate import GenerateConfig
from sg2im.config.preprocess_vg import PreprocessVgConfig
from sg2im.config.serve import ServeConfig
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
    "download_models": DownloadModelsConfig,
    "convert_checkpoint": ConvertCheckpointConfig,
    "serve": ServeConfig,
}
STAGES = tuple(STAGE_CONFIGS)


def stage_of(section: str) -> str:
    """The stage whose settings a params.yaml section holds: ``train_vg`` -> ``train`` (a second model's
    section), ``download_coco`` -> itself."""
    if section in STAGE_CONFIGS:
        return section
    for stage in sorted(STAGE_CONFIGS, key=len, reverse=True):
        if section.startswith(f"{stage}_"):
            return stage
    raise KeyError(f"params.yaml section '{section}' is no stage's (stages: {', '.join(STAGES)}; a second model's "
                   "sections are named <stage>_<model>)")
