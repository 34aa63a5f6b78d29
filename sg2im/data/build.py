"""Datasets and loaders from the data settings (the original ``build_coco_dsets`` / ``build_vg_dsets``).

Splits:
- COCO: ``train`` = filtered train2017 (``num_train_samples`` cap); ``val`` = the first
  ``num_val_samples`` filtered val2017 images; ``test`` = the next 2,048 filtered val2017 images
  (the paper's test split; fewer, with a printed note, if val2017 has fewer).  As in the
  original, ``max_objects_per_image`` is a VG flag: COCO uses ``min_objects_per_image`` ..
  ``coco_max_objects_per_image`` (3..8) objects.
- VG: ``train`` = train.h5 (``num_train_samples`` cap), ``val`` = the whole val.h5 (the original
  did not cap VG val; the training loop stops after ``num_val_samples``), ``test`` = test.h5
  (``test_h5``).
"""
from __future__ import annotations

import json
import os
from typing import Iterable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from sg2im.config.data import DataConfig
from sg2im.config.model import ModelConfig
from sg2im.data.batch import collate_scene_graphs
from sg2im.data.coco import CocoSceneGraphDataset
from sg2im.data.vg import VgSceneGraphDataset
from sg2im.errors import DataError, ParamsError

COCO_TEST_SAMPLES = 2048


def _stuff_file(path: str) -> str | None:
    """The COCO-Stuff file, or None when it is not set or not there: COCO-format datasets of your own usually
    have instances only (the geometric relationships come from the instances' boxes alone)."""
    if path and not os.path.exists(path):
        print(f"note: no COCO-Stuff file {path}: training on the instances alone (coco_stuff_only does not apply)")
        return None
    return path or None


def build_coco_datasets(d: DataConfig, image_size: tuple[int, int], mask_size: int,
                        splits: Sequence[str]) -> tuple[dict, dict[str, Dataset]]:
    common = {
        "stuff_only": d.coco_stuff_only, "image_size": image_size, "mask_size": mask_size or 16,
        "min_object_size": d.min_object_size, "min_objects_per_image": d.min_objects_per_image,
        "max_objects_per_image": d.coco_max_objects_per_image, "instance_whitelist": d.instance_whitelist,
        "stuff_whitelist": d.stuff_whitelist, "include_other": d.coco_include_other,
        "include_relationships": d.include_relationships, "cache_dir": d.cache_dir or None,
        "max_unreadable_fraction": d.max_unreadable_fraction,
    }
    train_files = {"image_dir": d.coco_train_image_dir, "instances_json": d.coco_train_instances_json,
                   "stuff_json": _stuff_file(d.coco_train_stuff_json)}
    val_files = {"image_dir": d.coco_val_image_dir, "instances_json": d.coco_val_instances_json,
                 "stuff_json": _stuff_file(d.coco_val_stuff_json)}
    if not (train_files["stuff_json"] and val_files["stuff_json"]):
        common["stuff_only"] = False  # a dataset without COCO-Stuff: its instances alone
    num_val = d.num_val_samples
    datasets: dict[str, Dataset] = {}
    for split in splits:
        if split == "train":
            ds = CocoSceneGraphDataset(**train_files, **common, max_samples=d.num_train_samples)
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


def build_vg_datasets(d: DataConfig, image_size: tuple[int, int], splits: Sequence[str]) -> tuple[dict, dict[str, Dataset]]:
    try:
        with open(d.vocab_json, "r") as f:
            vocab = json.load(f)
    except FileNotFoundError:
        raise DataError(f"{d.vocab_json}: not found. Run the preprocess_vg stage first.") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{d.vocab_json}: not valid JSON ({exc}). Re-run the preprocess_vg stage.") from None
    h5 = {"train": d.train_h5, "val": d.val_h5, "test": d.test_h5}
    common = {
        "vocab": vocab, "image_dir": d.vg_image_dir, "image_size": image_size,
        "max_objects": d.max_objects_per_image, "use_orphaned_objects": d.vg_use_orphaned_objects,
        "include_relationships": d.include_relationships, "cache_dir": d.cache_dir or None,
        "original_object_sampling": d.vg_original_object_sampling,
        "max_unreadable_fraction": d.max_unreadable_fraction,
    }
    datasets: dict[str, Dataset] = {}
    for split in splits:
        if split not in h5:
            raise ParamsError(f"unknown split '{split}': choose from train, val, test")
        max_samples = d.num_train_samples if split == "train" else None
        datasets[split] = VgSceneGraphDataset(h5_path=h5[split], max_samples=max_samples, **common)
        print(f"VG {split}: {len(datasets[split])} images from {h5[split]}")
    return vocab, datasets


def build_vocab_and_datasets(data: DataConfig, model: ModelConfig,
                             splits: Iterable[str] = ("train", "val")) -> tuple[dict, dict[str, Dataset]]:
    """``(vocab, {split: dataset})`` of ``data.dataset`` ('coco' or 'vg'), at the model's image and mask size."""
    splits = tuple(splits)
    if data.dataset == "coco":
        return build_coco_datasets(data, model.size, model.mask_size, splits)
    if data.dataset == "vg":
        return build_vg_datasets(data, model.size, splits)
    raise ParamsError(f"dataset must be 'coco' or 'vg', got {data.dataset!r}")


def build_loader(dataset: Dataset, batch_size: int, shuffle: bool, num_workers: int, sampler: Sampler | None = None,
                 drop_last: bool = False, seed: int = 0, pin_memory: bool = False) -> DataLoader:
    """A DataLoader that collates with :func:`collate_scene_graphs`; shuffling and the workers'
    random relationships/object sampling are seeded from ``seed``; workers persist across epochs;
    ``pin_memory`` (training on CUDA) pins the batches for asynchronous copies."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return DataLoader(
        dataset, batch_size=int(batch_size), shuffle=bool(shuffle) and sampler is None, sampler=sampler,
        num_workers=int(num_workers), collate_fn=collate_scene_graphs, drop_last=bool(drop_last),
        generator=generator, persistent_workers=int(num_workers) > 0, pin_memory=bool(pin_memory),
    )
