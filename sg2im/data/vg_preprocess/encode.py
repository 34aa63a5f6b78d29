"""Step 6, encode: one split's images as the original's padded int arrays (-1 padding)."""
from __future__ import annotations

import numpy as np

from sg2im.data.vg_preprocess.filter import KeptObjects
from sg2im.data.vg_preprocess.relationships import RelationshipTable


def encode_split(rows_out: list[tuple[int, np.ndarray, np.ndarray]], kept: KeptObjects, rels: RelationshipTable,
                 rel_preds: np.ndarray, max_objects: int, max_relationships: int) -> dict[str, np.ndarray]:
    """Objects (ids, names, boxes) and relationships (ids, subject/object slots, predicates) per image."""
    n, max_o, max_r = len(rows_out), max_objects, max_relationships
    arrays = {
        "image_ids": np.array([r[0] for r in rows_out], dtype=np.int64),
        "object_ids": np.full((n, max_o), -1, np.int64), "object_names": np.full((n, max_o), -1, np.int64),
        "object_boxes": np.full((n, max_o, 4), -1, np.int64), "objects_per_image": np.zeros(n, np.int64),
        "relationship_ids": np.full((n, max_r), -1, np.int64),
        "relationship_subjects": np.full((n, max_r), -1, np.int64),
        "relationship_predicates": np.full((n, max_r), -1, np.int64),
        "relationship_objects": np.full((n, max_r), -1, np.int64),
        "relationships_per_image": np.zeros(n, np.int64),
    }
    rel_ids = np.frombuffer(rels.ids, dtype=np.int64)
    rel_subs = np.frombuffer(rels.subjects, dtype=np.int64)
    rel_objs = np.frombuffer(rels.objects, dtype=np.int64)
    for i, (_, rows, rel_rows) in enumerate(rows_out):
        k, r = len(rows), len(rel_rows)
        arrays["object_ids"][i, :k] = kept.object_ids[rows]
        arrays["object_names"][i, :k] = kept.name_idx[rows]
        arrays["object_boxes"][i, :k] = kept.boxes[rows]
        arrays["objects_per_image"][i] = k
        arrays["relationship_ids"][i, :r] = rel_ids[rel_rows]
        arrays["relationship_subjects"][i, :r] = rel_subs[rel_rows]
        arrays["relationship_predicates"][i, :r] = rel_preds[rel_rows]
        arrays["relationship_objects"][i, :r] = rel_objs[rel_rows]
        arrays["relationships_per_image"][i] = r
    return arrays


def encode_attributes(arrays: dict[str, np.ndarray], final_objects: dict[int, list[int]],
                      image_attrs: dict[int, dict[int, tuple[int, ...] | None]], attr_lut: dict[int, int],
                      max_objects: int, max_attributes: int) -> None:
    """Add ``attributes_per_object`` (n, max_objects) and ``object_attributes`` (objects, max_attributes) to a
    split's arrays (0 attributes for an object with no record, -1 padding)."""
    n = len(arrays["image_ids"])
    total = int(arrays["objects_per_image"].sum())
    object_attributes = np.full((total, max_attributes), -1, np.int64)
    attributes_per_object = np.full((n, max_objects), -1, np.int64)
    row = 0
    for i, image_id in enumerate(arrays["image_ids"].tolist()):
        per_object = image_attrs.get(image_id, {})
        for k, object_id in enumerate(final_objects[image_id]):
            ids = per_object.get(object_id)
            if ids is None:
                attributes_per_object[i, k] = 0
            else:
                mapped = [attr_lut[a] for a in ids if a in attr_lut][:max_attributes]
                object_attributes[row, :len(mapped)] = mapped
                attributes_per_object[i, k] = len(mapped)
            row += 1
    arrays["attributes_per_object"] = attributes_per_object
    arrays["object_attributes"] = object_attributes
