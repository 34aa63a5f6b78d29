"""The embedded data at toy size, in the project's layout, for tests that need real datasets on disk: the tiny
preset's synthetic COCO and Visual Genome written by the package's own stage functions (download_coco,
download_vg, preprocess_vg), a few dozen images each, in seconds."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def embedded_data(root: Path) -> Path:
    """Write ``root/data/{coco,vg}`` (and ``root/params.yaml``, the tiny preset); return the params file."""
    from sg2im.config.download_coco import DownloadCocoConfig
    from sg2im.config.download_vg import DownloadVgConfig
    from sg2im.config.loader import load_stage
    from sg2im.config.preprocess_vg import PreprocessVgConfig
    from sg2im.data.fetch.coco import get_coco
    from sg2im.data.fetch.vg import get_vg
    from sg2im.data.vg_preprocess import preprocess_vg

    root.mkdir(parents=True, exist_ok=True)
    params = root / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    subprocess.run([sys.executable, "-m", "sg2im.configure", "tiny", "--params", str(params)], check=True,
                   capture_output=True, cwd=root)
    flags = ["--params", str(params)]
    with contextlib.chdir(root):
        get_coco(load_stage("download_coco", DownloadCocoConfig, flags).config)
        get_vg(load_stage("download_vg", DownloadVgConfig, flags).config)
        preprocess_vg(load_stage("preprocess_vg", PreprocessVgConfig, flags).config)
    return params


# A dataset of one's own: three categories with non-contiguous ids, no COCO-Stuff, shapes drawn here.
OWN_COCO_CATEGORIES = [(7, "crate", (200, 60, 40)), (11, "lamp", (240, 220, 60)), (40, "robot", (60, 90, 220))]


def own_coco(root: Path, n_train: int = 24, n_val: int = 16, size: int = 96, seed: int = 0) -> Path:
    """A COCO-format dataset (annotations/instances_{train,val}2017.json, images/{train,val}2017/), 3-5
    objects per image with polygon masks, written from scratch."""
    import json

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    categories = [{"id": i, "name": n, "supercategory": "thing"} for i, n, _ in OWN_COCO_CATEGORIES]
    for split, n, first in (("train", n_train, 1), ("val", n_val, 1000)):
        folder = root / "images" / f"{split}2017"
        folder.mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for k in range(n):
            image_id = first + k
            pixels = np.full((size, size, 3), 235, np.uint8)
            for j in range(int(rng.integers(3, 6))):
                cid, _, colour = OWN_COCO_CATEGORIES[int(rng.integers(3))]
                w, h = int(rng.integers(size // 6, size // 3)), int(rng.integers(size // 6, size // 3))
                x, y = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
                pixels[y:y + h, x:x + w] = colour
                annotations.append({"id": image_id * 10 + j, "image_id": image_id, "category_id": cid, "iscrowd": 0,
                                    "bbox": [x, y, w, h], "area": w * h,
                                    "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
            name = f"{image_id:06d}.png"
            Image.fromarray(pixels).save(folder / name)
            images.append({"id": image_id, "file_name": name, "width": size, "height": size})
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"instances_{split}2017.json").write_text(
            json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return root


OWN_VG_NAMES = ["robot", "crate", "floor", "lamp", "shelf"]
OWN_VG_PREDICATES = ["on", "next to", "under"]


def own_vg(root: Path, n: int = 60, size: int = 224, seed: int = 0) -> Path:
    """A Visual Genome-format dataset with its own names and predicates (image_data, objects, relationships;
    no attributes or alias files), images under images/photos/."""
    import json

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images" / "photos").mkdir(parents=True, exist_ok=True)
    image_data, objects, relationships = [], [], []
    object_id = 1
    for image_id in range(1, n + 1):
        pixels = np.full((size, size, 3), 200, np.uint8)
        objs = []
        for _ in range(int(rng.integers(4, 7))):
            name = OWN_VG_NAMES[int(rng.integers(len(OWN_VG_NAMES)))]
            w, h = int(rng.integers(40, 90)), int(rng.integers(40, 90))
            x, y = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
            pixels[y:y + h, x:x + w] = (40 * (1 + OWN_VG_NAMES.index(name)), 120, 90)
            objs.append({"object_id": object_id, "x": x, "y": y, "w": w, "h": h, "names": [name]})
            object_id += 1
        rels = [{"relationship_id": image_id * 100 + k, "predicate": OWN_VG_PREDICATES[k % 3],
                 "subject": {"object_id": objs[k]["object_id"]}, "object": {"object_id": objs[k + 1]["object_id"]}}
                for k in range(len(objs) - 1)]
        Image.fromarray(pixels).save(root / "images" / "photos" / f"{image_id}.jpg", quality=90)
        image_data.append({"image_id": image_id, "width": size, "height": size,
                           "url": f"https://example.org/photos/{image_id}.jpg"})
        objects.append({"image_id": image_id, "objects": objs})
        relationships.append({"image_id": image_id, "relationships": rels})
    for name, data in (("image_data.json", image_data), ("objects.json", objects),
                       ("relationships.json", relationships)):
        (root / name).write_text(json.dumps(data))
    return root
