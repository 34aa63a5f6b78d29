"""Visual Genome JSON -> ``{split}.h5`` + ``vocab.json`` with the original cleaning heuristics
(``scripts/preprocess_vg.py`` of sg2im, spec section 2.2), streaming and memory-lean.

Steps, in the original order: (1) drop images with min(height, width) < ``min_image_size``;
(2) object vocab from train images (alias-mapped names, each counted once per object,
``>= min_object_instances``, by descending frequency, ``__image__`` first); (3) attribute vocab
from train images (raw strings, ``>= min_attribute_instances``); (4) each object's name is the
first alias-mapped name in the vocab, objects without one or with ``w`` or ``h`` below
``min_object_size`` are dropped; (5) predicate vocab from train relationships whose two ends
survived (``lower().strip()`` then alias-mapped, ``>= min_relationship_instances``, in
first-encounter order, ``__in_image__`` first); (6) per split: images with
``min..max_objects_per_image`` objects and ``min..max_relationships_per_image`` in-vocab
relationships, padded to the max with -1, int32; (7) HDF5 + vocab.json.

Fixed or changed on purpose (README "Datasets"):
- predicates are lowercased, stripped and alias-mapped for **all** splits (quirk (a): the
  original did it for train only, so val/test relationships with e.g. "ON" were dropped);
- no ``scipy.misc`` import (quirk (d)); stats say what was dropped and why (quirk (c));
- the four big JSON files are streamed record by record (a few hundred MB of RAM for the full
  VG instead of tens of GB); objects are kept per image (the original keyed them by object id
  across all images, so a duplicated object id could borrow another image's box);
- tie order of equally frequent names is deterministic (first encounter; the original iterated
  a ``set`` of names, which depends on PYTHONHASHSEED);
- malformed records are skipped and counted in one warning per file; split ids missing from
  ``image_data.json`` are skipped with a note (the original raised KeyError);
- ``splits_json: auto`` gives a deterministic 80/10/10 split by a hash of the image id (for
  synthetic data, whose ids are not VG's).
"""
from __future__ import annotations

import codecs
import hashlib
import json
import os
import posixpath
import re
import tempfile
import warnings
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import h5py
import numpy as np
from tqdm import tqdm

from sg2im.atomic import atomic_write_json
from sg2im.errors import DataError, DataWarning

_WS = re.compile(r"[ \t\n\r]*")
AUTO_SPLITS = "auto"
AUTO_SPLIT_FRACTIONS = {"train": 8, "val": 1, "test": 1}  # tenths, by md5(image id) % 10



# --------------------------------------------------------------------------- streaming JSON
def iter_json_array(path: str | os.PathLike, desc: str | None = None, chunk_size: int = 1 << 23) -> Iterator[Any]:
    """Yield the elements of a top-level JSON array one at a time, reading ``chunk_size`` bytes at
    a time (memory is one chunk plus one element).  A truncated or invalid file raises
    :class:`DataError` naming the file, the element number and the byte offset."""
    path = Path(path)
    try:
        total = path.stat().st_size
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: not found. Run the download_vg stage or fix the path parameter.") from None
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buf, pos, eof, index, consumed = "", 0, False, 0, 0
    bar = tqdm(total=total, desc=desc or path.name, unit="B", unit_scale=True, mininterval=2.0,
               disable=total < (64 << 20))

    def more() -> bool:
        nonlocal buf, pos, eof, consumed
        data = fh.read(chunk_size)
        bar.update(len(data))
        if not data:
            eof = True
            buf = buf[pos:] + utf8.decode(b"", final=True)
        else:
            buf = buf[pos:] + utf8.decode(data)
        consumed += pos
        pos = 0
        return not eof

    def fail(msg: str) -> DataError:
        return DataError(f"{path}: {msg} at element {index} (byte ~{consumed + pos} of {total}). "
                         "The file is truncated or not a JSON list; re-download it.")

    with fh, bar:
        while True:  # the opening bracket
            pos = _WS.match(buf, pos).end()
            if pos < len(buf) or not more():
                break
        if pos >= len(buf) or buf[pos] != "[":
            raise fail("expected a JSON list '['")
        pos += 1
        expect_value = True
        while True:
            pos = _WS.match(buf, pos).end()
            if pos >= len(buf):
                if more():
                    continue
                raise fail("unexpected end of file")
            ch = buf[pos]
            if ch == "]":
                if expect_value and index:
                    raise fail("trailing ',' before ']'")
                return
            if not expect_value:
                if ch != ",":
                    raise fail(f"expected ',' or ']' but found {ch!r}")
                pos += 1
                expect_value = True
                continue
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    if end == len(buf) and not eof:  # a number may continue in the next chunk
                        raise json.JSONDecodeError("incomplete", buf, end)
                    break
                except json.JSONDecodeError as exc:
                    if eof:
                        raise fail(f"invalid JSON ({exc.msg})") from None
                    more()
            pos = end
            index += 1
            expect_value = False
            yield value


# --------------------------------------------------------------------------- small helpers
def load_aliases(path: str | os.PathLike) -> dict[str, str]:
    """Each comma-separated line maps every (stripped) entry to the line's first entry."""
    aliases: dict[str, str] = {}
    try:
        with open(path, "r") as f:
            for line in f:
                names = [s.strip() for s in line.split(",")]
                for name in names:
                    aliases[name] = names[0]
    except FileNotFoundError:
        raise DataError(f"{path}: alias file not found. Run the download_vg stage or fix the path parameter.") from None
    return aliases


def auto_split(image_id: int) -> str:
    """Deterministic split of an image id: md5(str(id)) mod 10 -> 0-7 train, 8 val, 9 test."""
    bucket = int(hashlib.md5(str(image_id).encode()).hexdigest(), 16) % 10
    return "train" if bucket < 8 else ("val" if bucket == 8 else "test")


def image_path_from_url(url: str) -> str:
    """``.../VG_100K/2345.jpg`` -> ``VG_100K/2345.jpg`` (the original's stored path)."""
    base, filename = posixpath.split(url)
    return posixpath.join(posixpath.basename(base), filename)


class _Skips:
    """Counted skips of malformed records, one warning per file at the end."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.examples: dict[tuple[str, str], str] = {}

    def add(self, file: str, reason: str, example: Any) -> None:
        self.counts[file][reason] += 1
        self.examples.setdefault((file, reason), str(example)[:80])

    def warn(self) -> None:
        for file, counts in self.counts.items():
            parts = "; ".join(f"{n} {r} (e.g. {self.examples[(file, r)]})" for r, n in counts.most_common())
            warnings.warn(f"{file}: skipped {sum(counts.values())} annotations: {parts}", DataWarning, stacklevel=2)

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


class _Interner:
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
class _Objects:
    """All objects of the candidate images, as flat arrays (one row per object)."""

    object_ids: array = field(default_factory=lambda: array("q"))
    boxes: array = field(default_factory=lambda: array("q"))  # x, y, w, h flattened
    name_ends: array = field(default_factory=lambda: array("q"))  # end offset of each object's names
    name_flat: array = field(default_factory=lambda: array("q"))  # interned alias-mapped names
    image_range: dict = field(default_factory=dict)  # image_id -> (start, end) (last record wins)


def _vocab_from_counts(counter: Counter, names: list[str], minimum: int, first: list[str]) -> list[str]:
    return first + [names[i] for i, c in counter.most_common() if c >= minimum]


def load_splits(splits_json: str | os.PathLike, image_ids: Iterable[int]) -> dict[str, list[int]]:
    """``{split: [image ids]}`` from a splits file (every id it lists), or, for ``"auto"``, the
    deterministic hash split of ``image_ids`` (in their order)."""
    if str(splits_json) == AUTO_SPLITS:
        splits: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for image_id in image_ids:
            splits[auto_split(image_id)].append(image_id)
        return splits
    try:
        with open(splits_json, "r") as f:
            return {str(k): [int(i) for i in v] for k, v in json.load(f).items()}
    except FileNotFoundError:
        raise DataError(f"{splits_json}: splits file not found (use 'auto' for a hash split).") from None
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise DataError(f"{splits_json}: expected {{split: [image ids]}} ({exc}).") from None


# --------------------------------------------------------------------------- main
def preprocess_vg(args: Any, log=print) -> dict[str, Any]:
    """Run the whole preprocessing with the original flags in ``args`` (see stages/preprocess_vg.py).

    Writes ``{output_h5_dir}/{split}.h5`` for every split and ``output_vocab_json`` atomically;
    returns a summary dict (per-split image/object/relationship counts, vocab sizes, skips).
    """
    skips = _Skips()
    summary: dict[str, Any] = {}

    # ---- images and splits
    log(f'Loading image info from "{args.images_json}"')
    image_info: dict[int, tuple[int, int, str]] = {}
    for rec in iter_json_array(args.images_json):
        try:
            image_id = rec["image_id"] if "image_id" in rec else rec["id"]  # VG 1.0 called it "id"
            image_info[int(image_id)] = (int(rec["width"]), int(rec["height"]), image_path_from_url(str(rec["url"])))
        except (KeyError, TypeError, ValueError):
            skips.add(Path(args.images_json).name, "malformed image records", rec)
    splits = load_splits(args.splits_json, image_info)
    if str(args.splits_json) == AUTO_SPLITS:
        log(f"Split the {len(image_info)} images deterministically by md5(image id) (80/10/10): "
            + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
        if len(image_info) > 100_000:
            log("note: this looks like the full official Visual Genome; the paper's split is "
                "splits_json: sg2im/data/vg_splits.json")
    if args.train_split not in splits:
        raise DataError(f"{args.splits_json}: no split named train_split='{args.train_split}' (has {list(splits)}).")

    split_of: dict[int, str] = {}
    for name, ids in splits.items():
        missing = [i for i in ids if i not in image_info]
        kept = []
        too_small = 0
        for image_id in ids:
            info = image_info.get(image_id)
            if info is None:
                continue
            if min(info[0], info[1]) < args.min_image_size:
                too_small += 1
                continue
            kept.append(image_id)
            split_of[image_id] = name
        splits[name] = kept
        log(f'Removed {too_small} images from split "{name}" for being too small (< {args.min_image_size} px)'
            + (f"; {len(missing)} ids of the split are not in image_data.json (ignored)" if missing else ""))
    train_ids = {i for i in splits[args.train_split]}

    obj_aliases = load_aliases(args.object_aliases)
    rel_aliases = load_aliases(args.relationship_aliases)

    # ---- objects: one streaming pass; object vocab counts from train images
    log(f'Loading objects from "{args.objects_json}"')
    objs = _Objects()
    names = _Interner()
    name_counter: Counter = Counter()
    obj_file = Path(args.objects_json).name
    num_names = 0
    for rec in iter_json_array(args.objects_json, desc="objects"):
        image_id = rec.get("image_id") if isinstance(rec, dict) else None
        if image_id not in split_of:
            if not isinstance(rec, dict) or not isinstance(image_id, int):
                skips.add(obj_file, "malformed image records", rec)
            continue
        is_train = image_id in train_ids
        start = len(objs.object_ids)
        for obj in rec.get("objects") or []:
            try:
                raw = obj["names"] if "names" in obj else [obj["name"]]
                box = (int(round(obj["x"])), int(round(obj["y"])), int(round(obj["w"])), int(round(obj["h"])))
                object_id = int(obj["object_id"])
            except (KeyError, TypeError, ValueError):
                skips.add(obj_file, "malformed objects", f"image {image_id}: {obj}")
                continue
            mapped = [names(obj_aliases.get(n, n)) for n in raw if isinstance(n, str)]
            objs.object_ids.append(object_id)
            objs.boxes.extend(box)
            objs.name_flat.extend(mapped)
            num_names += len(mapped)
            objs.name_ends.append(num_names)
            if is_train:
                name_counter.update(dict.fromkeys(mapped, 1))
        objs.image_range[image_id] = (start, len(objs.object_ids))

    object_names = _vocab_from_counts(name_counter, names.names, args.min_object_instances, ["__image__"])
    log(f"Found {len(object_names)} object categories with >= {args.min_object_instances} training instances")
    vocab: dict[str, Any] = {"object_name_to_idx": {n: i for i, n in enumerate(object_names)},
                             "object_idx_to_name": object_names}
    del name_counter

    # ---- object filtering (vectorised): first alias-mapped name in the vocab; size
    num_objects = len(objs.object_ids)
    lut = np.full(len(names.names) + 1, -1, dtype=np.int64)
    for idx, name in enumerate(object_names[1:], start=1):
        lut[names.ids[name]] = idx
    flat = lut[np.frombuffer(objs.name_flat, dtype=np.int64)] if num_names else np.zeros(0, np.int64)
    ends = np.frombuffer(objs.name_ends, dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if num_objects else np.zeros(0, np.int64)
    big = np.iinfo(np.int64).max
    pos = np.where(flat >= 0, np.arange(flat.size), big)
    first = np.full(num_objects, big, dtype=np.int64)
    has_names = ends > starts
    if has_names.any():
        first[has_names] = np.minimum.reduceat(pos, starts[has_names])
    name_idx = np.where(first < big, flat[np.minimum(first, max(flat.size - 1, 0))] if flat.size else -1, -1)
    boxes = np.frombuffer(objs.boxes, dtype=np.int64).reshape(-1, 4)
    object_ids = np.frombuffer(objs.object_ids, dtype=np.int64)
    too_small = (boxes[:, 2] < args.min_object_size) | (boxes[:, 3] < args.min_object_size)
    no_name = name_idx < 0
    keep = ~too_small & ~no_name
    log(f"Objects in the {len(split_of)} images: {num_objects}; skipped {int(too_small.sum())} with w or h < "
        f"{args.min_object_size} px ({int((too_small & no_name).sum())} of them also without a vocab name) and "
        f"{int((no_name & ~too_small).sum())} more without a name in the object vocab; kept {int(keep.sum())}")
    summary["objects_kept"] = int(keep.sum())
    del objs.name_flat, objs.name_ends, flat, pos, first, ends, starts

    def kept_slots(image_id: int) -> tuple[np.ndarray, dict[int, int]]:
        """Global row numbers of the image's kept objects and object_id -> slot (last wins)."""
        start, end = objs.image_range.get(image_id, (0, 0))
        rows = start + np.flatnonzero(keep[start:end])
        return rows, dict(zip(object_ids[rows].tolist(), range(len(rows))))

    # ---- relationships: predicate vocab counts (train) and storage for images with enough objects
    log(f'Loading relationships from "{args.relationships_json}"')
    preds = _Interner()
    pred_counter: dict[int, int] = {}
    rel_file = Path(args.relationships_json).name
    rel_store = {"ids": array("q"), "subs": array("q"), "objs": array("q"), "preds": array("q")}
    rel_range: dict[int, tuple[int, int]] = {}
    min_o, max_o = args.min_objects_per_image, args.max_objects_per_image
    for rec in iter_json_array(args.relationships_json, desc="relationships"):
        image_id = rec.get("image_id") if isinstance(rec, dict) else None
        if image_id not in split_of:
            if not isinstance(rec, dict) or not isinstance(image_id, int):
                skips.add(rel_file, "malformed image records", rec)
            continue
        rows, slot = kept_slots(image_id)
        is_train = image_id in train_ids
        store = min_o <= len(rows) <= max_o
        if not (is_train or store):
            continue
        start = len(rel_store["ids"])
        for rel in rec.get("relationships") or []:
            try:
                sid, oid = rel["subject"]["object_id"], rel["object"]["object_id"]
                pred, rel_id = rel["predicate"], int(rel["relationship_id"])
                pred = pred.lower().strip()
            except (KeyError, TypeError, ValueError, AttributeError):
                skips.add(rel_file, "malformed relationships", f"image {image_id}: {str(rel)[:60]}")
                continue
            s, o = slot.get(sid), slot.get(oid)
            if s is None or o is None:
                continue
            pid = preds(rel_aliases.get(pred, pred))
            if is_train:
                pred_counter[pid] = pred_counter.get(pid, 0) + 1
            if store:
                rel_store["ids"].append(rel_id)
                rel_store["subs"].append(s)
                rel_store["objs"].append(o)
                rel_store["preds"].append(pid)
        if store:
            rel_range[image_id] = (start, len(rel_store["ids"]))

    pred_names = ["__in_image__"] + [preds.names[p] for p, c in pred_counter.items() if c >= args.min_relationship_instances]
    log(f"Found {len(pred_names)} relationship types with >= {args.min_relationship_instances} training instances")
    vocab["pred_name_to_idx"] = {n: i for i, n in enumerate(pred_names)}
    vocab["pred_idx_to_name"] = pred_names
    pred_lut = np.full(len(preds.names) + 1, -1, dtype=np.int64)
    for idx, name in enumerate(pred_names[1:], start=1):
        pred_lut[preds.ids[name]] = idx
    rel_ids = np.frombuffer(rel_store["ids"], dtype=np.int64)
    rel_subs = np.frombuffer(rel_store["subs"], dtype=np.int64)
    rel_objs = np.frombuffer(rel_store["objs"], dtype=np.int64)
    rel_preds = pred_lut[np.frombuffer(rel_store["preds"], dtype=np.int64)] if len(rel_ids) else np.zeros(0, np.int64)

    # ---- encode objects and relationships per split
    max_r = args.max_relationships_per_image
    encoded: dict[str, dict[str, Any]] = {}
    final_objects: dict[int, list[int]] = {}  # kept image id -> its object ids (for attributes)
    for split, image_ids in splits.items():
        stats: Counter = Counter()
        rows_out: list[tuple[int, np.ndarray, np.ndarray]] = []
        for image_id in image_ids:
            if image_id not in objs.image_range:
                stats["missing_from_objects_json"] += 1
                continue
            rows, _ = kept_slots(image_id)
            if len(rows) < min_o:
                stats["too_few_objects"] += 1
                continue
            if len(rows) > max_o:
                stats["too_many_objects"] += 1
                continue
            start, end = rel_range.get(image_id, (0, 0))
            rel_rows = start + np.flatnonzero(rel_preds[start:end] >= 0)
            if len(rel_rows) < args.min_relationships_per_image:
                stats["too_few_relationships"] += 1
                continue
            if len(rel_rows) > max_r:
                stats["too_many_relationships"] += 1
                continue
            rows_out.append((image_id, rows, rel_rows))
            final_objects[image_id] = object_ids[rows].tolist()
        n = len(rows_out)
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
        for i, (_, rows, rel_rows) in enumerate(rows_out):
            k, r = len(rows), len(rel_rows)
            arrays["object_ids"][i, :k] = object_ids[rows]
            arrays["object_names"][i, :k] = name_idx[rows]
            arrays["object_boxes"][i, :k] = boxes[rows]
            arrays["objects_per_image"][i] = k
            arrays["relationship_ids"][i, :r] = rel_ids[rel_rows]
            arrays["relationship_subjects"][i, :r] = rel_subs[rel_rows]
            arrays["relationship_predicates"][i, :r] = rel_preds[rel_rows]
            arrays["relationship_objects"][i, :r] = rel_objs[rel_rows]
            arrays["relationships_per_image"][i] = r
        log(f'Skip stats for split "{split}": ' + (", ".join(f"{k} {v}" for k, v in stats.items()) or "none")
            + f"; kept {n} images")
        encoded[split] = arrays
    del rel_store, rel_range, rel_ids, rel_subs, rel_objs, rel_preds

    # ---- attributes: vocab counts (train) and per-object lists of the kept objects
    log(f'Loading attributes from "{args.attributes_json}"')
    attrs = _Interner()
    attr_counter: Counter = Counter()
    attr_file = Path(args.attributes_json).name
    image_attrs: dict[int, dict[int, tuple[int, ...] | None]] = {}
    for rec in iter_json_array(args.attributes_json, desc="attributes"):
        image_id = rec.get("image_id") if isinstance(rec, dict) else None
        if image_id not in split_of:
            if not isinstance(rec, dict) or not isinstance(image_id, int):
                skips.add(attr_file, "malformed image records", rec)
            continue
        is_train = image_id in train_ids
        wanted = final_objects.get(image_id)
        wanted_set = set(wanted) if wanted else ()
        per_object: dict[int, tuple[int, ...] | None] = {}
        for entry in rec.get("attributes") or []:
            if not isinstance(entry, dict):
                skips.add(attr_file, "malformed attribute records", f"image {image_id}: {entry}")
                continue
            values = entry.get("attributes")
            if values is not None and not isinstance(values, list):
                skips.add(attr_file, "malformed attribute lists", f"image {image_id}: {str(entry)[:60]}")
                continue
            wanted_here = entry.get("object_id") in wanted_set
            if not (is_train or wanted_here):
                continue
            ids = tuple(attrs(v) for v in values if isinstance(v, str)) if values is not None else None
            if is_train and ids:
                attr_counter.update(dict.fromkeys(ids, 1))
            if wanted_here:
                per_object[entry["object_id"]] = ids
        if wanted is not None:
            image_attrs[image_id] = per_object  # last record of an image wins, as the original

    attribute_names = _vocab_from_counts(attr_counter, attrs.names, args.min_attribute_instances, [])
    log(f"Found {len(attribute_names)} attribute categories with >= {args.min_attribute_instances} training instances")
    vocab["attribute_name_to_idx"] = {n: i for i, n in enumerate(attribute_names)}
    vocab["attribute_idx_to_name"] = attribute_names
    attr_lut = {attrs.ids[n]: i for i, n in enumerate(attribute_names)}
    max_a = args.max_attributes_per_image
    for split, arrays in encoded.items():
        n = len(arrays["image_ids"])
        total = int(arrays["objects_per_image"].sum())
        object_attributes = np.full((total, max_a), -1, np.int64)
        attributes_per_object = np.full((n, max_o), -1, np.int64)
        row = 0
        for i, image_id in enumerate(arrays["image_ids"].tolist()):
            per_object = image_attrs.get(image_id, {})
            for k, object_id in enumerate(final_objects[image_id]):
                ids = per_object.get(object_id)
                if ids is None:
                    attributes_per_object[i, k] = 0
                else:
                    mapped = [attr_lut[a] for a in ids if a in attr_lut][:max_a]
                    object_attributes[row, :len(mapped)] = mapped
                    attributes_per_object[i, k] = len(mapped)
                row += 1
        arrays["attributes_per_object"] = attributes_per_object
        arrays["object_attributes"] = object_attributes

    # ---- write
    out_dir = Path(args.output_h5_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, arrays in encoded.items():
        paths = [image_info[i][2] for i in arrays["image_ids"].tolist()]
        h5_path = out_dir / f"{split}.h5"
        write_h5(h5_path, arrays, paths)
        n = len(paths)
        num_o, num_r = int(arrays["objects_per_image"].sum()), int(arrays["relationships_per_image"].sum())
        log(f'Wrote "{h5_path}": {n} images, {num_o} objects ({num_o / max(n, 1):.1f} per image), '
            f"{num_r} relationships ({num_r / max(n, 1):.1f} per image)")
        summary[split] = {"images": n, "objects": num_o, "relationships": num_r}
    order = ("object_name_to_idx", "object_idx_to_name", "attribute_name_to_idx", "attribute_idx_to_name",
             "pred_name_to_idx", "pred_idx_to_name")  # the original's key order
    atomic_write_json(Path(args.output_vocab_json), {k: vocab[k] for k in order})
    log(f'Wrote vocab to "{args.output_vocab_json}": {len(object_names)} objects (incl. __image__), '
        f"{len(pred_names)} predicates (incl. __in_image__), {len(attribute_names)} attributes")
    summary.update(num_objects_vocab=len(object_names), num_predicates_vocab=len(pred_names),
                   num_attributes_vocab=len(attribute_names), skipped_records=skips.total())
    skips.warn()
    return summary


H5_KEY_ORDER = ("image_ids", "object_ids", "object_names", "object_boxes", "objects_per_image", "relationship_ids",
                "relationship_subjects", "relationship_predicates", "relationship_objects", "relationships_per_image",
                "attributes_per_object", "object_attributes")


def write_h5(path: Path, arrays: dict[str, np.ndarray], image_paths: list[str]) -> None:
    """Write one split as the original did (int32 datasets + vlen-str ``image_paths``), atomically."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            for key in H5_KEY_ORDER:
                f.create_dataset(key, data=np.asarray(arrays[key]).astype(np.int32))
            f.create_dataset("image_paths", data=np.array(image_paths, dtype=object),
                             dtype=h5py.special_dtype(vlen=str), shape=(len(image_paths),))
        os.chmod(tmp, _default_mode(0o666))  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _default_mode(full: int) -> int:
    """``full`` minus the process umask (what a plain open()/mkdir would have given)."""
    umask = os.umask(0)
    os.umask(umask)
    return full & ~umask


