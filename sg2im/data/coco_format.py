"""The COCO annotation format at the level of single records, shared by the loader and the validator: the
check that decides whether an annotation is usable, and the original's six geometric predicates."""
from __future__ import annotations

import math
from typing import Any

import torch

COCO_PREDICATES = ["__in_image__", "left of", "right of", "above", "below", "inside", "surrounding"]
_PRED = {name: i for i, name in enumerate(COCO_PREDICATES)}


def valid_segmentation(seg: Any) -> bool:
    if isinstance(seg, list):
        return len(seg) > 0 and all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in seg)
    if isinstance(seg, dict):
        counts, size = seg.get("counts"), seg.get("size")
        return (isinstance(counts, (list, str, bytes)) and len(counts) > 0
                and isinstance(size, list) and len(size) == 2)
    return False


def check_annotation(ann: Any, sizes: dict, names: dict, source: str) -> tuple[str, str] | None:
    """None if the record is usable, else (reason, example)."""
    if not isinstance(ann, dict):
        return "malformed records (not an object)", f"{source}: {str(ann)[:60]}"
    ident = f"{source}: annotation id {ann.get('id')}, image {ann.get('image_id')}"
    bbox = ann.get("bbox")
    if ann.get("image_id") not in sizes:
        return "with an unknown image_id", ident
    if ann.get("category_id") not in names:
        return "with an unknown category_id", ident
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        return "with a malformed bbox", ident
    x, y, w, h = bbox
    width, height = sizes[ann["image_id"]]
    if w <= 0 or h <= 0 or x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
        return "with a box outside its image or of zero size", ident
    if not valid_segmentation(ann.get("segmentation")):
        return "with an empty or malformed segmentation", ident
    return None


def geometric_predicates(s_boxes: torch.Tensor, o_boxes: torch.Tensor, s_centers: torch.Tensor,
                         o_centers: torch.Tensor) -> torch.Tensor:
    """The original's six predicates (indices into :data:`COCO_PREDICATES`) for subject/object
    pairs: ``surrounding`` if the s box strictly contains the o box, else ``inside`` if strictly
    inside, else by theta = atan2(dy, dx) of d = center_s - center_o (image y points down):
    left of (|theta| >= 3pi/4), above [-3pi/4, -pi/4), right of [-pi/4, pi/4), below [pi/4, 3pi/4)."""
    sx0, sy0, sx1, sy1 = s_boxes.unbind(1)
    ox0, oy0, ox1, oy1 = o_boxes.unbind(1)
    d = (s_centers - o_centers).double()
    theta = torch.atan2(d[:, 1], d[:, 0])
    q = math.pi / 4
    pred = torch.full(theta.shape, _PRED["below"], dtype=torch.long)  # [pi/4, 3pi/4)
    pred[(theta >= -q) & (theta < q)] = _PRED["right of"]
    pred[(theta >= -3 * q) & (theta < -q)] = _PRED["above"]
    pred[(theta >= 3 * q) | (theta <= -3 * q)] = _PRED["left of"]
    inside = (sx0 > ox0) & (sx1 < ox1) & (sy0 > oy0) & (sy1 < oy1)
    surrounding = (sx0 < ox0) & (sx1 > ox1) & (sy0 < oy0) & (sy1 > oy1)
    pred[inside] = _PRED["inside"]
    pred[surrounding] = _PRED["surrounding"]
    return pred
