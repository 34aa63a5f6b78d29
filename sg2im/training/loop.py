"""One training step and the training loop of the original ``scripts/train.py`` (spec 4.3).

Per batch, t counted from 1:
  1. at t == eval_mode_after (checked before t is incremented): G -> eval mode, fresh G Adam;
  2. G forward with the GT layout (GT boxes, GT masks when the dataset has them);
  3. G losses, each recorded weighted: L1 pixel, box MSE, [mask BCE], [predicate CE], AC loss of
     D_obj on fake crops, GAN losses of D_obj and D_img; total_loss is their sum;
  4. NaN guard: a non-finite total skips every update of this step (counted, logged);
  5. G step (the discriminators' parameters do not require grad meanwhile: same math, less work);
  6. D_obj step on detached fake crops and real crops (separate forwards): GAN + AC(real) + AC(fake);
  7. D_img step on the detached fake image and the real image; WGAN weight clipping when d_clip;
  8. every print_every: log; every checkpoint_every and at the end: check + save.
The loop stops at exactly t == num_iterations (the original overshot to the end of an epoch).

Under torchrun every rank runs this loop on its shard of each epoch (DistributedDataParallel for
G and both discriminators); rank 0 alone validates, logs, tracks and writes files.
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from sg2im.atomic import remove_stale_temps
from sg2im.data.build import build_loader, build_vocab_and_datasets
from sg2im.errors import ParamsError, Sg2imError
from sg2im.model import AcCropDiscriminator, PatchDiscriminator, Sg2ImModel, clip_weights_, get_gan_losses
from sg2im.model import build_generator, strip_state_prefix
from sg2im.tracking import Tracker
from sg2im.training import distributed as dist_utils
from sg2im.training.checkpoint import (checkpoint_paths, fingerprint, fingerprint_params, load_checkpoint,
                                       new_checkpoint, param_differences, rng_state,
                                       save_checkpoint_pair, set_rng_state, strip_checkpoint, atomic_torch_save)
from sg2im.training.history import write_json, write_loss_csv, write_loss_png
from sg2im.training.sampler import ResumableDistributedSampler
from sg2im.training.validate import check_model, generator_losses, sample_grid
from sg2im.vis import save_png


@dataclass
class TrainOutputs:
    """Where the offline views of a run go (relative to the working directory)."""

    metrics_json: Path = Path("metrics/train.json")
    losses_csv: Path = Path("plots/train_losses.csv")
    losses_png: Path = Path("plots/train_losses.png")
    samples_png: Path = Path("plots/train_samples.png")


# --------------------------------------------------------------------------- building blocks
class Timer:
    """Per-component wall time of a step (``timing: 1``), CUDA-synchronised when on a GPU."""

    def __init__(self, enabled: bool, device: torch.device):
        self.enabled, self.device = enabled, device
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times[name] = time.perf_counter() - start

    def line(self) -> str:
        return "timing: " + ", ".join(f"{k} {1000 * v:.1f} ms" for k, v in self.times.items())


def model_kwargs_from(args: Any, vocab: dict) -> dict:
    return {
        "vocab": vocab, "image_size": tuple(args.image_size), "embedding_dim": args.embedding_dim,
        "gconv_dim": args.gconv_dim, "gconv_hidden_dim": args.gconv_hidden_dim, "gconv_pooling": args.gconv_pooling,
        "gconv_num_layers": args.gconv_num_layers, "mlp_normalization": args.mlp_normalization,
        "refinement_dims": tuple(args.refinement_network_dims), "normalization": args.normalization,
        "activation": args.activation, "mask_size": args.mask_size, "layout_noise_dim": args.layout_noise_dim,
        "box_activation": args.box_activation,
    }


def build_models(args: Any, vocab: dict, device: torch.device):
    """G, D_obj (or None), D_img (or None) and their kwargs; a discriminator whose weight is 0 is not built."""
    model_kwargs = model_kwargs_from(args, vocab)
    model = Sg2ImModel(**model_kwargs).to(device)
    d_obj = d_img = None
    d_obj_kwargs: dict = {}
    d_img_kwargs: dict = {}
    if args.discriminator_loss_weight != 0 and args.d_obj_weight != 0:
        d_obj_kwargs = {"vocab": vocab, "arch": args.d_obj_arch, "normalization": args.d_normalization,
                        "activation": args.d_activation, "padding": args.d_padding, "object_size": args.crop_size}
        d_obj = AcCropDiscriminator(**d_obj_kwargs).to(device)
    if args.discriminator_loss_weight != 0 and args.d_img_weight != 0:
        d_img_kwargs = {"arch": args.d_img_arch, "normalization": args.d_normalization,
                        "activation": args.d_activation, "padding": args.d_padding}
        d_img = PatchDiscriminator(**d_img_kwargs).to(device)
    return model, d_obj, d_img, model_kwargs, d_obj_kwargs, d_img_kwargs


def make_adam(module: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam (lr, default betas, no weight decay) with the fused kernel where supported, else foreach."""
    params = list(module.parameters())
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


def set_requires_grad(module: torch.nn.Module | None, flag: bool) -> None:
    if module is not None:
        for p in module.parameters():
            p.requires_grad_(flag)


@dataclass
class Nets:
    """The networks as called in training (DDP-wrapped when distributed) and as plain modules."""

    model: torch.nn.Module
    d_obj: torch.nn.Module | None
    d_img: torch.nn.Module | None

    def raw(self, name: str) -> torch.nn.Module | None:
        module = getattr(self, name)
        return dist_utils.unwrap(module) if module is not None else None


@dataclass
class Optims:
    g: torch.optim.Optimizer
    d_obj: torch.optim.Optimizer | None
    d_img: torch.optim.Optimizer | None


@dataclass
class StepLosses:
    g: dict[str, float] = field(default_factory=dict)
    d: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- one step
def train_step(args: Any, nets: Nets, optims: Optims, batch, gan_g_loss, gan_d_loss, timer: Timer,
               device: torch.device) -> StepLosses | None:
    """One G, D_obj, D_img update on ``batch``; None when the NaN guard skipped it."""
    imgs, objs, boxes, masks = batch.imgs, batch.objs, batch.boxes, batch.masks
    triples, obj_to_img = batch.triples, batch.obj_to_img
    d_obj, d_img = nets.raw("d_obj"), nets.raw("d_img")  # plain modules: no DDP sync in the G step

    set_requires_grad(d_obj, False)
    set_requires_grad(d_img, False)
    with timer("G forward"):
        imgs_pred, boxes_pred, masks_pred, rel_scores = nets.model(objs, triples, obj_to_img,
                                                                   boxes_gt=boxes, masks_gt=masks)
        losses = generator_losses(args, imgs, imgs_pred, boxes, boxes_pred, masks, masks_pred,
                                  triples[:, 1], rel_scores)
    with timer("D forwards for G"):
        if d_obj is not None:
            scores_fake, ac_loss = d_obj(imgs_pred, objs, boxes, obj_to_img)
            losses["ac_loss"] = ac_loss * args.ac_loss_weight
            weight = args.discriminator_loss_weight * args.d_obj_weight
            losses["g_gan_obj_loss"] = gan_g_loss(scores_fake) * weight
        if d_img is not None:
            weight = args.discriminator_loss_weight * args.d_img_weight
            losses["g_gan_img_loss"] = gan_g_loss(d_img(imgs_pred)) * weight
    total_loss = torch.stack([v.reshape(()) for v in losses.values()]).sum()
    out = StepLosses(g={k: v.item() for k, v in losses.items()})
    out.g["total_loss"] = total_loss.item()

    if not dist_utils.all_true(math.isfinite(out.g["total_loss"]), device):
        set_requires_grad(d_obj, True)
        set_requires_grad(d_img, True)
        return None

    with timer("G backward+step"):
        optims.g.zero_grad(set_to_none=True)
        total_loss.backward()
        optims.g.step()
    set_requires_grad(d_obj, True)
    set_requires_grad(d_img, True)

    imgs_fake = imgs_pred.detach()
    if nets.d_obj is not None:
        with timer("D_obj step"):
            scores_fake, ac_loss_fake = nets.d_obj(imgs_fake, objs, boxes, obj_to_img)
            scores_real, ac_loss_real = nets.d_obj(imgs, objs, boxes, obj_to_img)
            d_obj_gan_loss = gan_d_loss(scores_real, scores_fake)
            d_obj_total = d_obj_gan_loss + ac_loss_real + ac_loss_fake
            optims.d_obj.zero_grad(set_to_none=True)
            d_obj_total.backward()
            optims.d_obj.step()
            clip_weights_(d_obj, args.d_clip)
        out.d.update(d_obj_gan_loss=d_obj_gan_loss.item(), d_ac_loss_real=ac_loss_real.item(),
                     d_ac_loss_fake=ac_loss_fake.item())
    if nets.d_img is not None:
        with timer("D_img step"):
            scores_fake = nets.d_img(imgs_fake)
            scores_real = nets.d_img(imgs)
            d_img_gan_loss = gan_d_loss(scores_real, scores_fake)
            optims.d_img.zero_grad(set_to_none=True)
            d_img_gan_loss.backward()
            optims.d_img.step()
            clip_weights_(d_img, args.d_clip)
        out.d["d_img_gan_loss"] = d_img_gan_loss.item()
    return out


# --------------------------------------------------------------------------- start / resume
@dataclass
class Start:
    mode: str  # "fresh", "resume" or "start_from"
    checkpoint: dict | None
    message: str


def decide_start(args: Any, current_fp: dict) -> Start:
    """Fresh run, resume (restore_from_checkpoint), or new run from other weights (checkpoint_start_from).

    A checkpoint written with other parameters is never resumed: run by hand, the run stops and
    says which parameters differ and what to do; run by DVC (``DVC_STAGE`` set: ``dvc repro`` or
    ``dvc exp run -S ...`` found the persisted checkpoint of another parameter set) it starts fresh
    and says so loudly.
    """
    with_model, _ = checkpoint_paths(args.output_dir, args.checkpoint_name)
    own = None
    if args.restore_from_checkpoint and with_model.exists():
        own = load_checkpoint(with_model)
        diffs = param_differences(own.get("fingerprint_params"), current_fp)
        t_saved = int((own.get("counters") or {}).get("t") or 0)
        if not diffs and t_saved > args.num_iterations:
            diffs = [f"num_iterations: the checkpoint is at t={t_saved}, beyond num_iterations={args.num_iterations}"]
        if not diffs:  # also a killed checkpoint_start_from run: its own checkpoint wins
            return Start("resume", own, f"resuming {with_model} at t={t_saved}")
    if args.checkpoint_start_from:
        checkpoint = load_checkpoint(args.checkpoint_start_from)
        note = f" ({with_model} will be overwritten)" if with_model.exists() else ""
        return Start("start_from", checkpoint, f"starting a new run from the weights of {args.checkpoint_start_from}{note}")
    if not args.restore_from_checkpoint:
        note = f" ({with_model} will be overwritten)" if with_model.exists() else ""
        return Start("fresh", None, f"starting a fresh run{note}")
    if own is None:
        return Start("fresh", None, f"no checkpoint at {with_model}: starting a fresh run")
    listing = "\n  ".join(diffs[:20])
    if os.environ.get("DVC_STAGE"):
        # DVC runs the stage because its parameters changed (`dvc repro`, `dvc exp run -S ...`): the persisted
        # checkpoint belongs to another pipeline state (the DVC cache keeps it), so it is replaced, loudly.
        banner = "!" * 78
        who = f"DVC experiment '{os.environ['DVC_EXP_NAME']}'" if os.environ.get("DVC_EXP_NAME") else "dvc repro"
        return Start("fresh", None,
                     f"\n{banner}\n{who}: the persisted checkpoint {with_model} "
                     f"was written with other parameters:\n  {listing}\nSTARTING A FRESH RUN and overwriting it.\n{banner}")
    raise ParamsError(
        f"{with_model} was written by a run with other parameters, so it is not resumed:\n  {listing}\n"
        f"To start a fresh run that overwrites it: set train.restore_from_checkpoint to 0 "
        f"(or --restore_from_checkpoint 0), or delete {with_model}. To continue that run instead, "
        f"put the parameters above back to the checkpoint's values.")


def load_weights(module: torch.nn.Module | None, state: dict | None, what: str) -> None:
    if module is not None and state is not None:
        module.load_state_dict(strip_state_prefix(state))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- the loop
def train(args: Any, outputs: TrainOutputs | None = None, vocab: dict | None = None,
          datasets: dict | None = None) -> dict:
    """Train G, D_obj and D_img for exactly ``args.num_iterations`` iterations; return the summary
    written to ``outputs.metrics_json``."""
    stage_start = time.time()
    outputs = outputs or TrainOutputs()
    info = dist_utils.setup(args.device)
    device, main = info.device, info.is_main
    say = (lambda *a: tqdm.write(" ".join(map(str, a)), file=sys.stdout)) if main else (lambda *a: None)
    if info.distributed:
        say(f"distributed: {info.world_size} processes ({'nccl' if device.type == 'cuda' else 'gloo'}), "
            f"batch {args.batch_size} per process, effective batch {info.world_size * args.batch_size}")
    seed_everything(args.seed)

    # ---- data: one seeded, resumable order per epoch; each rank reads its own shard
    if datasets is None:
        vocab, datasets = build_vocab_and_datasets(args, splits=("train", "val"))
    train_set = datasets["train"]
    if len(train_set) == 0:
        raise ParamsError("the training set is empty: check the dataset parameters (paths, whitelists, min_objects_per_image).")
    sampler = ResumableDistributedSampler(train_set, info.world_size, info.rank, shuffle=True, seed=args.seed,
                                          batch_size=args.batch_size)
    loader = build_loader(train_set, args.batch_size, shuffle=False, num_workers=args.loader_num_workers,
                          sampler=sampler, seed=args.seed)
    image_object_idx = vocab.get("object_name_to_idx", {}).get("__image__", 0)

    # ---- models and optimisers (same init on every rank; DDP also broadcasts rank 0's weights)
    model, d_obj, d_img, model_kwargs, d_obj_kwargs, d_img_kwargs = build_models(args, vocab, device)
    gan_g_loss, gan_d_loss = get_gan_losses(args.gan_loss_type)
    current_fp = fingerprint_params(vars(args), info.world_size)

    start: Start | Exception | None = None
    if main:
        try:
            start = decide_start(args, current_fp)
        except Sg2imError as exc:  # every rank must stop, not only rank 0
            start = exc
    start = dist_utils.broadcast_object(start)
    if isinstance(start, Exception):
        raise start
    say(start.message)
    t, epoch_count, epoch_index, batch_in_epoch, nan_skipped, wall_before = 0, 0, 0, 0, 0, 0.0
    checkpoint = new_checkpoint(vars(args), vocab, model_kwargs, d_obj_kwargs, d_img_kwargs)
    if start.mode in ("start_from", "resume"):
        # As the original's checkpoint_start_from: G is built from the checkpoint's model_kwargs (a resumed
        # start_from run keeps the source's architecture too), then its weights are loaded.
        model_kwargs = dict(start.checkpoint["model_kwargs"])
        if model_kwargs.get("vocab", vocab) != vocab:
            raise ParamsError(f"{args.checkpoint_start_from or args.output_dir}: the checkpoint's vocabulary differs "
                              f"from the {args.dataset} dataset's; use a checkpoint trained on the same dataset.")
        model_kwargs["vocab"] = vocab
        model = build_generator(model_kwargs).to(device)
        load_weights(model, start.checkpoint["model_state"], "model")
        checkpoint["model_kwargs"] = model_kwargs
    optims = Optims(make_adam(model, args.learning_rate),
                    make_adam(d_obj, args.learning_rate) if d_obj is not None else None,
                    make_adam(d_img, args.learning_rate) if d_img is not None else None)
    if start.mode == "resume":
        saved = start.checkpoint
        checkpoint.update({k: v for k, v in saved.items() if k not in ("args",)})
        checkpoint["args"] = vars(args)
        load_weights(d_obj, saved.get("d_obj_state"), "d_obj")
        load_weights(d_img, saved.get("d_img_state"), "d_img")
        optims.g.load_state_dict(saved["optim_state"])
        if optims.d_obj is not None:
            optims.d_obj.load_state_dict(saved["d_obj_optim_state"])
        if optims.d_img is not None:
            optims.d_img.load_state_dict(saved["d_img_optim_state"])
        t = int(saved["counters"]["t"])
        epoch_count = int(saved["counters"]["epoch"])
        position = saved["data_position"]
        epoch_index, batch_in_epoch = int(position["epoch"]), int(position["batch"])
        nan_skipped = int(saved.get("nan_skipped", 0))
        wall_before = float(saved.get("wall_time_s", 0.0))
        if 0 <= args.eval_mode_after <= t:
            model.eval()
        set_rng_state(saved["rng_states"][info.rank], device)
    else:
        torch.manual_seed(args.seed + info.rank)  # per-rank noise streams after the shared init

    if info.distributed:
        model = DDP(model, find_unused_parameters=True)
        d_obj = DDP(d_obj, find_unused_parameters=True) if d_obj is not None else None
        d_img = DDP(d_img, find_unused_parameters=True) if d_img is not None else None  # classifier unused
    nets = Nets(model, d_obj, d_img)
    g_raw = nets.raw("model")

    # ---- tracking (rank 0): one MLflow run per training, reopened on resume
    tracker = Tracker()
    if main:
        params = {**vars(args), "world_size": info.world_size, "effective_batch_size": info.world_size * args.batch_size}
        tags = {"dataset": args.dataset, "stage": "train"}
        run_id = checkpoint.get("mlflow_run_id") if start.mode == "resume" else None
        run_name = f"train-{time.strftime('%Y%m%d-%H%M%S')}"
        tracker = Tracker.start(run_name, params=params, tags=tags, run_id=run_id)
        if run_id and not tracker.enabled and os.environ.get("SG2IM_TRACKING", "1") != "0":
            tracker = Tracker.start(run_name, params=params, tags=tags)
        checkpoint["mlflow_run_id"] = tracker.run_id or checkpoint.get("mlflow_run_id")
        remove_stale_temps(args.output_dir)
        check_loaders = {
            "train": build_loader(train_set, args.batch_size, shuffle=False, num_workers=0, seed=args.seed),
            "val": build_loader(datasets["val"], args.batch_size, shuffle=args.shuffle_val, num_workers=0,
                                seed=args.seed + 1),
        }
    checkpoint["fingerprint_params"] = current_fp
    checkpoint["params_fingerprint"] = fingerprint(current_fp)

    def save_point() -> None:
        """check_model on train and val, then write both checkpoint files (rank 0); all ranks wait."""
        rng_states = dist_utils.gather_objects(rng_state(device))
        if main:
            checks = {split: check_model(args, g_raw, check_loaders[split], device, args.num_val_samples,
                                         image_object_idx) for split in ("train", "val")}
            record_checks(checkpoint, t, checks)
            checkpoint.update(
                counters={"t": t, "epoch": epoch_count},
                model_state=g_raw.state_dict(), optim_state=optims.g.state_dict(),
                d_obj_state=nets.raw("d_obj").state_dict() if d_obj is not None else None,
                d_obj_optim_state=optims.d_obj.state_dict() if optims.d_obj is not None else None,
                d_img_state=nets.raw("d_img").state_dict() if d_img is not None else None,
                d_img_optim_state=optims.d_img.state_dict() if optims.d_img is not None else None,
                rng_states=rng_states, nan_skipped=nan_skipped,
                data_position={"epoch": epoch_index, "batch": batch_in_epoch, "seed": args.seed,
                               "batches_per_epoch": sampler.batches_per_epoch()},
                wall_time_s=wall_before + time.time() - stage_start,
            )
            with_model, _ = save_checkpoint_pair(checkpoint, args.output_dir, args.checkpoint_name)
            val = checks["val"]
            say(f"t = {t}: val avg IoU {val.avg_iou:.4f} (without __image__ {val.avg_iou_no_image:.4f}), "
                f"train avg IoU {checks['train'].avg_iou:.4f}; checkpoint -> {with_model}")
            metrics = {f"val_{k}": v for k, v in val.losses.items()}
            metrics.update(val_avg_iou=val.avg_iou, val_avg_iou_no_image=val.avg_iou_no_image,
                           train_avg_iou=checks["train"].avg_iou, train_avg_iou_no_image=checks["train"].avg_iou_no_image)
            tracker.log_metrics(metrics, step=t)
            for split, check in checks.items():
                if check.samples:
                    grid = sample_grid(check.samples)
                    tracker.log_image(grid, key=f"{split}_samples", step=t)
                    if split == "val":
                        save_png(grid, outputs.samples_png)
            write_loss_csv(outputs.losses_csv, checkpoint["losses_ts"], checkpoint["losses"], checkpoint["d_losses"])
        dist_utils.barrier()

    # ---- the loop (an interrupted or failed run is marked KILLED/FAILED in MLflow)
    try:
        timer = Timer(bool(args.timing), device)
        t_session_start, loop_start, last_saved_t = t, time.time(), None
        if t > 0 and start.mode == "resume":
            last_saved_t = t
        progress = tqdm(total=args.num_iterations, initial=t, disable=not main, unit="it", dynamic_ncols=True,
                        mininterval=1.0, desc="train")
        while t < args.num_iterations:
            sampler.set_epoch(epoch_index)
            sampler.skip_batches(batch_in_epoch)
            if batch_in_epoch == 0:
                epoch_count += 1
            for batch in loader:
                if t == args.eval_mode_after:
                    say(f"t = {t}: switching the generator to eval mode, with a fresh Adam optimiser")
                    model.eval()
                    optims.g = make_adam(model, args.learning_rate)
                t += 1
                batch_in_epoch += 1
                step = train_step(args, nets, optims, batch.to(device), gan_g_loss, gan_d_loss, timer, device)
                if step is None:
                    nan_skipped += 1
                    say(f"WARNING: t = {t}: got a non-finite loss; step skipped (no G or D update), "
                        f"{nan_skipped} skipped so far")
                    tracker.log_metrics({"nan_skipped": nan_skipped}, step=t)
                elif t % args.print_every == 0:
                    g = dist_utils.mean_over_ranks(step.g, device)
                    d = dist_utils.mean_over_ranks(step.d, device)
                    if main:
                        record_losses(checkpoint, t, g, d)
                        say(log_line(t, args.num_iterations, g, d))
                        if args.timing:
                            say(timer.line())
                        rate = (t - t_session_start) / max(time.time() - loop_start, 1e-9)
                        tracker.log_metrics({**{f"train_{k}": v for k, v in {**g, **d}.items()},
                                             "nan_skipped": nan_skipped, "iterations_per_s": rate}, step=t)
                progress.update(1)
                if t % args.checkpoint_every == 0 or t >= args.num_iterations:
                    save_point()
                    last_saved_t = t
                if t >= args.num_iterations:
                    break
            else:
                epoch_index, batch_in_epoch = epoch_index + 1, 0
        progress.close()
        loop_time = time.time() - loop_start
        if last_saved_t != t:
            save_point()
    except BaseException as exc:
        tracker.end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise

    # ---- final outputs (rank 0)
    summary: dict = {}
    if main:
        summary = finish(args, checkpoint, tracker, outputs, t, t - t_session_start, loop_time,
                         wall_before + time.time() - stage_start, info.world_size, nan_skipped, start.mode)
        say(f"done: {t} iterations; metrics -> {outputs.metrics_json}; loss curves -> {outputs.losses_csv}, "
            f"{outputs.losses_png}; checkpoints -> {checkpoint_paths(args.output_dir, args.checkpoint_name)[0]}")
    _write_rank_hash(nets)
    dist_utils.cleanup()
    return summary


# --------------------------------------------------------------------------- history and outputs
def record_losses(checkpoint: dict, t: int, g: dict[str, float], d: dict[str, float]) -> None:
    checkpoint["losses_ts"].append(t)
    for name, value in g.items():
        checkpoint["losses"].setdefault(name, []).append(value)
    for name, value in d.items():
        checkpoint["d_losses"].setdefault(name, []).append(value)


def record_checks(checkpoint: dict, t: int, checks: dict) -> None:
    checkpoint["checkpoint_ts"].append(t)
    train, val = checks["train"], checks["val"]
    checkpoint["train_batch_data"].append(train.batch_data)
    checkpoint["train_samples"].append(train.samples)
    checkpoint["train_iou"].append(train.avg_iou)
    checkpoint["val_batch_data"].append(val.batch_data)
    checkpoint["val_samples"].append(val.samples)
    checkpoint["val_iou"].append(val.avg_iou)
    checkpoint["val_iou_no_image"].append(val.avg_iou_no_image)
    for name, value in val.losses.items():
        checkpoint["val_losses"].setdefault(name, []).append(value)


def log_line(t: int, total: int, g: dict[str, float], d: dict[str, float]) -> str:
    parts = [f"t = {t} / {total}"]
    parts += [f"G [{k}]: {v:.4f}" for k, v in g.items()]
    parts += [f"D [{k}]: {v:.4f}" for k, v in d.items()]
    return ", ".join(parts)


def finish(args: Any, checkpoint: dict, tracker: Tracker, outputs: TrainOutputs, t: int, session_iters: int,
           loop_time: float, wall_time: float, world_size: int, nan_skipped: int, mode: str) -> dict:
    """Loss curves, metrics JSON, stripped generator as an MLflow artifact, run end."""
    write_loss_csv(outputs.losses_csv, checkpoint["losses_ts"], checkpoint["losses"], checkpoint["d_losses"])
    write_loss_png(outputs.losses_png, checkpoint["losses_ts"], checkpoint["losses"], checkpoint["d_losses"])
    final_losses = {name: values[-1] for name, values in {**checkpoint["losses"], **checkpoint["d_losses"]}.items() if values}
    summary = {
        "iterations": t,
        "final_losses": final_losses,
        "val_avg_iou": checkpoint["val_iou"][-1] if checkpoint["val_iou"] else None,
        "val_avg_iou_no_image": checkpoint["val_iou_no_image"][-1] if checkpoint["val_iou_no_image"] else None,
        "val_losses": {k: v[-1] for k, v in checkpoint["val_losses"].items() if v},
        "nan_skipped": nan_skipped,
        "mlflow_run_id": checkpoint.get("mlflow_run_id"),
        "wall_time_s": round(wall_time, 2),
        "iterations_this_session": session_iters,
        "iterations_per_s": round(session_iters / loop_time, 4) if loop_time > 0 and session_iters else None,
        "world_size": world_size,
        "effective_batch_size": world_size * args.batch_size,
        "start": mode,
    }
    write_json(outputs.metrics_json, summary)
    if tracker.enabled:
        with_model, _ = checkpoint_paths(args.output_dir, args.checkpoint_name)
        stripped = Path(args.output_dir) / f"{args.checkpoint_name}_stripped.pt"
        atomic_torch_save(strip_checkpoint(checkpoint, keep_discriminators=False), stripped)
        tracker.log_artifact(stripped, artifact_path="checkpoints")
        stripped.unlink(missing_ok=True)
        for path in (outputs.losses_csv, outputs.losses_png, outputs.metrics_json):
            tracker.log_artifact(path, artifact_path="train")
        tracker.log_metrics({"final_val_avg_iou": summary["val_avg_iou"] or float("nan"),
                             "final_iterations_per_s": summary["iterations_per_s"] or float("nan")}, step=t)
        tracker.end()
    return summary


def _write_rank_hash(nets: Nets) -> None:
    """Test hook: with SG2IM_TEST_RANK_HASH_DIR set, each rank writes the sum and a hash of its weights."""
    folder = os.environ.get("SG2IM_TEST_RANK_HASH_DIR")
    if not folder:
        return
    import hashlib

    digest = hashlib.sha256()
    total = 0.0
    for name in ("model", "d_obj", "d_img"):
        module = nets.raw(name)
        if module is None:
            continue
        for key, p in sorted(module.named_parameters()):
            data = p.detach().cpu().contiguous()
            digest.update(key.encode())
            digest.update(data.numpy().tobytes())
            total += float(data.double().sum())
    rank = int(os.environ.get("RANK", "0"))
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"rank{rank}.txt").write_text(f"{digest.hexdigest()} {total!r}\n")
