"""Step 2, objects: every object of the kept images in flat arrays, with the train counts of its names."""
from __future__ import annotations

import os
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sg2im.data.skips import SkipCounter
from sg2im.data.vg_preprocess.stream import image_records


class Interner:
    """Strings -> dense int ids (first-seen order)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def __call__(self, name: str) -> int:
        i = self.ids.get(name)
        if i is None:
            i = self.ids[name] = len(self.names)
            self.names.append(name)
        return i


@dataclass
class ObjectTable:
    """All objects of the candidate images, as flat arrays (one row per object)."""

    object_ids: array = field(default_factory=lambda: array("q"))
    boxes: array = field(default_factory=lambda: array("q"))  # x, y, w, h flattened
    name_ends: array = field(default_factory=lambda: array("q"))  # end offset of each object's names
    name_flat: array = field(default_factory=lambda: array("q"))  # interned alias-mapped names
    image_range: dict = field(default_factory=dict)  # image_id -> (start, end) (last record wins)
    names: Interner = field(default_factory=Interner)
    train_counts: Counter = field(default_factory=Counter)  # interned name -> train objects with it


def read_objects(objects_json: str | os.PathLike, split_of: dict[int, str], train_ids: set[int],
                 aliases: dict[str, str], skips: SkipCounter) -> ObjectTable:
    """One streaming pass over ``objects.json``: objects of the images in ``split_of`` (alias-mapped names,
    rounded boxes); each name counted once per train object for the object vocabulary."""
    table = ObjectTable()
    file = Path(objects_json).name
    num_names = 0
    for image_id, rec in image_records(objects_json, split_of, skips, desc="objects"):
        is_train = image_id in train_ids
        start = len(table.object_ids)
        for obj in rec.get("objects") or []:
            try:
                raw = obj["names"] if "names" in obj else [obj["name"]]
                box = (int(round(obj["x"])), int(round(obj["y"])), int(round(obj["w"])), int(round(obj["h"])))
                object_id = int(obj["object_id"])
            except (KeyError, TypeError, ValueError):
                skips.add("malformed objects", f"image {image_id}: {obj}", file)
                continue
            mapped = [table.names(aliases.get(n, n)) for n in raw if isinstance(n, str)]
            table.object_ids.append(object_id)
            table.boxes.extend(box)
            table.name_flat.extend(mapped)
            num_names += len(mapped)
            table.name_ends.append(num_names)
            if is_train:
                table.train_counts.update(dict.fromkeys(mapped, 1))
        table.image_range[image_id] = (start, len(table.object_ids))
    return table
