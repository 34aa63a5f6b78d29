"""Settings of evaluate: the protocol of ``stages/evaluate.py`` (the original had no evaluation code)."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import group, setting


@dataclass(frozen=True)
class ClassifierConfig:
    """The crop classifier behind object accuracy and crop FID (trained once per data, cached)."""

    classifier_steps: int = setting(2000, "Training steps of the crop classifier (trained once per data/params, "
                                    "cached).", new=True)
    classifier_batch_size: int = setting(128, "Crops per classifier training step.", new=True)
    classifier_lr: float = setting(1e-3, "Adam learning rate of the crop classifier (cosine decay to 0).", new=True)
    classifier_width: int = setting(32, "Channels of the classifier's first block (features: 4x this).", new=True)
    classifier_crop_size: int = setting(32, "Side of the object crops the classifier sees.", new=True)
    classifier_jitter: float = setting(0.1, "Box jitter during classifier training, as a fraction of box size.",
                                       new=True)
    classifier_train_images: int = setting(5000, "Training images used for the classifier and the class-mean "
                                           "boxes.", new=True)
    classifier_cache: str = setting("models/crop_classifier.pt", "Cache file of the crop classifier ('' = no "
                                    "cache).", new=True, local=True, output=True)


@dataclass(frozen=True)
class InceptionConfig:
    inception_weights: str = setting("", "pytorch-fid's pt_inception-2015-12-05-6726825d.pth (placed by you; never "
                                     "downloaded). Empty = IS/FID not computed.", new=True, local=True)
    inception_sha256: str = setting("", "Expected SHA-256 (or prefix) of inception_weights; empty = 6726825d.",
                                    new=True, local=True)
    inception_splits: int = setting(10, "Splits of the Inception Score (mean and std over them).", new=True)


@dataclass(frozen=True)
class EvaluateConfig:
    HOME = None  # a run by hand writes under runs/evaluate/ unless told where

    checkpoint: str = setting("models/sg2im.pt", "Generator checkpoint to evaluate (full or stripped).", local=True)
    trust_checkpoint: bool = setting(False, "1 = load the checkpoint with pickle (weights_only=False); only for files "
                                     "you trust.", new=True)
    split: str = setting("test", "Split to evaluate: test (COCO: the 2,048 filtered val2017 images after the val "
                         "ones; VG: test.h5) or val.", choices=("test", "val"), new=True)
    num_samples: int | None = setting(None, "Evaluate at most this many images of the split (none = all).")
    samples_per_layout: int = setting(5, "Images generated per scene graph and layout mode (different noise); "
                                      "diversity needs >= 2. Literature: 5 on COCO, 1 on VG.", new=True)
    model_mode: str = setting("eval", "Generator BatchNorm mode while sampling (original sample_images.py "
                              "--model_mode).", choices=("eval", "train"))
    batch_size: int = setting(24, "Images per evaluation batch (original sample_images.py).")
    loader_num_workers: int = setting(0, "DataLoader worker processes.", local=True)
    classifier: ClassifierConfig = group(ClassifierConfig)
    inception: InceptionConfig = group(InceptionConfig)
    device: str = setting("auto", "auto, cpu, gpu or cuda (gpu/cuda fall back to CPU with a warning).",
                          choices=("auto", "cpu", "gpu", "cuda"), local=True)
    seed: int = setting(0, "Random seed (noise, classifier).", new=True)
    output: str = setting("metrics/evaluate.json", "Metrics JSON (DVC metrics).", new=True, local=True, output=True)
    progress: bool = setting(True, "Show progress bars.", new=True, local=True)
    track: bool = setting(True, "Log the metrics to MLflow (1/0).", new=True, local=True)

    def check(self) -> None:
        if self.samples_per_layout < 1:
            raise ValueError("samples_per_layout must be >= 1")
