"""COCO 2017 + COCO-Stuff scene graphs, as the original ``CocoSceneGraphDataset`` (sg2im/data/coco.py of github.com/google/sg2im).

Per image: the kept instance then stuff annotations (box area > ``min_object_size`` of the
image, whitelisted category, no ``other`` unless ``include_other``), 3..8 of them, plus the
``__image__`` object; masks cropped to the rounded box and resized to ``mask_size``; one random
geometric relationship per object (re-sampled at every access) plus ``__in_image__`` triples.

Speed: with ``cache_dir`` set, image decoding/resizing and mask rasterisation happen once, into a
memory-mapped cache (:mod:`sg2im.data.cache`) keyed by every parameter that shapes it and the
identity of the annotation files; an access is then slicing + normalising + sampling triples.
With ``cache_dir=None`` each access decodes the JPEG and the masks, as the original did.

Documented differences from the original (README "Datasets"):
- masks are resized with PIL bilinear (antialiased when shrinking) instead of
  ``skimage.transform.resize(order=1, mode='constant')``; a few boundary pixels may differ;
- malformed annotation records (missing fields, unknown image/category, non-positive or
  out-of-image box, empty/invalid segmentation) are skipped and counted in one warning instead
  of crashing a worker; unreadable images raise :class:`DataError` naming the file;
- ``skip_samples`` (new) skips that many filtered images before ``max_samples`` applies; this
  gives the paper's test split (the 2,048 filtered val2017 images after the first 1,024).
"""
from __future__ import annotations

import json
import os
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pycocotools.mask as mask_utils
import torch
from PIL import Image
from torch.utils.data import Dataset

from sg2im.data.cache import CacheWriter, MappedCacheMixin, cache_key, cache_path, load_cache
from sg2im.data.coco_format import _PRED, COCO_PREDICATES, check_annotation, geometric_predicates
from sg2im.data.images import load_resized, normalize_uint8
from sg2im.data.unreadable import check_fraction, readable_rows
from sg2im.data.skips import SkipCounter
from sg2im.errors import DataError, DataWarning, ParamsError
from sg2im.progress import progress


# pycocotools (2.0.x) + numpy 2 warn on every decode; harmless, and too noisy to show.
warnings.filterwarnings("ignore", message=r"__array__ implementation doesn't accept a copy keyword",
                        category=DeprecationWarning)


# --------------------------------------------------------------------------- masks and geometry
def seg_to_mask(seg: Any, width: int, height: int) -> np.ndarray:
    """Decode a COCO segmentation to an (height, width) uint8 0/1 mask with pycocotools:
    polygons (list) via frPyObjects + merge, uncompressed RLE (list counts) via frPyObjects,
    compressed RLE directly."""
    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    elif isinstance(seg["counts"], list):
        rle = mask_utils.frPyObjects(seg, height, width)
    else:
        rle = seg
    return mask_utils.decode(rle)


def crop_resize_mask(mask: np.ndarray, bbox: Sequence[float], mask_size: int) -> np.ndarray:
    """Crop a full-image mask to the rounded box (at least 1 px), resize to (M, M) and threshold
    at 128 of 255, as the original (PIL bilinear instead of skimage; see module docstring)."""
    x, y, w, h = bbox
    mx0, mx1 = int(round(x)), int(round(x + w))
    my0, my1 = int(round(y)), int(round(y + h))
    mx1, my1 = max(mx0 + 1, mx1), max(my0 + 1, my1)
    crop = mask[max(my0, 0):my1, max(mx0, 0):mx1]
    if crop.size == 0:
        return np.zeros((mask_size, mask_size), dtype=np.uint8)
    resized = Image.fromarray((crop > 0).astype(np.uint8) * 255).resize((mask_size, mask_size), Image.BILINEAR)
    return (np.asarray(resized) > 128).astype(np.uint8)


def mask_centers(boxes: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(O, 2) centre of each object: mean (x, y) of its mask pixels on the grid
    ``linspace(x0, x1, M) x linspace(y0, y1, M)``; the box centre if the mask is empty."""
    num, mh, mw = masks.shape
    boxes = boxes.float()
    m = masks.float()
    tx = torch.arange(mw, dtype=torch.float32) / max(mw - 1, 1)
    ty = torch.arange(mh, dtype=torch.float32) / max(mh - 1, 1)
    xs = boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * tx  # (O, MW)
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * ty  # (O, MH)
    count = m.sum((1, 2))
    safe = count.clamp_min(1)
    cx = (m.sum(1) * xs).sum(1) / safe
    cy = (m.sum(2) * ys).sum(1) / safe
    empty = count == 0
    cx = torch.where(empty, 0.5 * (boxes[:, 0] + boxes[:, 2]), cx)
    cy = torch.where(empty, 0.5 * (boxes[:, 1] + boxes[:, 3]), cy)
    return torch.stack([cx, cy], 1)


def sample_triples(num_real: int, boxes: torch.Tensor, centers: torch.Tensor, include_relationships: bool,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """One random geometric triple per real object (the other end uniform among the other real
    objects, subject/object order a coin flip), then ``[i, __in_image__, O-1]`` for every real
    object; ``O-1`` is the ``__image__`` object."""
    parts = []
    if include_relationships and num_real >= 2:
        cur = torch.arange(num_real)
        other = torch.randint(0, num_real - 1, (num_real,), generator=generator)
        other = other + (other >= cur).long()
        cur_is_subject = torch.rand(num_real, generator=generator) > 0.5
        s = torch.where(cur_is_subject, cur, other)
        o = torch.where(cur_is_subject, other, cur)
        p = geometric_predicates(boxes[s], boxes[o], centers[s], centers[o])
        parts.append(torch.stack([s, p, o], 1))
    real = torch.arange(num_real)
    parts.append(torch.stack([real, torch.zeros_like(real), torch.full_like(real, num_real)], 1))
    return torch.cat(parts, 0)


# --------------------------------------------------------------------------- annotations
def _load_json(path: str | os.PathLike, what: str) -> dict:
    try:
        with open(path, "r") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found. Run the download_coco stage or fix the path parameter.") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}). The file is truncated or corrupt; re-download it.") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a COCO JSON object with 'images', 'annotations', 'categories'.")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(f"{path}: missing list '{key}' (a COCO annotation file has 'images', 'annotations' and 'categories').")
    return data


# --------------------------------------------------------------------------- dataset
class CocoSceneGraphDataset(MappedCacheMixin, Dataset):
    """COCO-Stuff scene graphs; items are ``(image (3,H,W), objs (O,), boxes (O,4), masks (O,M,M)
    long, triples (T,3))`` with the ``__image__`` object last.  ``.vocab`` is the original's vocab.

    ``cache_dir=None`` decodes at every access (the original behaviour); a folder (the stages use
    ``data/cache``) builds the decoded cache once and memory-maps it afterwards.
    """

    def __init__(self, image_dir: str, instances_json: str, stuff_json: str | None = None, stuff_only: bool = True,
                 image_size: Sequence[int] = (64, 64), mask_size: int = 16, normalize_images: bool = True,
                 max_samples: int | None = None, include_relationships: bool = True, min_object_size: float = 0.02,
                 min_objects_per_image: int = 3, max_objects_per_image: int = 8, include_other: bool = False,
                 instance_whitelist: Sequence[str] | None = None, stuff_whitelist: Sequence[str] | None = None,
                 skip_samples: int = 0, cache_dir: str | os.PathLike | None = None,
                 max_unreadable_fraction: float = 0.0):
        super().__init__()
        if stuff_only and not stuff_json:
            warnings.warn("Got stuff_only=True but no stuff_json: falling back to stuff_only=False.", DataWarning)
            stuff_only = False
        if mask_size is None or int(mask_size) <= 0:
            mask_size = 16  # the model may ignore masks (mask_size 0), the GT masks still need a size
        self.image_dir = str(image_dir)
        self.image_size = tuple(int(v) for v in image_size)
        self.mask_size = int(mask_size)
        self.normalize_images = bool(normalize_images)
        self.include_relationships = bool(include_relationships)
        self.max_samples = max_samples
        self.skip_samples = int(skip_samples or 0)
        self.cache_dir = cache_dir
        self.max_unreadable_fraction = float(max_unreadable_fraction)
        self.unreadable: list[str] = []  # images skipped because they cannot be decoded (sg2im.data.unreadable)
        self._rows: np.ndarray | None = None  # cache rows served (all but the unreadable)
        self._filters = {
            "stuff_only": bool(stuff_only), "min_object_size": float(min_object_size),
            "min_objects_per_image": int(min_objects_per_image), "max_objects_per_image": int(max_objects_per_image),
            "include_other": bool(include_other),
            "instance_whitelist": list(instance_whitelist) if instance_whitelist is not None else None,
            "stuff_whitelist": list(stuff_whitelist) if stuff_whitelist is not None else None,
        }
        self._cache: dict[str, np.ndarray] | None = None
        self.cache_path: Path | None = None
        if cache_dir is not None:
            shaping = dict(self._filters, image_size=self.image_size, mask_size=self.mask_size,
                           skip_samples=self.skip_samples, max_samples=max_samples,
                           image_dir=str(Path(image_dir).resolve()))
            key = cache_key("coco", shaping, [instances_json, stuff_json, image_dir])  # dir mtime: files added/renamed
            self.cache_path = cache_path(cache_dir, "coco", key)
            hit = load_cache(self.cache_path)
            if hit is not None:
                self._use_cache(*hit)
                return
        self._read_annotations(instances_json, stuff_json)
        if cache_dir is not None:
            self._build_cache()
            hit = load_cache(self.cache_path)
            if hit is None:
                raise DataError(f"{self.cache_path}: the cache just written cannot be read back (disk full?).")
            self._use_cache(*hit)

    # ---------------------------------------------------------------- reading the JSON
    def _read_annotations(self, instances_json: str, stuff_json: str | None) -> None:
        f = self._filters
        instances = _load_json(instances_json, "instances JSON")
        stuff = _load_json(stuff_json, "stuff JSON") if stuff_json else None
        skips = SkipCounter()

        image_ids: list[int] = []
        filenames: dict[int, str] = {}
        sizes: dict[int, tuple[int, int]] = {}
        for rec in instances["images"]:
            try:
                image_id, name, width, height = rec["id"], rec["file_name"], int(rec["width"]), int(rec["height"])
            except (KeyError, TypeError, ValueError):
                skips.add("malformed image records", f"{instances_json}: {str(rec)[:60]}")
                continue
            image_ids.append(image_id)
            filenames[image_id] = name
            sizes[image_id] = (width, height)

        vocab: dict[str, Any] = {"object_name_to_idx": {}, "pred_name_to_idx": {}}
        idx_to_name: dict[int, str] = {}
        instance_names, stuff_names = [], []
        for data, names in ((instances, instance_names), (stuff, stuff_names)):
            if data is None:
                continue
            for cat in data["categories"]:
                idx_to_name[cat["id"]] = cat["name"]
                vocab["object_name_to_idx"][cat["name"]] = cat["id"]
                names.append(cat["name"])
        for given, known, flag in ((f["instance_whitelist"], instance_names, "instance_whitelist"),
                                   (f["stuff_whitelist"], stuff_names, "stuff_whitelist")):
            unknown = sorted(set(given or []) - set(known))
            if unknown:
                raise ParamsError(f"{flag}: unknown category name(s) {unknown}. Known: {', '.join(known)}.")
        whitelist = set(f["instance_whitelist"] if f["instance_whitelist"] is not None else instance_names)
        whitelist |= set(f["stuff_whitelist"] if f["stuff_whitelist"] is not None else stuff_names)

        objects: dict[int, list[dict]] = defaultdict(list)

        def add_objects(data: dict, source: str) -> set:
            seen = set()
            for ann in data["annotations"]:
                problem = check_annotation(ann, sizes, idx_to_name, source)
                if problem is not None:
                    skips.add(*problem)
                    if isinstance(ann, dict) and ann.get("image_id") in sizes:
                        seen.add(ann["image_id"])
                    continue
                image_id = ann["image_id"]
                seen.add(image_id)
                _, _, w, h = ann["bbox"]
                width, height = sizes[image_id]
                name = idx_to_name[ann["category_id"]]
                if (w * h) / (width * height) > f["min_object_size"] and name in whitelist \
                        and (name != "other" or f["include_other"]):
                    objects[image_id].append({"category_id": ann["category_id"], "bbox": ann["bbox"],
                                              "segmentation": ann["segmentation"], "id": ann.get("id")})
            return seen

        add_objects(instances, str(instances_json))
        if stuff is not None:
            with_stuff = add_objects(stuff, str(stuff_json))
            if f["stuff_only"]:
                image_ids = [i for i in image_ids if i in with_stuff]
        del instances, stuff

        vocab["object_name_to_idx"]["__image__"] = 0
        name_to_idx = vocab["object_name_to_idx"]
        names_list = ["NONE"] * (1 + max(name_to_idx.values()))
        for name, idx in name_to_idx.items():
            names_list[idx] = name
        vocab["object_idx_to_name"] = names_list
        vocab["pred_idx_to_name"] = list(COCO_PREDICATES)
        vocab["pred_name_to_idx"] = dict(_PRED)
        self.vocab = vocab

        kept = [i for i in image_ids
                if f["min_objects_per_image"] <= len(objects.get(i, ())) <= f["max_objects_per_image"]]
        self.num_filtered_images = len(kept)
        end = None if self.max_samples is None else self.skip_samples + int(self.max_samples)
        self.image_ids = kept[self.skip_samples:end]
        self._filenames = [filenames[i] for i in self.image_ids]
        self._objects = [objects[i] for i in self.image_ids]
        self.skipped = skips.counts
        skips.warn()

    # ---------------------------------------------------------------- per-image decoding
    def _image_path(self, filename: str) -> str:
        return os.path.join(self.image_dir, filename)

    def _decode(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pixels (H,W,3) uint8, categories (K,), boxes (K,4) float32 in [0,1], masks (K,M,M) uint8."""
        image_id, anns = self.image_ids[index], self._objects[index]
        path = self._image_path(self._filenames[index])
        pixels, (ww, hh) = load_resized(path, self.image_size, f"image id {image_id}")
        cats = np.array([a["category_id"] for a in anns], dtype=np.int64)
        boxes = np.zeros((len(anns), 4), dtype=np.float32)
        masks = np.zeros((len(anns), self.mask_size, self.mask_size), dtype=np.uint8)
        for k, ann in enumerate(anns):
            x, y, w, h = ann["bbox"]
            boxes[k] = (x / ww, y / hh, (x + w) / ww, (y + h) / hh)
            try:
                full = seg_to_mask(ann["segmentation"], ww, hh)
            except Exception as exc:  # pycocotools raises bare Exceptions on bad RLE
                raise DataError(f"annotation id {ann['id']} of image id {image_id} ({path}): "
                                f"cannot decode its segmentation ({exc}).") from None
            masks[k] = crop_resize_mask(full, ann["bbox"], self.mask_size)
        return pixels, cats, boxes, masks

    # ---------------------------------------------------------------- cache
    def _build_cache(self) -> None:
        n = len(self.image_ids)
        counts = np.array([len(o) for o in self._objects], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        total = int(offsets[-1])
        h, w = self.image_size
        m = self.mask_size
        errors: dict[int, str] = {}
        with CacheWriter(self.cache_path) as writer:
            images = writer.array("images", (n, h, w, 3), np.uint8)
            cats = writer.array("objs", (total,), np.int64)
            boxes = writer.array("boxes", (total, 4), np.float32)
            masks = writer.array("masks", (total, m, m), np.uint8)

            def work(i: int) -> None:
                try:
                    px, c, b, mk = self._decode(i)
                except DataError as exc:
                    errors[i] = str(exc)
                    return
                s, e = offsets[i], offsets[i + 1]
                images[i], cats[s:e], boxes[s:e], masks[s:e] = px, c, b, mk

            workers = max(1, min(4, os.cpu_count() or 1))
            with ThreadPoolExecutor(workers) as pool:
                for _ in progress(pool.map(work, range(n)), total=n, desc=f"caching {n} COCO images",
                                  unit="img", min_items=200):
                    pass
            check_fraction(errors, n, self.max_unreadable_fraction, "COCO")
            writer.save("unreadable_rows", np.array(sorted(errors), dtype=np.int64))
            centers = mask_centers(torch.from_numpy(np.asarray(boxes)), torch.from_numpy(np.asarray(masks)))
            writer.save("centers", centers.numpy())
            writer.save("offsets", offsets)
            writer.save("image_ids", np.array(self.image_ids, dtype=np.int64))
            writer.commit({"kind": "coco", "vocab": self.vocab, "num_filtered_images": self.num_filtered_images,
                           "skipped": self.skipped, "image_dir": self.image_dir,
                           "unreadable": [errors[i] for i in sorted(errors)]})

    def _use_cache(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._cache = arrays
        self.vocab = meta["vocab"]
        self.image_ids = [int(i) for i in arrays["image_ids"]]
        self.num_filtered_images = int(meta["num_filtered_images"])
        self.skipped = meta.get("skipped", {})
        self.unreadable = list(meta.get("unreadable", []))
        check_fraction(dict(enumerate(self.unreadable)), len(self.image_ids), self.max_unreadable_fraction, "COCO")
        self._rows = readable_rows(len(self.image_ids), arrays.get("unreadable_rows", ()))

    # ---------------------------------------------------------------- Dataset API
    def __len__(self) -> int:
        return len(self.image_ids) if self._rows is None else len(self._rows)

    def total_objects(self) -> int:
        """Number of real objects over the images of this dataset (the original's statistic)."""
        if self._cache is not None:
            offsets = np.asarray(self._cache["offsets"])
            return int(np.diff(offsets)[self._rows].sum())
        return sum(len(o) for o in self._objects)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self._cache is not None:
            c, index = self._cache, int(self._rows[index])
            s, e = int(c["offsets"][index]), int(c["offsets"][index + 1])
            pixels = c["images"][index]
            cats = torch.from_numpy(np.array(c["objs"][s:e]))
            boxes = torch.from_numpy(np.array(c["boxes"][s:e]))
            masks = torch.from_numpy(np.array(c["masks"][s:e]))
            centers = torch.from_numpy(np.array(c["centers"][s:e]))
        else:
            pixels, cats_np, boxes_np, masks_np = self._decode(index)
            cats, boxes, masks = torch.from_numpy(cats_np), torch.from_numpy(boxes_np), torch.from_numpy(masks_np)
            centers = mask_centers(boxes, masks)
        image = normalize_uint8(pixels, self.normalize_images)
        num_real = cats.shape[0]
        m = self.mask_size
        objs = torch.cat([cats.long(), torch.zeros(1, dtype=torch.long)])  # __image__ = 0
        boxes = torch.cat([boxes.float(), torch.tensor([[0.0, 0.0, 1.0, 1.0]])])
        masks = torch.cat([masks.long(), torch.ones(1, m, m, dtype=torch.long)])
        triples = sample_triples(num_real, boxes, centers, self.include_relationships)
        return image, objs, boxes, masks, triples
