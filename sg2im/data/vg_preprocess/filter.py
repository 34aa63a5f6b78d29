"""Step 4, filter: each object's name is its first alias-mapped name in the vocabulary, objects without
one or too small are dropped; then images with too few or too many objects or relationships."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sg2im.config.preprocess_vg import VgFilterConfig
from sg2im.data.vg_preprocess.objects import ObjectTable


@dataclass
class KeptObjects:
    """The objects that survive (one row per object of the table) and their vocabulary names."""

    keep: np.ndarray  # (num_objects,) bool
    name_idx: np.ndarray  # (num_objects,) object vocab index, -1 without one
    boxes: np.ndarray  # (num_objects, 4) x, y, w, h
    object_ids: np.ndarray  # (num_objects,)
    image_range: dict

    def slots(self, image_id: int) -> tuple[np.ndarray, dict[int, int]]:
        """Table rows of the image's kept objects and object_id -> slot among them (last wins)."""
        start, end = self.image_range.get(image_id, (0, 0))
        rows = start + np.flatnonzero(self.keep[start:end])
        return rows, dict(zip(self.object_ids[rows].tolist(), range(len(rows))))


def filter_objects(table: ObjectTable, object_names: list[str], min_object_size: int, num_images: int,
                   log: Callable[[str], None]) -> KeptObjects:
    """Name each object by its first alias-mapped name in ``object_names``; drop those without one and
    those with w or h below ``min_object_size`` (vectorised over all objects)."""
    num_objects, num_names = len(table.object_ids), len(table.name_flat)
    lut = np.full(len(table.names.names) + 1, -1, dtype=np.int64)
    for idx, name in enumerate(object_names[1:], start=1):
        lut[table.names.ids[name]] = idx
    flat = lut[np.frombuffer(table.name_flat, dtype=np.int64)] if num_names else np.zeros(0, np.int64)
    ends = np.frombuffer(table.name_ends, dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if num_objects else np.zeros(0, np.int64)
    big = np.iinfo(np.int64).max
    pos = np.where(flat >= 0, np.arange(flat.size), big)
    first = np.full(num_objects, big, dtype=np.int64)
    has_names = ends > starts
    if has_names.any():
        first[has_names] = np.minimum.reduceat(pos, starts[has_names])
    name_idx = np.where(first < big, flat[np.minimum(first, max(flat.size - 1, 0))] if flat.size else -1, -1)
    boxes = np.frombuffer(table.boxes, dtype=np.int64).reshape(-1, 4)
    too_small = (boxes[:, 2] < min_object_size) | (boxes[:, 3] < min_object_size)
    no_name = name_idx < 0
    keep = ~too_small & ~no_name
    log(f"Objects in the {num_images} images: {num_objects}; skipped {int(too_small.sum())} with w or "
        f"h < {min_object_size} px ({int((too_small & no_name).sum())} of them also without a vocab name) and "
        f"{int((no_name & ~too_small).sum())} more without a name in the object vocab; kept {int(keep.sum())}")
    return KeptObjects(keep, name_idx, boxes, np.frombuffer(table.object_ids, dtype=np.int64), table.image_range)


def select_images(image_ids: list[int], kept: KeptObjects, rel_range: dict[int, tuple[int, int]],
                  rel_preds: np.ndarray, f: VgFilterConfig) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], Counter]:
    """The images of one split that pass the per-image filters, with their object rows and in-vocabulary
    relationship rows; and the count of images dropped per reason."""
    stats: Counter = Counter()
    rows_out = []
    for image_id in image_ids:
        if image_id not in kept.image_range:
            stats["missing_from_objects_json"] += 1
            continue
        rows, _ = kept.slots(image_id)
        if len(rows) < f.min_objects_per_image:
            stats["too_few_objects"] += 1
            continue
        if len(rows) > f.max_objects_per_image:
            stats["too_many_objects"] += 1
            continue
        start, end = rel_range.get(image_id, (0, 0))
        rel_rows = start + np.flatnonzero(rel_preds[start:end] >= 0)
        if len(rel_rows) < f.min_relationships_per_image:
            stats["too_few_relationships"] += 1
            continue
        if len(rel_rows) > f.max_relationships_per_image:
            stats["too_many_relationships"] += 1
            continue
        rows_out.append((image_id, rows, rel_rows))
    return rows_out, stats
