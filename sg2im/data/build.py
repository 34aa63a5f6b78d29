"""Datasets and loaders from the original train.py flags (``build_coco_dsets`` / ``build_vg_dsets``).

Splits:
- COCO: ``train`` = filtered train2017 (``num_train_samples`` cap); ``val`` = the first
  ``num_val_samples`` filtered val2017 images; ``test`` = the next 2,048 filtered val2017 images
  (the paper's test split; fewer, with a printed note, if val2017 has fewer).  As in the
  original, ``max_objects_per_image`` is a VG flag: COCO always uses 3..8 objects
  (``coco_max_objects_per_image`` may override the 8 if present on ``args``).
- VG: ``train`` = train.h5 (``num_train_samples`` cap), ``val`` = the whole val.h5 (the original
  did not cap VG val; the training loop stops after ``num_val_samples``), ``test`` = test.h5
  (``test_h5``, default next to ``val_h5``).
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from sg2im.data.batch import collate_scene_graphs
from sg2im.data.cache import DEFAULT_CACHE_DIR
from sg2im.data.coco import CocoSceneGraphDataset
from sg2im.data.vg import VgSceneGraphDataset
from sg2im.errors import DataError, ParamsError
from sg2im.params import bool_flag, int_tuple, str_tuple

COCO_TEST_SAMPLES = 2048


def _get(args: Any, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def _cache_dir(args: Any) -> str | None:
    value = _get(args, "cache_dir", DEFAULT_CACHE_DIR)
    return value or None


def _image_size(args: Any) -> tuple[int, int]:
    size = int_tuple(_get(args, "image_size", (64, 64)))
    return (size[0], size[0]) if len(size) == 1 else (size[0], size[1])


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "", "none", "None") else int(value)


def build_coco_datasets(args: Any, splits: Sequence[str]) -> tuple[dict, dict[str, Dataset]]:
    common = {
        "stuff_only": bool_flag(_get(args, "coco_stuff_only", True)),
        "image_size": _image_size(args),
        "mask_size": int(_get(args, "mask_size", 16) or 16),
        "min_object_size": float(_get(args, "min_object_size", 0.02)),
        "min_objects_per_image": int(_get(args, "min_objects_per_image", 3)),
        "max_objects_per_image": int(_get(args, "coco_max_objects_per_image", 8)),
        "instance_whitelist": str_tuple(_get(args, "instance_whitelist")),
        "stuff_whitelist": str_tuple(_get(args, "stuff_whitelist")),
        "include_other": bool_flag(_get(args, "coco_include_other", False)),
        "include_relationships": bool_flag(_get(args, "include_relationships", True)),
        "cache_dir": _cache_dir(args),
    }
    train_files = {"image_dir": args.coco_train_image_dir, "instances_json": args.coco_train_instances_json,
                   "stuff_json": _get(args, "coco_train_stuff_json") or None}
    val_files = {"image_dir": args.coco_val_image_dir, "instances_json": args.coco_val_instances_json,
                 "stuff_json": _get(args, "coco_val_stuff_json") or None}
    num_val = _optional_int(_get(args, "num_val_samples", 1024))
    datasets: dict[str, Dataset] = {}
    for split in splits:
        if split == "train":
            ds = CocoSceneGraphDataset(**train_files, **common, max_samples=_optional_int(_get(args, "num_train_samples")))
        elif split == "val":
            ds = CocoSceneGraphDataset(**val_files, **common, max_samples=num_val)
        elif split == "test":
            ds = CocoSceneGraphDataset(**val_files, **common, max_samples=COCO_TEST_SAMPLES, skip_samples=num_val or 0)
            if len(ds) < COCO_TEST_SAMPLES:
                print(f"note: COCO test split has {len(ds)} images, not {COCO_TEST_SAMPLES}: val2017 has "
                      f"{ds.num_filtered_images} filtered images and the first {num_val or 0} are the val split.")
            if len(ds) == 0:
                raise DataError(f"{val_files['instances_json']}: no filtered val2017 images are left for the test split "
                                f"after the first num_val_samples={num_val}. Lower num_val_samples or use more data.")
        else:
            raise ParamsError(f"unknown split '{split}': choose from train, val, test")
        datasets[split] = ds
    vocabs = [json.dumps(ds.vocab, sort_keys=True) for ds in datasets.values()]
    if len(set(vocabs)) > 1:
        raise DataError("COCO train and val annotation files define different categories; the vocabularies must match.")
    vocab = json.loads(vocabs[0]) if vocabs else {}
    for split, ds in datasets.items():
        print(f"COCO {split}: {len(ds)} images, {ds.total_objects()} objects "
              f"({ds.total_objects() / max(len(ds), 1):.2f} per image)")
    return vocab, datasets


def build_vg_datasets(args: Any, splits: Sequence[str]) -> tuple[dict, dict[str, Dataset]]:
    try:
        with open(args.vocab_json, "r") as f:
            vocab = json.load(f)
    except FileNotFoundError:
        raise DataError(f"{args.vocab_json}: not found. Run the preprocess_vg stage first.") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{args.vocab_json}: not valid JSON ({exc}). Re-run the preprocess_vg stage.") from None
    test_h5 = _get(args, "test_h5") or os.path.join(os.path.dirname(args.val_h5), "test.h5")
    h5 = {"train": args.train_h5, "val": args.val_h5, "test": test_h5}
    common = {
        "vocab": vocab, "image_dir": args.vg_image_dir, "image_size": _image_size(args),
        "max_objects": int(_get(args, "max_objects_per_image", 10)),
        "use_orphaned_objects": bool_flag(_get(args, "vg_use_orphaned_objects", True)),
        "include_relationships": bool_flag(_get(args, "include_relationships", True)),
        "cache_dir": _cache_dir(args),
        "original_object_sampling": bool_flag(_get(args, "vg_original_object_sampling", False)),
    }
    datasets: dict[str, Dataset] = {}
    for split in splits:
        if split not in h5:
            raise ParamsError(f"unknown split '{split}': choose from train, val, test")
        max_samples = _optional_int(_get(args, "num_train_samples")) if split == "train" else None
        datasets[split] = VgSceneGraphDataset(h5_path=h5[split], max_samples=max_samples, **common)
        print(f"VG {split}: {len(datasets[split])} images from {h5[split]}")
    return vocab, datasets


def build_vocab_and_datasets(args: Any, splits: Iterable[str] = ("train", "val")) -> tuple[dict, dict[str, Dataset]]:
    """``(vocab, {split: dataset})`` for ``args.dataset`` ('coco' or 'vg'), from the original flags."""
    splits = tuple(splits)
    dataset = _get(args, "dataset", "coco")
    if dataset == "coco":
        return build_coco_datasets(args, splits)
    if dataset == "vg":
        return build_vg_datasets(args, splits)
    raise ParamsError(f"dataset must be 'coco' or 'vg', got {dataset!r}")


def build_loader(dataset: Dataset, batch_size: int, shuffle: bool, num_workers: int, sampler: Sampler | None = None,
                 drop_last: bool = False, seed: int = 0) -> DataLoader:
    """A DataLoader that collates with :func:`collate_scene_graphs`; shuffling and the workers'
    random relationships/object sampling are seeded from ``seed``."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return DataLoader(
        dataset, batch_size=int(batch_size), shuffle=bool(shuffle) and sampler is None, sampler=sampler,
        num_workers=int(num_workers), collate_fn=collate_scene_graphs, drop_last=bool(drop_last),
        generator=generator, persistent_workers=int(num_workers) > 0,
    )
