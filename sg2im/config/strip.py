"""Settings of strip: the original ``scripts/strip_checkpoint.py`` flags."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import setting


@dataclass(frozen=True)
class StripConfig:
    HOME = "output_dir"

    input_checkpoint: str | None = setting("models/checkpoint_with_model.pt", "Checkpoint to strip (original: no "
                                           "default).", local=True)
    output_checkpoint: str | None = setting("models/sg2im.pt", "Where the stripped checkpoint goes (original: no "
                                            "default).", local=True, output=True)
    input_dir: str | None = setting(None, "Strip every .pt file of this folder instead (with output_dir).")
    output_dir: str | None = setting(None, "Folder for the stripped files of input_dir (same names).", output=True)
    keep_discriminators: bool = setting(True, "Keep the discriminators' states and kwargs (1/0).")
    trust_checkpoint: bool = setting(False, "Load with full pickle (only for original checkpoints you trust; not in "
                                     "the original).", new=True)
    track: bool = setting(True, "Attach the stripped file to the training run in MLflow (1/0).", new=True,
                          local=True)

    def check(self) -> None:
        if self.input_dir or self.output_dir:
            if not (self.input_dir and self.output_dir):
                raise ValueError("give both input_dir and output_dir (or neither, with input_checkpoint/"
                                 "output_checkpoint).")
        elif not (self.input_checkpoint and self.output_checkpoint):
            raise ValueError("give input_checkpoint and output_checkpoint.")
