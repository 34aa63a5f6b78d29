"""Test helpers for evaluate/generate: a toy COCO-format dataset and tiny generator checkpoints."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

THINGS = [(1, "person", (200, 40, 40)), (3, "car", (40, 40, 200)), (20, "sheep", (240, 240, 240))]
STUFF = [(157, "sky-other", (120, 180, 250)), (124, "grass", (60, 160, 60))]


def _rect_poly(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def make_coco_toy(root: Path, n_train: int = 24, n_val: int = 12, size: int = 32, seed: int = 0) -> dict:
    """Write a COCO-Stuff-format toy dataset (sky above grass, 2-3 coloured rectangles) and return
    the checkpoint ``args`` that point at it (train2017 = train, val2017 = val)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    out = {}
    for split, n, first_id in (("train2017", n_train, 1), ("val2017", n_val, 100000)):
        img_dir = root / "images" / split
        img_dir.mkdir(parents=True, exist_ok=True)
        images, inst, stuff = [], [], []
        ann_id = first_id * 10
        for k in range(n):
            image_id = first_id + k
            pix = np.zeros((size, size, 3), np.uint8)
            horizon = int(size * rng.uniform(0.3, 0.5))
            pix[:horizon] = STUFF[0][2]
            pix[horizon:] = STUFF[1][2]
            for cat_id, color, (x, y, w, h) in ((STUFF[0][0], None, (0, 0, size, horizon)),
                                                (STUFF[1][0], None, (0, horizon, size, size - horizon))):
                stuff.append({"id": ann_id, "image_id": image_id, "category_id": cat_id, "iscrowd": 0,
                              "bbox": [x, y, w, h], "area": w * h, "segmentation": _rect_poly(x, y, w, h)})
                ann_id += 1
            for _ in range(int(rng.integers(2, 4))):
                cat_id, _, color = THINGS[int(rng.integers(len(THINGS)))]
                w, h = int(rng.integers(size // 4, size // 2)), int(rng.integers(size // 4, size // 2))
                x, y = int(rng.integers(0, size - w)), int(rng.integers(horizon - h // 2, size - h))
                pix[y:y + h, x:x + w] = color
                inst.append({"id": ann_id, "image_id": image_id, "category_id": cat_id, "iscrowd": 0,
                             "bbox": [x, y, w, h], "area": w * h, "segmentation": _rect_poly(x, y, w, h)})
                ann_id += 1
            name = f"{image_id:012d}.jpg"
            Image.fromarray(pix).save(img_dir / name, quality=95)
            images.append({"id": image_id, "file_name": name, "width": size, "height": size})
        ann_dir = root / "annotations"
        ann_dir.mkdir(parents=True, exist_ok=True)
        tag = split.replace("2017", "")
        cats_i = [{"id": i, "name": nm, "supercategory": "thing"} for i, nm, _ in THINGS]
        cats_s = [{"id": i, "name": nm, "supercategory": "stuff"} for i, nm, _ in STUFF]
        (ann_dir / f"instances_{tag}2017.json").write_text(json.dumps({"images": images, "annotations": inst, "categories": cats_i}))
        (ann_dir / f"stuff_{tag}2017.json").write_text(json.dumps({"images": images, "annotations": stuff, "categories": cats_s}))
        out[tag] = (img_dir, ann_dir / f"instances_{tag}2017.json", ann_dir / f"stuff_{tag}2017.json")
    return {
        "dataset": "coco",
        "image_size": [size, size],
        "mask_size": 8,
        "num_train_samples": None,
        "num_val_samples": 4,
        "coco_train_image_dir": str(out["train"][0]),
        "coco_train_instances_json": str(out["train"][1]),
        "coco_train_stuff_json": str(out["train"][2]),
        "coco_val_image_dir": str(out["val"][0]),
        "coco_val_instances_json": str(out["val"][1]),
        "coco_val_stuff_json": str(out["val"][2]),
        "cache_dir": "",
        "learning_rate": 1e-4,
    }


def tiny_model_kwargs(vocab: dict, image_size=(32, 32), mask_size: int = 8, layout_noise_dim: int = 4) -> dict:
    return {"vocab": vocab, "image_size": list(image_size), "embedding_dim": 8, "gconv_dim": 8,
            "gconv_hidden_dim": 16, "gconv_num_layers": 2, "refinement_dims": [8, 4],
            "normalization": "batch", "activation": "leakyrelu-0.2", "mask_size": mask_size,
            "mlp_normalization": "none", "layout_noise_dim": layout_noise_dim}


def make_tiny_checkpoint(path: Path, vocab: dict, args: dict | None = None, seed: int = 0, **kwargs) -> Path:
    """A randomly initialised tiny generator saved as {args, model_kwargs, model_state}."""
    from sg2im.model import build_generator

    torch.manual_seed(seed)
    model_kwargs = tiny_model_kwargs(vocab, **kwargs)
    model = build_generator(model_kwargs)
    torch.save({"args": args or {}, "model_kwargs": model_kwargs, "model_state": model.state_dict()}, path)
    return Path(path)
