"""Step 5, relationships: those whose two ends survived, predicates normalised and alias-mapped."""
from __future__ import annotations

import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sg2im.data.skips import SkipCounter
from sg2im.data.vg_preprocess.filter import KeptObjects
from sg2im.data.vg_preprocess.objects import Interner
from sg2im.data.vg_preprocess.stream import image_records


@dataclass
class RelationshipTable:
    """Relationships of the images that can pass the object-count filter (one row each)."""

    ids: array = field(default_factory=lambda: array("q"))
    subjects: array = field(default_factory=lambda: array("q"))  # slots among the image's kept objects
    objects: array = field(default_factory=lambda: array("q"))
    predicates: array = field(default_factory=lambda: array("q"))  # interned predicate names
    image_range: dict = field(default_factory=dict)
    names: Interner = field(default_factory=Interner)
    train_counts: dict = field(default_factory=dict)  # interned predicate -> train relationships (first seen order)

    def vocab_predicates(self, pred_names: list[str]) -> np.ndarray:
        """Each row's predicate as an index into ``pred_names`` (-1 when it is not in the vocabulary)."""
        lut = np.full(len(self.names.names) + 1, -1, dtype=np.int64)
        for idx, name in enumerate(pred_names[1:], start=1):
            lut[self.names.ids[name]] = idx
        return lut[np.frombuffer(self.predicates, dtype=np.int64)] if len(self.ids) else np.zeros(0, np.int64)


def read_relationships(relationships_json: str | os.PathLike, kept: KeptObjects, split_of: dict[int, str],
                       train_ids: set[int], aliases: dict[str, str], min_objects: int, max_objects: int,
                       skips: SkipCounter) -> RelationshipTable:
    """One streaming pass: predicates lowercased, stripped and alias-mapped (for every split, quirk (a) of the
    original fixed); counted on train images; stored for images whose kept objects number min..max."""
    table = RelationshipTable()
    file = Path(relationships_json).name
    for image_id, rec in image_records(relationships_json, split_of, skips, desc="relationships"):
        rows, slot = kept.slots(image_id)
        is_train = image_id in train_ids
        store = min_objects <= len(rows) <= max_objects
        if not (is_train or store):
            continue
        start = len(table.ids)
        for rel in rec.get("relationships") or []:
            try:
                sid, oid = rel["subject"]["object_id"], rel["object"]["object_id"]
                pred, rel_id = rel["predicate"].lower().strip(), int(rel["relationship_id"])
            except (KeyError, TypeError, ValueError, AttributeError):
                skips.add("malformed relationships", f"image {image_id}: {str(rel)[:60]}", file)
                continue
            s, o = slot.get(sid), slot.get(oid)
            if s is None or o is None:
                continue
            pid = table.names(aliases.get(pred, pred))
            if is_train:
                table.train_counts[pid] = table.train_counts.get(pid, 0) + 1
            if store:
                table.ids.append(rel_id)
                table.subjects.append(s)
                table.objects.append(o)
                table.predicates.append(pid)
        if store:
            table.image_range[image_id] = (start, len(table.ids))
    return table
