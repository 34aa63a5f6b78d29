"""Step 5b, attributes: train counts for the attribute vocabulary, and the attribute lists of kept objects."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from sg2im.data.skips import SkipCounter
from sg2im.data.vg_preprocess.objects import Interner
from sg2im.data.vg_preprocess.stream import image_records


def read_attributes(attributes_json: str | os.PathLike, split_of: dict[int, str], train_ids: set[int],
                    final_objects: dict[int, list[int]], skips: SkipCounter
                    ) -> tuple[Interner, Counter, dict[int, dict[int, tuple[int, ...] | None]]]:
    """(interned attribute strings, their train counts (once per object), per kept image:
    object_id -> its interned attributes (None when the record has none)). The last record of an image wins,
    as the original."""
    attrs, counts = Interner(), Counter()
    image_attrs: dict[int, dict[int, tuple[int, ...] | None]] = {}
    file = Path(attributes_json).name
    for image_id, rec in image_records(attributes_json, split_of, skips, desc="attributes"):
        is_train = image_id in train_ids
        wanted = final_objects.get(image_id)
        wanted_set = set(wanted) if wanted else ()
        per_object: dict[int, tuple[int, ...] | None] = {}
        for entry in rec.get("attributes") or []:
            if not isinstance(entry, dict):
                skips.add("malformed attribute records", f"image {image_id}: {entry}", file)
                continue
            values = entry.get("attributes")
            if values is not None and not isinstance(values, list):
                skips.add("malformed attribute lists", f"image {image_id}: {str(entry)[:60]}", file)
                continue
            wanted_here = entry.get("object_id") in wanted_set
            if not (is_train or wanted_here):
                continue
            ids = tuple(attrs(v) for v in values if isinstance(v, str)) if values is not None else None
            if is_train and ids:
                counts.update(dict.fromkeys(ids, 1))
            if wanted_here:
                per_object[entry["object_id"]] = ids
        if wanted is not None:
            image_attrs[image_id] = per_object
    return attrs, counts, image_attrs
