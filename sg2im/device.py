"""Which device a stage runs on: the one rule for every stage."""
from __future__ import annotations

import torch

from sg2im.errors import ParamsError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA when available, else the CPU. ``cuda`` / ``gpu`` (the original run_model.py flag): the
    GPU of this process (``local_rank`` under torchrun), or the CPU with a warning when there is none, as the
    original run_model.py did. ``cpu``: the CPU."""
    name = (name or "auto").lower()
    if name not in ("auto", "cpu", "cuda", "gpu"):
        raise ParamsError(f"device must be auto, cpu, gpu or cuda, got {name!r}")
    if name == "cpu" or not torch.cuda.is_available():
        if name in ("cuda", "gpu"):
            print(f"WARNING: device '{name}' asked for but CUDA is not available; falling back to CPU", flush=True)
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())
