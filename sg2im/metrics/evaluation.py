"""The evaluation protocol: a checkpoint on a split, with predicted and with ground-truth layouts.

For every test image (up to ``num_samples``), the generator (BatchNorm in ``model_mode``, eval by
default as the original ``sample_images.py``) produces ``samples_per_layout`` images

- from the *predicted* layout (graph only: predicted boxes and masks), and
- from the *ground-truth* layout (GT boxes, plus GT masks where the dataset has them).

Generated images are evaluated as they would be saved: ImageNet de-normalised, each image's
min..max stretched to 0..255 and rounded to uint8 (the original ``imagenet_deprocess_batch``).
Real images are the dataset's (de-normalised, no stretching).  ``__image__`` objects are left out
of every object-level metric.

Reported (see README "Evaluation"): box recall R@0.3 / R@0.5, mean IoU, per-category sigma_x /
sigma_area, each beside the graph-blind class-mean-box baseline, overall and for COCO things;
object accuracy of the in-repo crop classifier (ceiling on real crops; GT layout cropped at GT
boxes; predicted layout cropped at predicted boxes); crop FID in the classifier's feature space;
pixel diversity; Inception Score / FID only with a user-supplied weights file.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sg2im.config.evaluate import EvaluateConfig
from sg2im.config.schema import flatten, plain
from sg2im.config.train import TrainConfig
from sg2im.device import resolve_device
from sg2im.errors import DataError
from sg2im.imagenet import normalize, real_pixels, saved_pixels
from sg2im.metrics.boxes import box_metrics, class_mean_boxes, per_category_std
from sg2im.metrics.classifier import (classify_crops, load_cached_classifier, save_classifier,
                                      train_crop_classifier)
from sg2im.metrics.diversity import DiversityAccumulator
from sg2im.metrics.fid import frechet_distance_from_features
from sg2im.metrics.inception import NOT_COMPUTED, inception_score, load_inception
from sg2im.progress import progress
from sg2im.scene_graph import vocab_index_map

MODES = ("pred_layout", "gt_layout")
COCO_MAX_THING_ID = 90  # COCO category ids 1..90 are things (instances), 92..182 stuff, 183 other


# --------------------------------------------------------------------------- helpers
def thing_mask_for(vocab: dict, dataset: str) -> Tensor | None:
    """Boolean (num_object_classes,) marking COCO things (category ids 1..90); None for VG."""
    if dataset != "coco":
        return None
    n = len(vocab["object_idx_to_name"])
    mask = torch.zeros(n, dtype=torch.bool)
    mask[1:min(n, COCO_MAX_THING_ID + 1)] = True
    names = vocab["object_idx_to_name"]
    for i in range(1, min(n, COCO_MAX_THING_ID + 1)):
        if names[i] in ("NONE", "__image__"):
            mask[i] = False
    return mask


def _vocab_signature(vocab: dict) -> tuple:
    return (tuple(vocab["object_idx_to_name"]), tuple(vocab["pred_idx_to_name"]))


def to_model_indices(batch, index_map: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
    """The batch's objects and triples in the model's vocabulary (unchanged when the vocabularies agree)."""
    if index_map is None:
        return batch.objs, batch.triples
    objs_map, preds_map = (m.to(batch.objs.device) for m in index_map)
    triples = batch.triples.clone()
    triples[:, 1] = preds_map[triples[:, 1]]
    return objs_map[batch.objs], triples


def _data_settings(train: TrainConfig) -> dict:
    """The settings that shape the data the classifier and the baseline learn from."""
    skip = {"loader_num_workers", "cache_dir", "shuffle_val"}
    data = {k: plain(v) for k, v in flatten(train.data).items() if k not in skip}
    return {**data, "image_size": plain(train.model.size), "mask_size": train.model.mask_size}


def _file_fingerprint(settings: dict) -> dict:
    """Size of every existing file named by the data settings (a cheap change detector)."""
    return {key: os.path.getsize(value) for key, value in settings.items()
            if isinstance(value, str) and value and os.path.isfile(value)}


def classifier_cache_key(train: TrainConfig, vocab: dict, settings: dict) -> str:
    data = _data_settings(train)
    blob = json.dumps({"data": data, "files": _file_fingerprint(data), "vocab": _vocab_signature(vocab),
                       "classifier": settings, "version": 2}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _subset(dataset, n: int | None):
    if n is None or n >= len(dataset):
        return dataset
    return torch.utils.data.Subset(dataset, range(int(n)))


def _accuracy(pred: Tensor, target: Tensor) -> float:
    return float((pred == target).float().mean()) if target.numel() else float("nan")


def _fid(real: Tensor, fake: Tensor) -> float:
    if len(real) < 2 or len(fake) < 2:
        return float("nan")
    return frechet_distance_from_features(real.double().numpy(), fake.double().numpy())


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, tensors/numpy -> Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    return value


# --------------------------------------------------------------------------- classifier
def collect_training_objects(dataset, max_images: int, image_idx: int, batch_size: int,
                             show_progress: bool = True) -> dict[str, Tensor]:
    """Images (float16), real objects' classes, boxes and image index from the first
    ``max_images`` images of ``dataset``."""
    from sg2im.data.build import build_loader

    subset = _subset(dataset, max_images)
    loader = build_loader(subset, batch_size=batch_size, shuffle=False, num_workers=0)
    imgs, objs, boxes, obj_to_img = [], [], [], []
    seen = 0
    for batch in progress(loader, desc="classifier data (train split)", unit="batch", enabled=show_progress, leave=False):
        keep = batch.objs != image_idx
        imgs.append(batch.imgs.half())
        objs.append(batch.objs[keep])
        boxes.append(batch.boxes[keep])
        obj_to_img.append(batch.obj_to_img[keep] + seen)
        seen += batch.num_images
    if not imgs:
        raise DataError("the training split is empty: the crop classifier needs real training images")
    return {"imgs": torch.cat(imgs), "objs": torch.cat(objs), "boxes": torch.cat(boxes),
            "obj_to_img": torch.cat(obj_to_img)}


def get_classifier(args: EvaluateConfig, train: TrainConfig, vocab: dict, train_dataset_fn, device: torch.device,
                   image_idx: int):
    """The crop classifier and class-mean boxes: from the cache when its key matches, else trained
    now (and cached).  Returns (classifier, class_mean_boxes (C, 4), info dict)."""
    settings = {"crop_size": args.classifier.classifier_crop_size, "steps": args.classifier.classifier_steps,
                "batch_size": args.classifier.classifier_batch_size, "lr": args.classifier.classifier_lr, "width": args.classifier.classifier_width,
                "jitter": args.classifier.classifier_jitter, "train_images": args.classifier.classifier_train_images, "seed": args.seed}
    key = classifier_cache_key(train, vocab, settings)
    cache = Path(args.classifier.classifier_cache) if args.classifier.classifier_cache else None
    if cache is not None:
        hit = load_cached_classifier(cache, key)
        if hit is not None:
            model, data = hit
            print(f"crop classifier: reusing {cache} (key {key})", flush=True)
            info = dict(json.loads(data.get("info", "{}")), cached=True, cache_file=str(cache), key=key)
            return model.to(device), data["class_mean_boxes"], info
    train_data = collect_training_objects(train_dataset_fn(), args.classifier.classifier_train_images, image_idx,
                                          args.batch_size, args.progress)
    num_classes = len(vocab["object_idx_to_name"])
    print(f"crop classifier: training {args.classifier.classifier_steps} steps on {len(train_data['objs'])} real crops "
          f"from {len(train_data['imgs'])} training images", flush=True)
    model, info = train_crop_classifier(
        train_data["imgs"], train_data["objs"], train_data["boxes"], train_data["obj_to_img"], num_classes,
        crop_size=args.classifier.classifier_crop_size, steps=args.classifier.classifier_steps, batch_size=args.classifier.classifier_batch_size,
        lr=args.classifier.classifier_lr, width=args.classifier.classifier_width, jitter=args.classifier.classifier_jitter, seed=args.seed,
        device=device, progress=args.progress)
    means = class_mean_boxes(train_data["boxes"], train_data["objs"], num_classes)
    info.update(cached=False, key=key)
    if cache is not None:
        save_classifier(cache, model.cpu(), key, {"class_mean_boxes": means, "info": json.dumps(info)})
        model.to(device)
        info["cache_file"] = str(cache)
        print(f"crop classifier: saved to {cache}", flush=True)
    return model, means, info


# --------------------------------------------------------------------------- main loop
class _Collector:
    """Accumulates per-object and per-image results over batches (kept on CPU)."""

    def __init__(self) -> None:
        self.lists: dict[str, list[Tensor]] = {}

    def add(self, name: str, value: Tensor) -> None:
        self.lists.setdefault(name, []).append(value.detach().cpu())

    def cat(self, name: str) -> Tensor:
        return torch.cat(self.lists[name]) if name in self.lists else torch.zeros(0)


def evaluate_checkpoint(args: EvaluateConfig) -> tuple[dict, dict]:
    """Run the protocol. Returns (metrics dict for the JSON, extras: sample grids, run id)."""
    from sg2im.data.build import build_loader, build_vocab_and_datasets
    from sg2im.data.unreadable import report as unreadable_report
    from sg2im.model import load_generator
    from sg2im.model.layout import crop_bbox_batch
    from sg2im.pipeline import check_reads

    start = time.perf_counter()
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    inception = None  # checked first: a wrong weights file fails before any long work
    inception_info: dict[str, Any] = {"status": NOT_COMPUTED}
    if args.inception.inception_weights:
        inception, inception_info = load_inception(args.inception.inception_weights, args.inception.inception_sha256 or None, device)
        inception_info["status"] = "computed"
    model, ckpt = load_generator(args.checkpoint, device, trust_checkpoint=args.trust_checkpoint)
    # the data as the checkpoint's training read it, at the size of the generator as built (model_kwargs)
    train = replace(TrainConfig.from_checkpoint_args(ckpt.get("args"), str(args.checkpoint)), model=model.config)
    if args.model_mode == "train":
        model.train()
    vocab = model.vocab
    dataset_name = train.data.dataset
    check_reads(train.data.files_for((args.split, "train")))
    data_vocab, dsets = build_vocab_and_datasets(train.data, train.model, splits=(args.split,))
    unreadable = unreadable_report(dsets)  # images that cannot be decoded, skipped (sg2im.data.unreadable)
    # the data's indices, mapped by name onto the model's vocabulary where the two differ (a released model)
    index_map = vocab_index_map(data_vocab, vocab, f"checkpoint {args.checkpoint}")
    vocab = data_vocab  # labels, classes and the class-mean boxes are the data's
    image_idx = int(vocab["object_name_to_idx"]["__image__"])

    def train_dataset():
        return build_vocab_and_datasets(train.data, train.model, splits=("train",))[1]["train"]

    classifier, mean_boxes, clf_info = get_classifier(args, train, vocab, train_dataset, device, image_idx)
    things = thing_mask_for(vocab, dataset_name)

    torch.manual_seed(args.seed)  # the same noise whether or not the classifier came from the cache
    test = _subset(dsets[args.split], args.num_samples)
    loader = build_loader(test, batch_size=args.batch_size, shuffle=False, num_workers=args.loader_num_workers,
                          seed=args.seed)
    K = int(args.samples_per_layout)
    crop = int(args.classifier.classifier_crop_size)
    col = _Collector()
    diversity = {mode: DiversityAccumulator() for mode in MODES}
    uses_gt_masks = None
    sample_grid: dict[str, Tensor] = {}
    num_images = 0
    with torch.no_grad():
        for batch in progress(loader, desc=f"evaluate ({args.split})", unit="batch", enabled=args.progress):
            batch = batch.to(device)
            g_objs, g_triples = to_model_indices(batch, index_map)
            real = batch.objs != image_idx
            o2i = batch.obj_to_img
            masks_gt = batch.masks.float() if (batch.masks is not None and model.mask_size) else None
            uses_gt_masks = masks_gt is not None
            objs_real = batch.objs[real]
            col.add("objs", objs_real)
            col.add("boxes_gt", batch.boxes[real])
            real_px = real_pixels(batch.imgs)
            preds, feats = classify_crops(classifier, crop_bbox_batch(normalize(real_px), batch.boxes[real], o2i[real], crop))
            col.add("real/pred", preds)
            col.add("real/feat", feats)
            if inception is not None:
                pool, logits = inception(real_px)
                col.add("real/pool", pool)
                col.add("real/logits", logits)
            for mode in MODES:
                per_sample, per_sample_feats = [], []
                for k in range(K):
                    if mode == "pred_layout":
                        imgs, boxes_pred, _, _ = model(g_objs, g_triples, o2i)
                        boxes = boxes_pred
                        if k == 0:
                            col.add("boxes_pred", boxes_pred[real])
                    else:
                        imgs, _, _, _ = model(g_objs, g_triples, o2i, boxes_gt=batch.boxes, masks_gt=masks_gt)
                        boxes = batch.boxes
                    px = saved_pixels(imgs)
                    per_sample.append(px)
                    preds, feats = classify_crops(classifier, crop_bbox_batch(normalize(px), boxes[real], o2i[real], crop))
                    col.add(f"{mode}/pred", preds)
                    col.add(f"{mode}/feat", feats)
                    per_sample_feats.append(feats)
                    col.add(f"{mode}/target", objs_real)
                    if inception is not None:
                        pool, logits = inception(px)
                        col.add(f"{mode}/pool", pool)
                        col.add(f"{mode}/logits", logits)
                if K >= 2:
                    diversity[mode].update(torch.stack(per_sample, 1).cpu())
                    diversity[mode].update_features(torch.stack(per_sample_feats, 1))
                if mode not in sample_grid:
                    sample_grid[mode] = per_sample[0][:8].cpu()
            if "real" not in sample_grid:
                sample_grid["real"] = real_px[:8].cpu()
            num_images += batch.num_images
    if num_images == 0:
        raise DataError(f"the {args.split} split is empty; nothing to evaluate")

    objs = col.cat("objs").long()
    boxes_gt, boxes_pred = col.cat("boxes_gt"), col.cat("boxes_pred")
    baseline = mean_boxes[objs]
    thing_obj = things[objs] if things is not None else None

    def box_block(select: Tensor | None) -> dict:
        sel = slice(None) if select is None else select
        return {"predicted": box_metrics(boxes_pred[sel], boxes_gt[sel], objs[sel]),
                "class_mean_baseline": box_metrics(baseline[sel], boxes_gt[sel], objs[sel]),
                "ground_truth_sigma": {k: v for k, v in per_category_std(boxes_gt[sel], objs[sel]).items()}}

    boxes_out = {"all": box_block(None)}
    if thing_obj is not None:
        boxes_out["things"] = box_block(thing_obj)

    acc: dict[str, Any] = {}
    fid: dict[str, Any] = {}
    real_pred, real_feat = col.cat("real/pred"), col.cat("real/feat")
    acc["real_crops_ceiling"] = _accuracy(real_pred, objs)
    for mode in MODES:
        pred, target = col.cat(f"{mode}/pred"), col.cat(f"{mode}/target").long()
        acc[mode] = _accuracy(pred, target)
        fid[mode] = _fid(real_feat, col.cat(f"{mode}/feat"))
    if thing_obj is not None:
        acc["things"] = {"real_crops_ceiling": _accuracy(real_pred[thing_obj], objs[thing_obj])}
        for mode in MODES:
            pred, target = col.cat(f"{mode}/pred"), col.cat(f"{mode}/target").long()
            t = things[target]
            acc["things"][mode] = _accuracy(pred[t], target[t])

    inception_out: dict[str, Any] = dict(inception_info)
    if inception is not None:
        real_pool = col.cat("real/pool")
        is_mean, is_std = inception_score(col.cat("real/logits"), args.inception.inception_splits)
        inception_out["real"] = {"IS_mean": is_mean, "IS_std": is_std}
        for mode in MODES:
            is_mean, is_std = inception_score(col.cat(f"{mode}/logits"), args.inception.inception_splits)
            inception_out[mode] = {"IS_mean": is_mean, "IS_std": is_std,
                                   "FID": _fid(real_pool, col.cat(f"{mode}/pool"))}

    metrics = {
        "protocol": {
            "checkpoint": str(args.checkpoint),
            "dataset": dataset_name,
            "split": args.split,
            "num_images": num_images,
            "num_objects": int(objs.numel()),
            "unreadable_images": unreadable,
            "samples_per_layout": K,
            "image_size": list(model.image_size),
            "generator_batchnorm_mode": args.model_mode,
            "gt_layout": ("GT boxes + GT masks" if uses_gt_masks else "GT boxes + predicted masks") if model.mask_size
            else "GT boxes (the model has no mask head: box layout)",
            "pixels": "generated images as saved (per-image min-max stretch, uint8); real images de-normalised",
            "objects": "__image__ excluded; things = COCO category ids 1..90" if things is not None
            else "__image__ excluded; no thing/stuff split for this dataset",
            "class_mean_baseline": f"mean training box per class over the first {clf_info.get('train_images', args.classifier.classifier_train_images)} training images",
            "sigma": "per-category population std of box x-centre and area, mean over categories with >= 2 boxes",
            "diversity": "mean pairwise per-pixel L1 and RMS (L2) distance in [0,1] between samples of the same graph; "
                         "crop_feature_l2: mean pairwise Euclidean distance of the classifier features of an object's crops",
            "crop_fid": f"Frechet distance of {classifier.feature_dim}-d crop-classifier features, real test crops at GT boxes vs generated crops",
            "seed": args.seed,
            "seconds": None,
        },
        "classifier": {"architecture": f"CropClassifier(width={classifier.width}), {crop}x{crop} crops, trained from scratch on real training crops",
                       **{k: v for k, v in clf_info.items() if k not in ("crop_size",)}},
        "boxes": boxes_out,
        "object_accuracy": acc,
        "crop_fid": fid,
        "diversity": {mode: diversity[mode].result() for mode in MODES} if K >= 2
        else "not computed: samples_per_layout < 2",
        "inception": inception_out,
    }
    metrics["protocol"]["seconds"] = round(time.perf_counter() - start, 1)
    extras = {"samples": sample_grid, "mlflow_run_id": ckpt.get("mlflow_run_id"), "checkpoint_args": ckpt.get("args")}
    return _clean(metrics), extras
