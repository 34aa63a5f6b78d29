"""The networks and optimisers of a run, built from its settings, and the states a start restores."""
from __future__ import annotations

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from sg2im.checkpoint import strip_state_prefix
from sg2im.config.train import RunConfig, TrainConfig
from sg2im.errors import ParamsError
from sg2im.model import AcCropDiscriminator, PatchDiscriminator, Sg2ImModel, build_generator
from sg2im.training.speed import Precision, check_compile_backend, compiled, to_channels_last
from sg2im.training.start import Start
from sg2im.training.state import RunState, set_rng_state
from sg2im.training.step import Nets, Optims, make_adam


def build_networks(cfg: TrainConfig, vocab: dict, start: Start, device: torch.device) -> tuple[Nets, dict]:
    """G, D_obj and D_img (a discriminator whose weight is 0 is not built) and G's ``model_kwargs``.

    As the original's ``checkpoint_start_from``, a run that starts from (or resumes) a checkpoint builds G
    from the checkpoint's ``model_kwargs`` and loads its weights. Construction order (G, D_obj, D_img) fixes
    the initial weights for a seed."""
    model = Sg2ImModel(vocab, cfg.model)
    d_obj = AcCropDiscriminator(**cfg.discriminators.d_obj_kwargs(vocab)) if cfg.losses.uses_d_obj else None
    d_img = PatchDiscriminator(**cfg.discriminators.d_img_kwargs()) if cfg.losses.uses_d_img else None
    model_kwargs = cfg.model.model_kwargs(vocab)
    if start.checkpoint is not None:
        model_kwargs = dict(start.checkpoint["model_kwargs"])
        if model_kwargs.get("vocab", vocab) != vocab:
            raise ParamsError(f"{cfg.output.checkpoint_start_from or cfg.output.output_dir}: the checkpoint's "
                              f"vocabulary differs from the {cfg.data.dataset} dataset's; use a checkpoint trained "
                              "on the same dataset.")
        model_kwargs["vocab"] = vocab
        model = build_generator(model_kwargs)
        model.load_state_dict(strip_state_prefix(start.checkpoint["model_state"]))
    return Nets(model.to(device), d_obj.to(device) if d_obj else None, d_img.to(device) if d_img else None), model_kwargs


def make_optimizers(nets: Nets, lr: float) -> Optims:
    return Optims(make_adam(nets.model, lr), make_adam(nets.d_obj, lr) if nets.d_obj is not None else None,
                  make_adam(nets.d_img, lr) if nets.d_img is not None else None)


def restore(start: Start, nets: Nets, optims: Optims, cfg: TrainConfig, rank: int, device: torch.device) -> RunState:
    """The run's state: a resumed checkpoint's (weights, optimiser moments, random states, histories) or a
    fresh one (per-rank noise streams after the shared initialisation)."""
    if start.mode != "resume":
        torch.manual_seed(cfg.optim.seed + rank)
        return RunState()
    saved = start.checkpoint
    for name in ("d_obj", "d_img"):
        module = getattr(nets, name)
        if module is not None and saved.get(f"{name}_state") is not None:
            module.load_state_dict(strip_state_prefix(saved[f"{name}_state"]))
    optims.g.load_state_dict(saved["optim_state"])
    if optims.d_obj is not None:
        optims.d_obj.load_state_dict(saved["d_obj_optim_state"])
    if optims.d_img is not None:
        optims.d_img.load_state_dict(saved["d_img_optim_state"])
    state = RunState.from_checkpoint(saved)
    if 0 <= cfg.optim.eval_mode_after <= state.t:
        nets.model.eval()
    set_rng_state(saved["rng_states"][rank], device)
    return state


def wrap_ddp(nets: Nets) -> Nets:
    """Each network in DistributedDataParallel (every rank then holds the same weights after each step)."""
    def wrap(module):
        return DDP(module, find_unused_parameters=True) if module is not None else None
    return Nets(wrap(nets.model), wrap(nets.d_obj), wrap(nets.d_img))


def speed_up(nets: Nets, run: RunConfig, device: torch.device, start: Start) -> tuple[Nets, Precision]:
    """``run``'s speed settings applied: channels-last weights, torch.compile of the three networks (the
    backend checked first), and the precision (with a resumed run's gradient-scaler state)."""
    if run.channels_last:
        to_channels_last(nets.model, nets.d_obj, nets.d_img)
    if run.compile:
        check_compile_backend(run.compile_backend, device)
        nets = Nets(compiled(nets.model, run.compile_backend), compiled(nets.d_obj, run.compile_backend),
                    compiled(nets.d_img, run.compile_backend))
    precision = Precision.build(run.precision, device)
    if start.mode == "resume":
        precision.load_state_dict(start.checkpoint.get("amp_state"))
    return nets, precision
