"""The original ``check_model``: validation losses, average box IoU and sample images at each checkpoint.

As the original it runs under no_grad with the generator in whatever mode training has it in
(train mode, i.e. batch statistics, before ``eval_mode_after``).  Unlike the original it leaves
no trace on training: the BatchNorm running statistics and every RNG are restored afterwards, so
a run's trajectory does not depend on when or how often it is checked (that is what makes a
resumed run identical to an uninterrupted one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch

from sg2im.config.train import LossConfig
from sg2im.data.batch import SceneGraphBatch
from sg2im.metrics.boxes import box_iou
from sg2im.training.losses import generator_losses
from sg2im.vis.images import deprocess_images, image_grid

SAMPLE_KINDS = ("gt_img", "gt_box_gt_mask", "gt_box_pred_mask", "pred_box_pred_mask")


@dataclass
class CheckResult:
    """What one check yields: mean losses, IoU with and without ``__image__``, samples, last batch."""

    losses: dict[str, float]
    avg_iou: float
    avg_iou_no_image: float
    num_images: int
    num_objects: int
    samples: dict[str, torch.Tensor] = field(default_factory=dict)  # kind -> (N, 3, H, W) uint8
    batch_data: dict[str, Any] = field(default_factory=dict)


class _NoTrace:
    """Restore BatchNorm running statistics and all RNG states on exit."""

    def __init__(self, model: torch.nn.Module, device: torch.device):
        self.model, self.device = model, device

    def __enter__(self) -> "_NoTrace":
        self.buffers = {k: v.clone() for k, v in self.model.named_buffers()}
        self.rng = torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])
        self.rng.__enter__()
        import random

        self.py_state = random.getstate()
        self.np_state = np.random.get_state()
        return self

    def __exit__(self, *exc: Any) -> None:
        import random

        with torch.no_grad():
            for k, v in self.model.named_buffers():
                v.copy_(self.buffers[k])
        random.setstate(self.py_state)
        np.random.set_state(self.np_state)
        self.rng.__exit__(*exc)


@torch.no_grad()
def check_model(weights: LossConfig, model: torch.nn.Module, batches: Iterable[SceneGraphBatch], device: torch.device,
                num_samples: int, image_object_idx: int = 0) -> CheckResult:
    """Losses and IoU over the first ``num_samples`` images of ``batches``; samples of the last batch."""
    sums: dict[str, float] = {}
    num_batches = num_images = 0
    iou_sum = iou_count = 0.0
    iou_sum_no_image = iou_count_no_image = 0.0
    last = None
    with _NoTrace(model, device):
        for batch in batches:
            batch = batch.to(device)
            imgs_pred, boxes_pred, masks_pred, rel_scores = model(
                batch.objs, batch.triples, batch.obj_to_img, boxes_gt=batch.boxes, masks_gt=batch.masks)
            losses = generator_losses(weights, batch.imgs, imgs_pred, batch.boxes, boxes_pred, batch.masks,
                                      masks_pred, batch.triples[:, 1], rel_scores)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            num_batches += 1
            iou = box_iou(boxes_pred, batch.boxes)
            real = batch.objs != image_object_idx
            iou_sum += float(iou.sum())
            iou_count += iou.numel()
            iou_sum_no_image += float(iou[real].sum())
            iou_count_no_image += int(real.sum())
            num_images += batch.num_images
            last = (batch, imgs_pred, boxes_pred, masks_pred)
            if num_images >= num_samples:
                break
        if last is None:
            return CheckResult({}, float("nan"), float("nan"), 0, 0)
        samples = _samples(model, *last)
    batch, _, boxes_pred, masks_pred = last
    batch_data = {
        "objs": batch.objs.cpu(), "boxes_gt": batch.boxes.cpu(),
        "masks_gt": batch.masks.cpu() if batch.masks is not None else None,
        "triples": batch.triples.cpu(), "obj_to_img": batch.obj_to_img.cpu(),
        "triple_to_img": batch.triple_to_img.cpu(), "boxes_pred": boxes_pred.cpu(),
        "masks_pred": masks_pred.cpu() if masks_pred is not None else None,
    }
    return CheckResult(
        losses={k: v / num_batches for k, v in sums.items()},
        avg_iou=iou_sum / max(iou_count, 1),
        avg_iou_no_image=iou_sum_no_image / max(iou_count_no_image, 1),
        num_images=num_images, num_objects=int(iou_count), samples=samples, batch_data=batch_data,
    )


def _samples(model: torch.nn.Module, batch: SceneGraphBatch, imgs_pred: torch.Tensor, boxes_pred: torch.Tensor,
             masks_pred: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The original's four sample kinds of the last batch, as uint8 (N, 3, H, W) tensors."""
    # imgs_pred came from the GT layout: GT boxes + GT masks (VG has no GT masks: predicted ones, as the original)
    out = {"gt_img": batch.imgs, "gt_box_gt_mask": imgs_pred}
    out["gt_box_pred_mask"] = model(batch.objs, batch.triples, batch.obj_to_img, boxes_gt=batch.boxes)[0]
    out["pred_box_pred_mask"] = model(batch.objs, batch.triples, batch.obj_to_img)[0]
    return {k: torch.from_numpy(deprocess_images(v)).permute(0, 3, 1, 2).contiguous() for k, v in out.items()}


def sample_grid(samples: dict[str, torch.Tensor], max_images: int = 8) -> np.ndarray:
    """One row per sample kind (gt_img, GT boxes+GT masks, GT boxes+pred masks, pred boxes+pred masks)."""
    rows = []
    n = min(max_images, min(int(v.shape[0]) for v in samples.values()))
    for kind in SAMPLE_KINDS:
        if kind in samples:
            rows.append(samples[kind][:n].permute(0, 2, 3, 1).numpy())
    images = np.concatenate(rows, axis=0)
    return image_grid(images, nrow=n, pad=2)
