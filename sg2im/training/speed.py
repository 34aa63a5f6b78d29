"""Speed settings of a run (``train.precision``, ``channels_last``, ``compile``): mixed precision with
per-optimiser gradient scalers, channels-last memory order, and ``torch.compile`` of the three networks.

Autocast covers the networks' forward passes only; every loss is computed in fp32 from outputs cast back
to fp32, so the NaN guard and the GAN losses see the same kind of numbers as an fp32 run.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from sg2im.errors import ParamsError

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Precision:
    """Autocast for the forward passes and, for fp16, one gradient scaler per optimiser (g, d_obj, d_img)."""

    name: str = "fp32"
    device_type: str = "cpu"
    scalers: dict[str, torch.amp.GradScaler] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str, device: torch.device) -> "Precision":
        if name not in DTYPES:
            raise ParamsError(f"train.precision: {name!r} is not one of {', '.join(DTYPES)}")
        if name == "fp16" and device.type == "cpu":
            print("note: precision fp16 on CPU: autocast runs, but CPUs rarely have fast fp16 (bf16 is the usual "
                  "choice on CPU)", flush=True)
        scalers = {k: torch.amp.GradScaler(device.type) for k in ("g", "d_obj", "d_img")} if name == "fp16" else {}
        return cls(name, device.type, scalers)

    def autocast(self) -> AbstractContextManager:
        dtype = DTYPES[self.name]
        return torch.autocast(self.device_type, dtype=dtype) if dtype is not None else nullcontext()

    def update(self, optimizer: torch.optim.Optimizer, loss: Tensor, which: str) -> None:
        """zero_grad, backward and step (scaled for fp16: a step with inf/NaN gradients is skipped)."""
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scalers.get(which)
        if scaler is None:
            loss.backward()
            optimizer.step()
            return
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict:
        return {k: s.state_dict() for k, s in self.scalers.items()}

    def load_state_dict(self, states: dict | None) -> None:
        for k, state in (states or {}).items():
            if k in self.scalers and state:
                self.scalers[k].load_state_dict(state)


def fp32(*tensors: Tensor | None) -> tuple:
    """The tensors as fp32 (None stays None): what the losses are computed from."""
    return tuple(t.float() if t is not None and t.is_floating_point() else t for t in tensors)


def to_channels_last(*modules: nn.Module | None) -> None:
    for module in modules:
        if module is not None:
            module.to(memory_format=torch.channels_last)


def check_compile_backend(backend: str, device: torch.device) -> None:
    """Compile and run a one-line function with ``backend``; a clear error when it cannot (no C++ compiler
    for inductor on CPU, no Triton on GPU, ...)."""
    try:
        probe = torch.compile(lambda x: torch.relu(x) * 2, backend=backend)
        probe(torch.ones(4, device=device))
    except Exception as exc:  # noqa: BLE001 - any failure means the backend is unusable here
        torch._dynamo.reset()
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ParamsError(f"train.compile 1: torch.compile with backend '{backend}' does not work on {device} here "
                          f"({type(exc).__name__}: {first}). Run with --compile 0, or --compile_backend aot_eager "
                          "(no code generation), or install what the backend needs (inductor: a C++ compiler on "
                          "CPU, Triton on CUDA).") from None


def compiled(module: nn.Module | None, backend: str) -> nn.Module | None:
    return torch.compile(module, backend=backend) if module is not None else None
