"""torchrun / DistributedDataParallel set-up and rank-0 helpers.

Launched plainly (``python stages/train.py``) everything here degrades to a single process:
rank 0 of world size 1, no process group.  Under ``torchrun`` (``WORLD_SIZE`` > 1) a process group
is initialised: gloo on CPU, nccl on CUDA, one device per local rank.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.distributed as dist

from sg2im.device import resolve_device


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: its ranks, the world size and its device."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def die_with_launcher() -> None:
    """Under torchrun each worker runs in a session of its own: if the launcher is killed (``kill -9`` of
    ``dvc repro``), the worker must not train on and write files behind the next run's back. On Linux the
    kernel sends it SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    if not os.environ.get("TORCHELASTIC_RUN_ID") or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() == 1:  # the launcher died before we asked
        os.kill(os.getpid(), signal.SIGKILL)


def setup(device_name: str) -> DistInfo:
    """Initialise the process group when launched by torchrun; return this process's DistInfo."""
    die_with_launcher()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, local_rank=local_rank, world_size=world_size, device=device)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_true(flag: bool, device: torch.device) -> bool:
    """True when ``flag`` holds on every rank (the NaN guard must skip a step on all ranks at once)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item() > 0.5)


def mean_over_ranks(values: Mapping[str, float], device: torch.device) -> dict[str, float]:
    """Average a dict of floats over all ranks (identity in a single process)."""
    if not values or not (dist.is_available() and dist.is_initialized()):
        return dict(values)
    keys = sorted(values)
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    tensor /= dist.get_world_size()
    return {k: float(v) for k, v in zip(keys, tensor.tolist())}


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (a list of one in a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main_then_everywhere(fn, info: DistInfo):
    """``fn()`` on rank 0, its result (or the user-facing error it raised) on every rank: every rank must
    stop when rank 0 refuses to go on."""
    from sg2im.errors import Sg2imError

    result: Any = None
    if info.is_main:
        try:
            result = fn()
        except Sg2imError as exc:
            result = exc
    result = broadcast_object(result)
    if isinstance(result, Exception):
        raise result
    return result


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return module.module if isinstance(module, torch.nn.parallel.DistributedDataParallel) else module
