"""Stage strip: keep only what generation needs from a training checkpoint (original strip_checkpoint.py).

    python stages/strip.py                                   # params.yaml [strip]
    python stages/strip.py --input_checkpoint models/checkpoint_with_model.pt --output_checkpoint models/sg2im.pt
    python stages/strip.py --input_dir models/sweep --output_dir models/stripped

The stripped file holds args, model_kwargs (with the vocab), model_state and the MLflow run id, plus
the discriminators' states and kwargs when keep_discriminators is 1 (the original's default).  It is
written atomically and logged as an artifact of the training run (when the checkpoint names one).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.params import Param, bool_flag, load_params, optional, run_stage  # noqa: E402

PARAMS = [
    Param("input_checkpoint", "models/checkpoint_with_model.pt", "Checkpoint to strip (original: no default).", type=optional(str)),
    Param("output_checkpoint", "models/sg2im.pt", "Where the stripped checkpoint goes (original: no default).", type=optional(str)),
    Param("input_dir", None, "Strip every .pt file of this folder instead (with output_dir).", type=optional(str)),
    Param("output_dir", None, "Folder for the stripped files of input_dir (same names).", type=optional(str)),
    Param("keep_discriminators", True, "Keep the discriminators' states and kwargs (1/0).", type=bool_flag),
    Param("trust_checkpoint", False, "Load with full pickle (only for original checkpoints you trust; not in the original).", type=bool_flag),
]


def strip_file(src: Path, dst: Path, keep_discriminators: bool, trust: bool) -> dict:
    from sg2im.training.checkpoint import atomic_torch_save, load_checkpoint, strip_checkpoint

    stripped = strip_checkpoint(load_checkpoint(src, trust=trust), keep_discriminators=keep_discriminators)
    atomic_torch_save(stripped, dst)
    size = dst.stat().st_size / 2**20
    print(f"{src} -> {dst} ({size:.1f} MiB; keys: {', '.join(sorted(stripped))})")
    return stripped


def log_to_run(run_id: str | None, path: Path) -> None:
    """Attach the stripped file to the training run in MLflow (when the checkpoint names a run)."""
    if not run_id:
        print("note: the checkpoint names no MLflow run; the stripped file is not logged to MLflow.")
        return
    from sg2im.tracking import Tracker

    tracker = Tracker.start(None, run_id=run_id)
    if tracker.enabled:
        tracker.log_artifact(path, artifact_path="checkpoints")
        tracker.end()
        print(f"MLflow: {path.name} logged to run {run_id} (artifact checkpoints/{path.name})")


def main(argv: list[str] | None = None) -> None:
    from sg2im.errors import ParamsError

    args = load_params("strip", PARAMS, argv, description="Strip a training checkpoint down to the models.")
    if args.input_dir or args.output_dir:
        if not (args.input_dir and args.output_dir):
            raise ParamsError("strip: give both input_dir and output_dir (or neither, with input_checkpoint/output_checkpoint).")
        sources = sorted(Path(args.input_dir).glob("*.pt"))
        if not sources:
            raise ParamsError(f"strip: {args.input_dir} holds no .pt files.")
        pairs = [(src, Path(args.output_dir) / src.name) for src in sources]
    else:
        if not (args.input_checkpoint and args.output_checkpoint):
            raise ParamsError("strip: give input_checkpoint and output_checkpoint.")
        pairs = [(Path(args.input_checkpoint), Path(args.output_checkpoint))]
    for src, dst in pairs:
        stripped = strip_file(src, dst, args.keep_discriminators, args.trust_checkpoint)
        log_to_run(stripped.get("mlflow_run_id"), dst)


if __name__ == "__main__":
    run_stage(main)
