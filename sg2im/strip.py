"""Strip training checkpoints to what generation needs (the original strip_checkpoint.py), and attach
each stripped file to its training run in MLflow."""
from __future__ import annotations

from pathlib import Path

from sg2im.checkpoint import atomic_torch_save, read_checkpoint, strip_checkpoint
from sg2im.config.strip import StripConfig
from sg2im.errors import ParamsError
from sg2im.tracking import Tracker


def strip_pairs(cfg: StripConfig) -> list[tuple[Path, Path]]:
    """(source, destination) of every checkpoint to strip: one file, or every .pt file of input_dir."""
    if cfg.input_dir:
        sources = sorted(Path(cfg.input_dir).glob("*.pt"))
        if not sources:
            raise ParamsError(f"strip: {cfg.input_dir} holds no .pt files.")
        return [(src, Path(cfg.output_dir) / src.name) for src in sources]
    return [(Path(cfg.input_checkpoint), Path(cfg.output_checkpoint))]


def strip_file(src: Path, dst: Path, keep_discriminators: bool, trust: bool) -> dict:
    stripped = strip_checkpoint(read_checkpoint(src, trust=trust), keep_discriminators=keep_discriminators)
    atomic_torch_save(stripped, dst)
    print(f"{src} -> {dst} ({dst.stat().st_size / 2**20:.1f} MiB; keys: {', '.join(sorted(stripped))})")
    return stripped


def attach_to_run(run_id: str | None, path: Path) -> None:
    """Log the stripped file as an artifact of the checkpoint's training run (a run by hand gets its own)."""
    if not run_id:
        print("note: the checkpoint names no MLflow run; the stripped file is not logged to MLflow.")
        return
    tracker = Tracker.start("strip", tags={"stage": "strip"}, run_id=run_id)
    if tracker.enabled:
        tracker.log_artifact(path, artifact_path="checkpoints")
        tracker.end()
        print(f"MLflow: {path.name} logged to run {tracker.run_id} (artifact checkpoints/{path.name})")


def strip_all(cfg: StripConfig) -> list[dict]:
    out = []
    for src, dst in strip_pairs(cfg):
        stripped = strip_file(src, dst, cfg.keep_discriminators, cfg.trust_checkpoint)
        if cfg.track:
            attach_to_run(stripped.get("mlflow_run_id"), dst)
        out.append(stripped)
    return out
