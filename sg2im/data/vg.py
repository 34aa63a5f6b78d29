"""Visual Genome scene graphs from the preprocessed HDF5 files (the original ``VgSceneGraphDataset``).

Items are ``(image (3,H,W), objs (O,), boxes (O,4), None, triples (T,3))``: up to
``max_objects - 1`` real objects (those in relationships first, randomly sub-sampled; topped up
with randomly chosen "orphans" if ``use_orphaned_objects``), then ``__image__``; triples are the
image's relationships whose two ends were kept (none if ``include_relationships=False``), then
``[i, __in_image__, O-1]`` for each real object.

Differences from the original (README "Datasets"):
- **off-by-one fixed**: when more than ``max_objects - 1`` objects take part in relationships the
  original sampled ``max_objects`` of them (up to 11 objects with ``__image__`` for the default
  10).  Here at most ``max_objects - 1`` real objects are kept, so an item has at most
  ``max_objects`` objects including ``__image__``, as the orphan top-up always intended.  Pass
  ``original_object_sampling=True`` for the original behaviour.
- membership uses integer indices (the historic issue #6, fixed upstream in 57e1c08, cannot occur).
- randomness comes from torch's RNG (seeded per DataLoader worker) instead of Python's ``random``.
- with ``cache_dir`` set, images are decoded and resized once into a memory-mapped cache.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from sg2im.data.cache import CacheWriter, MappedCacheMixin, cache_key, cache_path, load_cache
from sg2im.data.images import load_resized, normalize_uint8
from sg2im.data.unreadable import check_fraction, readable_rows
from sg2im.errors import DataError
from sg2im.progress import progress

_NEEDED = ("object_names", "object_boxes", "objects_per_image", "relationship_subjects",
           "relationship_predicates", "relationship_objects", "relationships_per_image")


def read_vg_h5(h5_path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str]]:
    """The integer datasets the loader uses (numpy arrays) and the image paths (str) of a split.

    Checks what the loader relies on (keys, slot counts, relationship ends pointing at valid
    object slots) and raises :class:`DataError` naming the file, key and row otherwise.
    """
    try:
        f = h5py.File(h5_path, "r")
    except FileNotFoundError:
        raise DataError(f"{h5_path}: not found. Run the preprocess_vg stage (python stages/preprocess_vg.py).") from None
    except OSError as exc:
        raise DataError(f"{h5_path}: not a readable HDF5 file ({exc}). Re-run the preprocess_vg stage.") from None
    with f:
        missing = [k for k in _NEEDED + ("image_paths",) if k not in f]
        if missing:
            raise DataError(f"{h5_path}: missing dataset(s) {missing}. Re-run the preprocess_vg stage.")
        # what the loader uses (the per-object attributes, ~200 MB for the full VG train split, are not)
        data = {k: np.asarray(f[k]) for k in _NEEDED + ("image_ids",) if k in f}
        paths = [p.decode() if isinstance(p, bytes) else str(p) for p in f["image_paths"][()]]
    n = len(paths)
    for k in _NEEDED:
        if data[k].shape[0] != n:
            raise DataError(f"{h5_path}: '{k}' has {data[k].shape[0]} rows but 'image_paths' has {n}. Re-run preprocess_vg.")
    max_o, max_r = data["object_names"].shape[1], data["relationship_subjects"].shape[1]
    opi, rpi = data["objects_per_image"], data["relationships_per_image"]
    bad = np.flatnonzero((opi < 0) | (opi > max_o) | (rpi < 0) | (rpi > max_r))
    if bad.size:
        raise DataError(f"{h5_path}: row {bad[0]} has an impossible objects/relationships_per_image count. Re-run preprocess_vg.")
    valid_rel = np.arange(max_r)[None, :] < rpi[:, None]
    for k in ("relationship_subjects", "relationship_objects"):
        out = valid_rel & ((data[k] < 0) | (data[k] >= opi[:, None]))
        if out.any():
            row = int(np.flatnonzero(out.any(1))[0])
            raise DataError(f"{h5_path}: '{k}' of row {row} (image id {int(data['image_ids'][row]) if 'image_ids' in data else '?'}) "
                            "points outside the image's objects. Re-run preprocess_vg.")
    return data, paths


class VgSceneGraphDataset(MappedCacheMixin, Dataset):
    """Visual Genome scene graphs (no masks).  ``cache_dir=None`` decodes each image at every access
    (the original behaviour); a folder builds a decoded, resized image cache once."""

    def __init__(self, vocab: dict[str, Any], h5_path: str, image_dir: str, image_size: Sequence[int] = (256, 256),
                 normalize_images: bool = True, max_objects: int = 10, max_samples: int | None = None,
                 include_relationships: bool = True, use_orphaned_objects: bool = True,
                 cache_dir: str | os.PathLike | None = None, original_object_sampling: bool = False,
                 max_unreadable_fraction: float = 0.0):
        super().__init__()
        self.vocab = vocab
        self.h5_path = str(h5_path)
        self.image_dir = str(image_dir)
        self.image_size = tuple(int(v) for v in image_size)
        self.normalize_images = bool(normalize_images)
        self.max_objects = int(max_objects)
        self.max_samples = max_samples
        self.include_relationships = bool(include_relationships)
        self.use_orphaned_objects = bool(use_orphaned_objects)
        self.original_object_sampling = bool(original_object_sampling)
        self.max_unreadable_fraction = float(max_unreadable_fraction)
        self.unreadable: list[str] = []  # images skipped because they cannot be decoded (sg2im.data.unreadable)
        self._rows: np.ndarray | None = None  # h5 rows served (all but the unreadable), with the cache
        if self.max_objects < 2:
            raise DataError(f"max_objects must be at least 2 (one real object + __image__), got {max_objects}")
        try:
            self.image_object = int(vocab["object_name_to_idx"]["__image__"])
            self.in_image = int(vocab["pred_name_to_idx"]["__in_image__"])
        except (KeyError, TypeError):
            raise DataError("VG vocab lacks '__image__' / '__in_image__': pass the vocab.json written by preprocess_vg.") from None
        self.data, self.image_paths = read_vg_h5(h5_path)
        self._check_vocab(vocab)
        n = len(self.image_paths)
        self._len = n if max_samples is None else min(int(max_samples), n)
        self._cache: dict[str, np.ndarray] | None = None
        self.cache_path: Path | None = None
        if cache_dir is not None:
            shaping = {"image_size": self.image_size, "num_images": self._len,
                       "image_dir": str(Path(image_dir).resolve())}
            folders = sorted({os.path.join(image_dir, os.path.dirname(p)) for p in self.image_paths[: self._len]})
            sources = [h5_path, image_dir] + [f for f in folders if os.path.isdir(f)]  # dir mtimes: files added/renamed
            self.cache_path = cache_path(cache_dir, "vg", cache_key("vg", shaping, sources))
            hit = load_cache(self.cache_path)
            if hit is None:
                self._build_cache()
                hit = load_cache(self.cache_path)
                if hit is None:
                    raise DataError(f"{self.cache_path}: the cache just written cannot be read back (disk full?).")
            self._cache = hit[0]
            self.unreadable = list(hit[1].get("unreadable", []))
            check_fraction(dict(enumerate(self.unreadable)), self._len, self.max_unreadable_fraction, "VG")
            self._rows = readable_rows(self._len, self._cache.get("unreadable_rows", ()))

    def _check_vocab(self, vocab: dict[str, Any]) -> None:
        """Every object and predicate index of the h5 file names an entry of ``vocab`` (the two come from the
        same preprocess_vg run; a vocab.json of another run would silently relabel, or crash, training)."""
        d = self.data
        slots = np.arange(d["object_names"].shape[1])[None, :] < d["objects_per_image"][:, None]
        rels = np.arange(d["relationship_predicates"].shape[1])[None, :] < d["relationships_per_image"][:, None]
        for key, values, table in (("object_names", d["object_names"][slots], "object_idx_to_name"),
                                   ("relationship_predicates", d["relationship_predicates"][rels],
                                    "pred_idx_to_name")):
            size = len(vocab.get(table, []))
            if values.size and (values.min() < 0 or values.max() >= size):
                raise DataError(f"{self.h5_path}: '{key}' holds index {int(values.max())}, but the vocabulary's "
                                f"{table} has {size} entries: vocab.json and the h5 files come from different "
                                "preprocess_vg runs. Re-run the preprocess_vg stage (it writes both).")

    # ---------------------------------------------------------------- images
    def _load(self, index: int) -> tuple[np.ndarray, tuple[int, int]]:
        path = os.path.join(self.image_dir, self.image_paths[index])
        return load_resized(path, self.image_size, f"row {index} of {self.h5_path}, image id {int(self.data['image_ids'][index])}")

    def _build_cache(self) -> None:
        n = self._len
        h, w = self.image_size
        errors: dict[int, str] = {}
        with CacheWriter(self.cache_path) as writer:
            images = writer.array("images", (n, h, w, 3), np.uint8)
            sizes = np.zeros((n, 2), dtype=np.int64)

            def work(i: int) -> None:
                try:
                    images[i], sizes[i] = self._load(i)
                except DataError as exc:
                    errors[i] = str(exc)

            with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
                for _ in progress(pool.map(work, range(n)), total=n, desc=f"caching {n} VG images", unit="img",
                                  min_items=200):
                    pass
            check_fraction(errors, n, self.max_unreadable_fraction, "VG")
            writer.save("sizes", sizes)
            writer.save("unreadable_rows", np.array(sorted(errors), dtype=np.int64))
            writer.commit({"kind": "vg", "h5_path": self.h5_path, "image_dir": self.image_dir,
                           "unreadable": [errors[i] for i in sorted(errors)]})

    # ---------------------------------------------------------------- Dataset API
    def __len__(self) -> int:
        return self._len if self._rows is None else len(self._rows)

    def select_objects(self, index: int, generator: torch.Generator | None = None) -> np.ndarray:
        """Object-slot indices kept for this access (with-relationship objects first, then orphans)."""
        d = self.data
        num_objs = int(d["objects_per_image"][index])
        num_rels = int(d["relationships_per_image"][index])
        ends = np.concatenate([d["relationship_subjects"][index, :num_rels], d["relationship_objects"][index, :num_rels]])
        with_rels = np.unique(ends).astype(np.int64)  # sorted: the iteration order of a set of small ints
        in_rel = np.zeros(num_objs, dtype=bool)
        in_rel[with_rels] = True
        orphans = np.flatnonzero(~in_rel)
        limit = self.max_objects - 1
        if len(with_rels) > limit:
            take = self.max_objects if self.original_object_sampling else limit
            with_rels = with_rels[torch.randperm(len(with_rels), generator=generator)[:take].numpy()]
        if len(with_rels) < limit and self.use_orphaned_objects:
            add = min(limit - len(with_rels), len(orphans))
            with_rels = np.concatenate([with_rels, orphans[torch.randperm(len(orphans), generator=generator)[:add].numpy()]])
        return with_rels

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self._cache is not None:
            index = int(self._rows[index])
            pixels = self._cache["images"][index]
            ww, hh = (int(v) for v in self._cache["sizes"][index])
        else:
            pixels, (ww, hh) = self._load(index)
        image = normalize_uint8(pixels, self.normalize_images)

        d = self.data
        keep = self.select_objects(index)
        num = len(keep) + 1
        objs = torch.full((num,), self.image_object, dtype=torch.long)
        objs[:-1] = torch.from_numpy(d["object_names"][index, keep].astype(np.int64))
        xywh = d["object_boxes"][index, keep].astype(np.float64)
        boxes = np.tile(np.array([[0.0, 0.0, 1.0, 1.0]]), (num, 1))
        boxes[:-1] = np.stack([xywh[:, 0] / ww, xywh[:, 1] / hh, (xywh[:, 0] + xywh[:, 2]) / ww,
                               (xywh[:, 1] + xywh[:, 3]) / hh], 1) if len(keep) else boxes[:0]
        boxes = torch.from_numpy(boxes.astype(np.float32))

        parts = []
        if self.include_relationships:
            num_rels = int(d["relationships_per_image"][index])
            slot_to_new = np.full(d["object_names"].shape[1], -1, dtype=np.int64)
            slot_to_new[keep] = np.arange(len(keep))
            s = slot_to_new[d["relationship_subjects"][index, :num_rels]]
            o = slot_to_new[d["relationship_objects"][index, :num_rels]]
            p = d["relationship_predicates"][index, :num_rels].astype(np.int64)
            ok = (s >= 0) & (o >= 0)
            parts.append(torch.from_numpy(np.stack([s[ok], p[ok], o[ok]], 1)))
        real = torch.arange(num - 1)
        parts.append(torch.stack([real, torch.full_like(real, self.in_image), torch.full_like(real, num - 1)], 1))
        triples = torch.cat(parts, 0).long()
        return image, objs, boxes, None, triples
