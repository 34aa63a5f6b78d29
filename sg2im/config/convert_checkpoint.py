"""Settings of convert_checkpoint: any original sg2im checkpoint into the weights-only format."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import setting


@dataclass(frozen=True)
class ConvertCheckpointConfig:
    HOME = None

    input: str = setting("", "The original checkpoint (a pickle from the original code).", new=True, local=True)
    output: str = setting("", "Where the converted checkpoint goes (loads with weights_only=True).", new=True,
                          local=True, output=True)
    trust_checkpoint: bool = setting(False, "1 = you trust the input: reading a pickle runs code from the file.",
                                     new=True)

