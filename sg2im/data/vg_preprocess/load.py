"""Step 1, load: image records, the split of every image, and the size filter on images."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Iterable

from sg2im.data.skips import SkipCounter
from sg2im.data.vg_format import image_path_from_url
from sg2im.data.vg_preprocess.stream import iter_json_array
from sg2im.errors import DataError

AUTO_SPLITS = "auto"


def auto_split(image_id: int) -> str:
    """Deterministic split of an image id: md5(str(id)) mod 10 -> 0-7 train, 8 val, 9 test."""
    bucket = int(hashlib.md5(str(image_id).encode()).hexdigest(), 16) % 10
    return "train" if bucket < 8 else ("val" if bucket == 8 else "test")


def load_images(images_json: str | os.PathLike, skips: SkipCounter) -> dict[int, tuple[int, int, str]]:
    """``{image_id: (width, height, image path)}`` of ``image_data.json`` (VG 1.0 called the id "id")."""
    info: dict[int, tuple[int, int, str]] = {}
    for rec in iter_json_array(images_json):
        try:
            image_id = rec["image_id"] if "image_id" in rec else rec["id"]
            info[int(image_id)] = (int(rec["width"]), int(rec["height"]), image_path_from_url(str(rec["url"])))
        except (KeyError, TypeError, ValueError):
            skips.add("malformed image records", rec, Path(images_json).name)
    return info


def load_splits(splits_json: str | os.PathLike, image_ids: Iterable[int]) -> dict[str, list[int]]:
    """``{split: [image ids]}`` from a splits file (every id it lists; ``sg2im/data/vg_splits.json``, the
    original's split, is found from any working directory), or, for ``"auto"``, the deterministic hash
    split of ``image_ids`` (in their order)."""
    packaged = Path(__file__).resolve().parents[3] / str(splits_json)
    if str(splits_json) != AUTO_SPLITS and not Path(splits_json).exists() and packaged.is_file():
        splits_json = packaged
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


def drop_small_images(splits: dict[str, list[int]], image_info: dict[int, tuple[int, int, str]],
                      min_image_size: int, log: Callable[[str], None]) -> dict[int, str]:
    """Keep, in each split (in place), the known images whose shorter side is >= ``min_image_size``;
    return ``{image_id: split}`` of the kept ones."""
    split_of: dict[int, str] = {}
    for name, ids in splits.items():
        missing = sum(1 for i in ids if i not in image_info)
        kept, too_small = [], 0
        for image_id in ids:
            info = image_info.get(image_id)
            if info is None:
                continue
            if min(info[0], info[1]) < min_image_size:
                too_small += 1
                continue
            kept.append(image_id)
            split_of[image_id] = name
        splits[name] = kept
        log(f'Removed {too_small} images from split "{name}" for being too small (< {min_image_size} px)'
            + (f"; {missing} ids of the split are not in image_data.json (ignored)" if missing else ""))
    return split_of
