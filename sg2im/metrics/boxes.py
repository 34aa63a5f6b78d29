"""Box statistics of predicted layouts (paper Table 2) and a graph-blind baseline.

Boxes are ``[x0, y0, x1, y1]`` in [0, 1].  All functions are vectorised over objects.

- ``box_iou``: IoU of each predicted box with its ground-truth box (paired, not all-pairs).
- ``box_recall``: fraction of objects whose IoU reaches a threshold (R@0.3, R@0.5).
- ``per_category_std``: for each category, the standard deviation (population, ``ddof=0``) of
  the box x-position (the box centre ``(x0+x1)/2``) and of the box area over all boxes of that
  category; the table reports the mean over categories with at least ``min_count`` boxes.
- ``class_mean_boxes``: each category's mean training box; predicting it for every object
  ignores the graph entirely, so a recall that does not beat it means nothing was learned.
"""
from __future__ import annotations

import torch
from torch import Tensor


def box_iou(pred: Tensor, gt: Tensor) -> Tensor:
    """IoU of ``pred[i]`` with ``gt[i]`` for every i; shapes (O, 4) -> (O,). Degenerate boxes give 0."""
    pred = pred.float()
    gt = gt.float()
    ix0 = torch.maximum(pred[:, 0], gt[:, 0])
    iy0 = torch.maximum(pred[:, 1], gt[:, 1])
    ix1 = torch.minimum(pred[:, 2], gt[:, 2])
    iy1 = torch.minimum(pred[:, 3], gt[:, 3])
    inter = (ix1 - ix0).clamp(min=0) * (iy1 - iy0).clamp(min=0)
    union = box_area(pred) + box_area(gt) - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def box_area(boxes: Tensor) -> Tensor:
    """Area of each box (O, 4) -> (O,); inverted boxes count as 0."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_recall(iou: Tensor, thresholds: tuple[float, ...] = (0.3, 0.5)) -> dict[str, float]:
    """``{"R@0.3": ..., "R@0.5": ...}``: the fraction of objects with IoU >= t (NaN with no objects)."""
    if iou.numel() == 0:
        return {f"R@{t:g}": float("nan") for t in thresholds}
    return {f"R@{t:g}": float((iou >= t).float().mean()) for t in thresholds}


def per_category_std(boxes: Tensor, objs: Tensor, min_count: int = 2) -> dict[str, float]:
    """Mean over categories of the per-category std of box x-centre (``sigma_x``) and area
    (``sigma_area``); categories with fewer than ``min_count`` boxes are skipped.

    Returns also ``num_categories`` (how many categories entered the mean)."""
    boxes = boxes.double()
    objs = objs.long()
    if objs.numel() == 0:
        return {"sigma_x": float("nan"), "sigma_area": float("nan"), "num_categories": 0}
    _, inverse, counts = torch.unique(objs, return_inverse=True, return_counts=True)
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    area = box_area(boxes)
    result: dict[str, float] = {}
    keep = counts >= min_count
    for name, values in (("sigma_x", x), ("sigma_area", area)):
        std = _grouped_std(values, inverse, counts)
        result[name] = float(std[keep].mean()) if bool(keep.any()) else float("nan")
    result["num_categories"] = int(keep.sum())
    return result


def _grouped_std(values: Tensor, group: Tensor, counts: Tensor) -> Tensor:
    """Population std of ``values`` within each group (groups 0..len(counts)-1)."""
    n = counts.to(values.dtype)
    total = torch.zeros(len(counts), dtype=values.dtype).index_add_(0, group, values)
    mean = total / n
    sq = torch.zeros(len(counts), dtype=values.dtype).index_add_(0, group, (values - mean[group]) ** 2)
    return (sq / n).sqrt()


def class_mean_boxes(boxes: Tensor, objs: Tensor, num_classes: int) -> Tensor:
    """Each category's mean box (num_classes, 4); categories never seen get the overall mean box."""
    boxes = boxes.double()
    objs = objs.long()
    sums = torch.zeros(num_classes, 4, dtype=torch.float64).index_add_(0, objs, boxes)
    counts = torch.bincount(objs, minlength=num_classes).to(torch.float64)
    overall = boxes.mean(0) if len(boxes) else torch.tensor([0.25, 0.25, 0.75, 0.75], dtype=torch.float64)
    means = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], overall[None, :])
    return means.float()


def box_metrics(pred: Tensor, gt: Tensor, objs: Tensor, thresholds: tuple[float, ...] = (0.3, 0.5)) -> dict[str, float]:
    """Recall at each threshold, mean IoU, per-category sigma_x / sigma_area of the *predicted*
    boxes, and the number of objects."""
    iou = box_iou(pred, gt)
    out: dict[str, float] = dict(box_recall(iou, thresholds))
    out["mean_iou"] = float(iou.mean()) if iou.numel() else float("nan")
    stats = per_category_std(pred, objs)
    out["sigma_x"] = stats["sigma_x"]
    out["sigma_area"] = stats["sigma_area"]
    out["num_objects"] = int(iou.numel())
    return out
