"""The training loop of the original ``scripts/train.py``, top to bottom: build, then for each iteration
step, record, check and save; then finish.

Per batch (t counted from 1): at t == eval_mode_after (checked before t is incremented) G switches to eval
mode with a fresh Adam; then one step (:func:`sg2im.training.step.train_step`); every ``print_every`` the
losses are recorded; every ``checkpoint_every`` and at the end the model is checked on train and val and
both checkpoint files are written. The loop stops at exactly t == num_iterations (the original overshot to
the end of an epoch). Under torchrun every rank runs this loop on its shard of each epoch
(DistributedDataParallel); rank 0 alone checks, records and writes files.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

import torch

from sg2im.atomic import remove_stale_temps
from sg2im.checkpoint import atomic_torch_save, complete_pair, save_checkpoint_pair, strip_checkpoint
from sg2im.config.schema import flatten
from sg2im.config.train import TrainConfig
from sg2im.data.batch import SceneGraphBatch
from sg2im.data.build import build_loader, build_vocab_and_datasets
from sg2im.data.unreadable import report as unreadable_report
from sg2im.errors import ParamsError
from sg2im.pipeline import by_dvc, check_reads
from sg2im.progress import progress, say
from sg2im.tracking import Tracker
from sg2im.training import distributed
from sg2im.training.build import build_networks, make_optimizers, restore, speed_up, wrap_ddp
from sg2im.training.check import check_model
from sg2im.training.identity import RunIdentity, current_identity, git_state
from sg2im.training.recorder import Recorder
from sg2im.training.sampler import ResumableDistributedSampler
from sg2im.training.start import Start, decide_start
from sg2im.training.state import PLACEHOLDERS, RunState, rng_state, seed_everything
from sg2im.training.speed import Precision
from sg2im.training.step import (Nets, Optims, Timer, learning_rate_at, make_adam, set_learning_rate,
                                 train_step)


def train(cfg: TrainConfig, datasets: tuple[dict, dict] | None = None,
          on_end: Callable[[Nets], None] | None = None) -> dict:
    """Train G, D_obj and D_img for exactly ``num_iterations``; return the summary (``metrics_json``).
    ``datasets``: ``(vocab, {"train": ..., "val": ...})`` instead of reading the data settings; ``on_end``:
    called on every rank with the trained networks before the processes part (exports, checks)."""
    started = time.time()
    dist = distributed.setup(cfg.run.device)
    seed_everything(cfg.optim.seed)
    if datasets is None:
        check_reads(cfg.data.input_files())
    vocab, data = datasets or build_vocab_and_datasets(cfg.data, cfg.model, ("train", "val"))
    unreadable = unreadable_report(data)  # images that cannot be decoded, skipped (sg2im.data.unreadable)
    if len(data["train"]) == 0:
        raise ParamsError("the training set is empty: check the dataset parameters (paths, whitelists, "
                          "min_objects_per_image).")
    identity = current_identity(cfg, dist.world_size)
    start = distributed.on_main_then_everywhere(lambda: decide_start(cfg, identity, by_dvc()), dist)
    if dist.is_main and start.mode != "resume":
        identity.complete()  # content hashes of the data, recorded with the first checkpoint
    if dist.is_main and start.mode == "resume":
        complete_pair(start.checkpoint, cfg.output.checkpoint_paths[1])  # a kill between a pair's two writes
    nets, model_kwargs = build_networks(cfg, vocab, start, dist.device)
    optims = make_optimizers(nets, cfg.optim.learning_rate)
    state = restore(start, nets, optims, cfg, dist.rank, dist.device)
    nets, precision = speed_up(nets, cfg.run, dist.device, start)
    sampler = ResumableDistributedSampler(data["train"], dist.world_size, dist.rank, shuffle=True,
                                          seed=cfg.optim.seed, batch_size=cfg.optim.batch_size)
    loader = build_loader(data["train"], cfg.optim.batch_size, shuffle=False, num_workers=cfg.data.loader_num_workers,
                          sampler=sampler, seed=cfg.optim.seed, pin_memory=dist.device.type == "cuda")
    nets = wrap_ddp(nets) if dist.distributed else nets
    if dist.is_main:
        say(start.message)
    recorder = Recorder(cfg, open_tracker(cfg, state, start, identity, dist), dist.is_main)
    if dist.distributed:
        recorder.say(f"distributed: {dist.world_size} processes ({'nccl' if dist.device.type == 'cuda' else 'gloo'}), "
                     f"batch {cfg.optim.batch_size} per process, effective batch "
                     f"{dist.world_size * cfg.optim.batch_size}")
    save = SavePoint(cfg, vocab, model_kwargs, identity, data, nets, optims, sampler, recorder, dist, state, precision)
    timer, n = Timer(cfg.output.timing, dist.device), cfg.optim.num_iterations
    session_t, loop_start, saved_t = state.t, time.time(), state.t if start.mode == "resume" else None
    bar = progress(total=n, initial=state.t, enabled=dist.is_main, unit="it", desc="train")
    try:
        for batch in batches(loader, sampler, state, n):
            if state.t == cfg.optim.eval_mode_after:
                recorder.say(f"t = {state.t}: switching the generator to eval mode, with a fresh Adam optimiser")
                nets.model.eval()
                optims.g = make_adam(nets.model, cfg.optim.learning_rate)
            state.t, state.data_batch = state.t + 1, state.data_batch + 1
            set_learning_rate(optims, learning_rate_at(state.t, cfg.optim.learning_rate, n, cfg.optim.lr_decay))
            step = train_step(nets, optims, on_device(batch, dist.device, cfg.run.channels_last), cfg.losses,
                              cfg.discriminators.gan_loss_type, cfg.discriminators.d_clip, timer, precision)
            if step is None:
                state.nan_skipped += 1
                recorder.skipped(state)
            elif state.t % cfg.output.print_every == 0:
                step.g = distributed.mean_over_ranks(step.g, dist.device)
                step.d = distributed.mean_over_ranks(step.d, dist.device)
                state.record_losses(step.g, step.d)
                rate = (state.t - session_t) / max(time.time() - loop_start, 1e-9)
                recorder.losses(state, step, rate, timer.line() if cfg.output.timing else None)
            bar.update(1)
            if state.t % cfg.output.checkpoint_every == 0 or state.t >= n:
                save(state, started)
                saved_t = state.t
        bar.close()
        loop_time = time.time() - loop_start
        if saved_t != state.t:
            save(state, started)
    except BaseException as exc:
        recorder.failed(exc)
        raise
    state.wall_time_s = save.wall_before + time.time() - started
    summary = recorder.finish(state, {**summarize(cfg, state, start, identity, session_t, loop_time, dist.world_size),
                                      "unreadable_images": unreadable},
                              save.stripped_generator() if dist.is_main and recorder.tracker.enabled else None)
    save.cleanup()
    if on_end is not None:
        on_end(nets)
    distributed.cleanup()
    return summary


def on_device(batch: SceneGraphBatch, device: torch.device, channels_last: bool) -> SceneGraphBatch:
    """The batch on ``device`` (asynchronously from pinned memory on CUDA), images channels-last if asked."""
    batch = batch.to(device, non_blocking=device.type == "cuda")
    return replace(batch, imgs=batch.imgs.contiguous(memory_format=torch.channels_last)) if channels_last else batch


def batches(loader, sampler: ResumableDistributedSampler, state: RunState, n: int) -> Iterator:
    """The training batches from the run's position in the data order until t reaches ``n`` (each epoch's
    order depends on (seed, epoch) only, so a resumed run sees the batches an uninterrupted one would)."""
    while state.t < n:
        sampler.set_epoch(state.data_epoch)
        sampler.skip_batches(state.data_batch)
        if state.data_batch == 0:
            state.epoch += 1
        for batch in loader:
            yield batch
            if state.t >= n:
                return
        state.data_epoch, state.data_batch = state.data_epoch + 1, 0


class SavePoint:
    """Check the model on train and val and write both checkpoint files (rank 0); every rank waits."""

    def __init__(self, cfg: TrainConfig, vocab: dict, model_kwargs: dict, identity: RunIdentity, data: dict,
                 nets: Nets, optims: Optims, sampler: ResumableDistributedSampler, recorder: Recorder, dist,
                 state: RunState, precision: Precision):
        self.cfg, self.vocab, self.model_kwargs, self.identity = cfg, vocab, model_kwargs, identity
        self.precision = precision
        self.nets, self.optims, self.sampler, self.recorder, self.dist = nets, optims, sampler, recorder, dist
        self.wall_before = state.wall_time_s  # time spent in earlier sessions of this run
        self.checkpoint: dict | None = None
        self.stripped: Path | None = None
        if dist.is_main:
            remove_stale_temps(cfg.output.output_dir)
            bs, seed = cfg.optim.batch_size, cfg.optim.seed
            self.loaders = {"train": build_loader(data["train"], bs, shuffle=False, num_workers=0, seed=seed),
                            "val": build_loader(data["val"], bs, shuffle=cfg.data.shuffle_val, num_workers=0,
                                                seed=seed + 1)}

    def __call__(self, state: RunState, started: float) -> None:
        rng_states = distributed.gather_objects(rng_state(self.dist.device))
        if self.dist.is_main:
            g = self.nets.weights("model")
            image_idx = self.vocab.get("object_name_to_idx", {}).get("__image__", 0)
            checks = {split: check_model(self.cfg.losses, g, self.loaders[split], self.dist.device,
                                         self.cfg.data.num_val_samples, image_idx) for split in ("train", "val")}
            state.rng_states, state.wall_time_s = rng_states, self.wall_before + time.time() - started
            state.record_checks(checks)
            self.checkpoint = self.checkpoint_dict(state)
            with_model, no_model = self.cfg.output.checkpoint_paths
            save_checkpoint_pair(self.checkpoint, with_model, no_model)
            self.recorder.checked(state, checks, with_model)
        distributed.barrier()

    def checkpoint_dict(self, state: RunState) -> dict:
        """The original's checkpoint keys, the run state, the states of every network and optimiser, identity."""
        raw = {name: self.nets.weights(name) for name in ("model", "d_obj", "d_img")}
        o = self.optims
        disc = self.cfg.discriminators
        return {
            "args": flatten(self.cfg), "vocab": self.vocab, "model_kwargs": self.model_kwargs,
            "d_obj_kwargs": disc.d_obj_kwargs(self.vocab) if raw["d_obj"] is not None else {},
            "d_img_kwargs": disc.d_img_kwargs() if raw["d_img"] is not None else {},
            **PLACEHOLDERS, **state.to_checkpoint(self.sampler.batches_per_epoch(), self.cfg.optim.seed),
            "model_state": raw["model"].state_dict(), "optim_state": o.g.state_dict(),
            "d_obj_state": raw["d_obj"].state_dict() if raw["d_obj"] is not None else None,
            "d_obj_optim_state": o.d_obj.state_dict() if o.d_obj is not None else None,
            "d_img_state": raw["d_img"].state_dict() if raw["d_img"] is not None else None,
            "d_img_optim_state": o.d_img.state_dict() if o.d_img is not None else None,
            "amp_state": self.precision.state_dict(),
            "identity": self.identity.to_dict(), "fingerprint_params": self.identity.params,
            "params_fingerprint": self.identity.digests()["params"],
        }

    def stripped_generator(self) -> Path:
        """The generator alone (for MLflow), next to the checkpoints; removed by :meth:`cleanup`."""
        from sg2im.checkpoint import read_checkpoint

        ck = self.checkpoint or read_checkpoint(self.cfg.output.checkpoint_paths[0])
        path = Path(self.cfg.output.output_dir) / f"{self.cfg.output.checkpoint_name}_stripped.pt"
        atomic_torch_save(strip_checkpoint(ck, keep_discriminators=False), path)
        self.stripped = path
        return path

    def cleanup(self) -> None:
        if self.stripped is not None:
            self.stripped.unlink(missing_ok=True)


def open_tracker(cfg: TrainConfig, state: RunState, start: Start, identity: RunIdentity, dist) -> Tracker:
    """Rank 0's MLflow run: the checkpoint's run on resume, else a new one with every setting as a parameter,
    the run's identity, git state and dataset."""
    if not dist.is_main or not cfg.run.track:
        return Tracker()
    digests, git = identity.digests(), git_state([*identity.code, "params.yaml"])
    params = {**flatten(cfg), "world_size": dist.world_size,
              "effective_batch_size": dist.world_size * cfg.optim.batch_size}
    tags = {"dataset": cfg.data.dataset, "stage": "train", **{f"sg2im.identity.{k}": v for k, v in digests.items()},
            "git.dirty": git["dirty"], "git.diff_sha256": git["diff_sha256"] or ""}
    tracker = Tracker.start(f"train-{time.strftime('%Y%m%d-%H%M%S')}", params=params, tags=tags,
                            run_id=state.mlflow_run_id if start.mode == "resume" else None)
    state.mlflow_run_id = tracker.run_id or state.mlflow_run_id
    if tracker.enabled and not tracker.reopened:
        source = cfg.data.coco_train_image_dir if cfg.data.dataset == "coco" else cfg.data.train_h5
        tracker.log_dataset(f"{cfg.data.dataset} (train)", digests["data"], str(Path(source).parent))
    return tracker


def summarize(cfg: TrainConfig, state: RunState, start: Start, identity: RunIdentity, session_t: int,
              loop_time: float, world_size: int) -> dict:
    """What metrics/train.json holds: the last losses and check, speed, the start mode and the run's identity."""
    h = state.history
    final = {k: v[-1] for k, v in {**h["losses"], **h["d_losses"]}.items() if v}
    iters = state.t - session_t
    return {
        "iterations": state.t, "final_losses": final, "val_avg_iou": state.last("val_iou"),
        "val_avg_iou_no_image": state.last("val_iou_no_image"),
        "val_losses": {k: v[-1] for k, v in h["val_losses"].items() if v}, "nan_skipped": state.nan_skipped,
        "mlflow_run_id": state.mlflow_run_id, "wall_time_s": round(state.wall_time_s, 2),
        "iterations_this_session": iters,
        "iterations_per_s": round(iters / loop_time, 4) if loop_time > 0 and iters else None,
        "world_size": world_size, "effective_batch_size": world_size * cfg.optim.batch_size, "start": start.mode,
        "identity": identity.digests(),
    }


