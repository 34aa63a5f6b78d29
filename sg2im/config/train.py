"""Every setting of the train stage (the original ``scripts/train.py`` flags, same names), by concern.

    TrainConfig
      data           DataConfig            what the model learns from (sg2im/config/data.py)
      model          ModelConfig           the generator (sg2im/config/model.py)
      discriminators DiscriminatorConfig   D_obj and D_img
      losses         LossConfig            the weight of every term (sg2im/training/losses.py)
      optim          OptimConfig           Adam, batch, iterations, seed
      output         OutputConfig          logging, checkpoints, where files go
      run            RunConfig             device, processes, tracking
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sg2im.config.data import DataConfig
from sg2im.config.model import DiscriminatorConfig, ModelConfig
from sg2im.config.schema import group, setting
from sg2im.errors import DataError


@dataclass(frozen=True)
class LossConfig:
    """Weights of the generator's losses (each term is multiplied by its weight before summing)."""

    mask_loss_weight: float = setting(0.0, "Mask BCE weight (0: masks weakly supervised).", paper=0.1)
    l1_pixel_loss_weight: float = setting(1.0, "L1 pixel loss weight.")
    bbox_pred_loss_weight: float = setting(10.0, "Box MSE weight.")
    predicate_pred_loss_weight: float = setting(0.0, "Predicate CE weight (deprecated in the original).")
    discriminator_loss_weight: float = setting(0.01, "Weight of fooling the discriminators (0: no discriminators).")
    d_obj_weight: float = setting(1.0, "Relative weight of D_obj's GAN loss for G (0: no D_obj).")
    ac_loss_weight: float = setting(0.1, "Weight of D_obj's auxiliary classification loss for G.")
    d_img_weight: float = setting(1.0, "Relative weight of D_img's GAN loss for G (0: no D_img).")

    @property
    def uses_d_obj(self) -> bool:
        return self.discriminator_loss_weight != 0 and self.d_obj_weight != 0

    @property
    def uses_d_img(self) -> bool:
        return self.discriminator_loss_weight != 0 and self.d_img_weight != 0


@dataclass(frozen=True)
class OptimConfig:
    batch_size: int = setting(32, "Scene graphs per minibatch (per process under torchrun).")
    num_iterations: int = setting(1000000, "Training iterations; the run stops at exactly this t.", identity=False)
    learning_rate: float = setting(1e-4, "Adam learning rate of G, D_obj and D_img.")
    lr_decay: str = setting("none", "Learning-rate schedule of all three optimisers: none (constant, the original) "
                            "or cosine (from learning_rate at t=1 to 0 at num_iterations; then num_iterations "
                            "shapes the run: a checkpoint of another length is not resumed).",
                            choices=("none", "cosine"), new=True)
    eval_mode_after: int = setting(100000, "At this t, G switches to eval mode (BatchNorm running stats) with a "
                                   "fresh Adam.")
    use_boxes_pred_after: int = setting(-1, "UNUSED, kept for compatibility (defined but never read by the "
                                        "original).", identity=False)
    seed: int = setting(0, "Seed of initialisation, data order and noise (the original was unseeded).", new=True)

    def check(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.num_iterations < 1:
            raise ValueError("num_iterations must be >= 1")


@dataclass(frozen=True)
class OutputConfig:
    print_every: int = setting(10, "Log and record losses every this many iterations.", identity=False)
    timing: bool = setting(False, "Print per-component times of each logged step (1/0).", identity=False)
    checkpoint_every: int = setting(10000, "Validate and write checkpoints every this many iterations (and at the "
                                    "end).", identity=False)
    output_dir: str = setting("models", "Checkpoint folder (original: the working directory).", local=True,
                              output=True, identity=False)
    checkpoint_name: str = setting("checkpoint", "Checkpoint base name: <name>_with_model.pt, <name>_no_model.pt.",
                                   local=True, identity=False)
    checkpoint_start_from: str | None = setting(None, "Start a NEW run from this checkpoint's generator weights "
                                                "(fresh optimisers and discriminators).")
    restore_from_checkpoint: bool = setting(
        False, "Resume <output_dir>/<name>_with_model.pt when it was written by a run of the same identity "
        "(parameters, code and data); a checkpoint of another identity starts a fresh run that replaces it, and "
        "the log says what differed.", local=True, identity=False)
    metrics_json: str = setting("", "Training summary JSON ('' = <output_dir>/train.json; the pipeline: "
                                "metrics/train.json).", new=True, local=True, output=True, identity=False)
    plots_dir: str = setting("", "Folder of train_losses.csv/.png and train_samples.png ('' = <output_dir>/plots; "
                             "the pipeline: plots).", new=True, local=True, output=True, identity=False)

    def check(self) -> None:
        if self.print_every < 1:
            raise ValueError("print_every must be >= 1")
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")

    @property
    def checkpoint_paths(self) -> tuple[Path, Path]:
        """(``<output_dir>/<name>_with_model.pt``, ``<output_dir>/<name>_no_model.pt``)."""
        folder = Path(self.output_dir)
        return folder / f"{self.checkpoint_name}_with_model.pt", folder / f"{self.checkpoint_name}_no_model.pt"

    @property
    def metrics_path(self) -> Path:
        return Path(self.metrics_json) if self.metrics_json else Path(self.output_dir) / "train.json"

    @property
    def plots_path(self) -> Path:
        return Path(self.plots_dir) if self.plots_dir else Path(self.output_dir) / "plots"


@dataclass(frozen=True)
class RunConfig:
    device: str = setting("auto", "auto (CUDA if available), cpu or cuda.", choices=("auto", "cpu", "cuda", "gpu"),
                          local=True, identity=False)
    nproc: int = setting(1, "Training processes on this machine: more than 1 makes stages/train.py launch that many "
                         "DistributedDataParallel workers (torchrun --standalone).", new=True, local=True,
                         identity=False)
    track: bool = setting(True, "Log the run to MLflow (1/0).", new=True, local=True, identity=False)
    precision: str = setting("fp32", "Arithmetic of the forward passes: fp32; bf16 or fp16 autocast (fp16 with a "
                             "gradient scaler per optimiser). Losses are computed in fp32.",
                             choices=("fp32", "bf16", "fp16"), new=True)
    channels_last: bool = setting(False, "1 = images and convolution weights in channels-last memory order (faster "
                                  "convolutions on GPUs with tensor cores).", new=True, identity=False)
    compile: bool = setting(False, "1 = torch.compile G and both discriminators (the first iterations are slow "
                            "while it compiles).", new=True, identity=False)
    compile_backend: str = setting("inductor", "torch.compile backend (inductor needs a C++ compiler on CPU, Triton "
                                   "on GPU; aot_eager traces without generating code).",
                                   choices=("inductor", "aot_eager", "eager"), new=True, identity=False)


@dataclass(frozen=True)
class TrainConfig:
    HOME = "output_dir"  # where a run by hand puts the outputs it was not told where to write

    data: DataConfig = group(DataConfig)
    model: ModelConfig = group(ModelConfig)
    discriminators: DiscriminatorConfig = group(DiscriminatorConfig)
    losses: LossConfig = group(LossConfig)
    optim: OptimConfig = group(OptimConfig)
    output: OutputConfig = group(OutputConfig)
    run: RunConfig = group(RunConfig)

    @classmethod
    def from_checkpoint_args(cls, args: Any, source: str) -> "TrainConfig":
        """The settings a checkpoint was trained with (its ``args``; the original's too). Keys this code does
        not declare (settings of other versions) are left out; the others must parse. Older checkpoints:
        no ``test_h5`` means test.h5 next to ``val_h5`` (the rule before it was a setting); None for a text
        setting means empty."""
        import os

        from sg2im.config.schema import build, flat_fields

        if not isinstance(args, dict):
            raise DataError(f"checkpoint {source} has no 'args' dict: cannot tell which dataset it was trained on")
        infos = {i.name: i for i in flat_fields(cls)}
        values = {k: ("" if v is None and infos[k].type is str else v) for k, v in args.items() if k in infos}
        if "test_h5" not in values and values.get("val_h5"):
            values["test_h5"] = os.path.join(os.path.dirname(values["val_h5"]), "test.h5")
        return build(cls, values, f"checkpoint {source} args", "train")
