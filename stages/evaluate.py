"""Stage evaluate: box statistics, object accuracy, crop FID, diversity (and IS/FID with the
user's Inception weights) of a checkpoint on the test split, with predicted and GT layouts.

    python stages/evaluate.py [--checkpoint models/sg2im.pt] [--num_samples 512] [--device cpu]

Writes metrics/evaluate.json (atomically) and logs the same numbers to the MLflow run of the
model it evaluates (the checkpoint's ``mlflow_run_id``).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.params import Param, bool_flag, load_params, optional, run_stage  # noqa: E402

PARAMS = [
    Param("checkpoint", "models/sg2im.pt", "Generator checkpoint to evaluate (full or stripped)."),
    Param("trust_checkpoint", False, "1 = load the checkpoint with pickle (weights_only=False); only for files you trust.",
          type=bool_flag),
    Param("split", "test", "Split to evaluate: test (COCO: the 2,048 filtered val2017 images after the val ones; "
          "VG: test.h5) or val.", choices=("test", "val")),
    Param("num_samples", None, "Evaluate at most this many images of the split (none = all).", type=optional(int)),
    Param("samples_per_layout", 5, "Images generated per scene graph and layout mode (different noise); "
          "diversity needs >= 2. Literature: 5 on COCO, 1 on VG.", type=int),
    Param("model_mode", "eval", "Generator BatchNorm mode while sampling (original sample_images.py --model_mode).",
          choices=("eval", "train")),
    Param("batch_size", 24, "Images per evaluation batch (original sample_images.py).", type=int),
    Param("loader_num_workers", 0, "DataLoader worker processes.", type=int),
    Param("classifier_steps", 2000, "Training steps of the crop classifier (trained once per data/params, cached).",
          type=int),
    Param("classifier_batch_size", 128, "Crops per classifier training step.", type=int),
    Param("classifier_lr", 1e-3, "Adam learning rate of the crop classifier (cosine decay to 0).", type=float),
    Param("classifier_width", 32, "Channels of the classifier's first block (features: 4x this).", type=int),
    Param("classifier_crop_size", 32, "Side of the object crops the classifier sees.", type=int),
    Param("classifier_jitter", 0.1, "Box jitter during classifier training, as a fraction of box size.", type=float),
    Param("classifier_train_images", 5000, "Training images used for the classifier and the class-mean boxes.",
          type=int),
    Param("classifier_cache", "models/crop_classifier.pt", "Cache file of the crop classifier ('' = no cache)."),
    Param("inception_weights", "", "pytorch-fid's pt_inception-2015-12-05-6726825d.pth (placed by you; never "
          "downloaded). Empty = IS/FID not computed."),
    Param("inception_sha256", "", "Expected SHA-256 (or prefix) of inception_weights; empty = 6726825d."),
    Param("inception_splits", 10, "Splits of the Inception Score (mean and std over them).", type=int),
    Param("device", "auto", "auto, cpu, gpu or cuda (gpu/cuda fall back to CPU with a warning).",
          choices=("auto", "cpu", "gpu", "cuda")),
    Param("seed", 0, "Random seed (noise, classifier).", type=int),
    Param("output", "metrics/evaluate.json", "Metrics JSON (DVC metrics)."),
    Param("progress", True, "Show progress bars.", type=bool_flag),
]


def main(argv: list[str] | None = None) -> dict:
    args = load_params("evaluate", PARAMS, argv, description=__doc__.split("\n")[0])
    from sg2im.errors import ParamsError
    from sg2im.atomic import atomic_write_json
    from sg2im.metrics.evaluation import evaluate_checkpoint

    if args.samples_per_layout < 1:
        raise ParamsError("samples_per_layout must be >= 1")
    metrics, extras = evaluate_checkpoint(args)
    path = atomic_write_json(args.output, metrics, indent=2)
    _log_to_mlflow(args, metrics, extras)
    _print_summary(metrics, path)
    return metrics


def _log_to_mlflow(args, metrics: dict, extras: dict) -> None:
    import numpy as np

    from sg2im.metrics.evaluation import flatten_metrics
    from sg2im.tracking import Tracker
    from sg2im.vis import image_grid

    run_id = extras.get("mlflow_run_id")
    params = {f"evaluate.{k}": v for k, v in vars(args).items()}
    tracker = Tracker.start("evaluate", params=None if run_id else params, tags={}, run_id=run_id)
    if not tracker.enabled and run_id:
        print(f"MLflow: the checkpoint's run {run_id} is not in the store; logging to a new 'evaluate' run", flush=True)
        tracker = Tracker.start("evaluate", params=params, tags={"stage": "evaluate", "evaluates_run": run_id})
    if not tracker.enabled:
        return
    # The evaluated run already has its training params; evaluate's go in as tags (params are immutable).
    tracker.set_tags({k: str(v) for k, v in params.items()} if run_id else {})
    tracker.log_metrics(flatten_metrics({k: v for k, v in metrics.items() if k != "protocol"}, "evaluate/"))
    samples = extras.get("samples") or {}
    rows = [samples[k] for k in ("real", "gt_layout", "pred_layout") if k in samples]
    if rows:
        n = min(len(r) for r in rows)
        imgs = np.concatenate([(r[:n].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8) for r in rows])
        tracker.log_image(image_grid(imgs, nrow=n), key="evaluate_samples_real_gt-layout_pred-layout")
    tracker.log_artifact(args.output, artifact_path="evaluate")
    tracker.end()


def _print_summary(m: dict, path) -> None:
    p = m["protocol"]
    b = m["boxes"]["all"]
    acc = m["object_accuracy"]
    print(f"evaluated {p['checkpoint']} on {p['dataset']} {p['split']}: {p['num_images']} images, "
          f"{p['num_objects']} objects, {p['samples_per_layout']} samples/layout, {p['seconds']} s")
    print(f"  boxes      R@0.3 {b['predicted']['R@0.3']}  R@0.5 {b['predicted']['R@0.5']}  mIoU {b['predicted']['mean_iou']}"
          f"  (class-mean baseline: R@0.5 {b['class_mean_baseline']['R@0.5']}, mIoU {b['class_mean_baseline']['mean_iou']})")
    print(f"  object acc real crops {acc['real_crops_ceiling']}  GT layout {acc['gt_layout']}  "
          f"pred layout {acc['pred_layout']}")
    print(f"  crop FID   GT layout {m['crop_fid']['gt_layout']}  pred layout {m['crop_fid']['pred_layout']}")
    print(f"  diversity  {m['diversity']}")
    print(f"  inception  {m['inception'].get('status')}")
    print(f"wrote {path}")


if __name__ == "__main__":
    run_stage(main)
