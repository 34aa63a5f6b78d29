"""Write the synthetic world as COCO 2017 + COCO-Stuff 2017, in the official layout and schema.

Output (under ``out_dir``)::

    images/{train2017,val2017}/<12-digit id>.jpg
    annotations/instances_{train,val}2017.json   things: polygon segmentations
    annotations/stuff_{train,val}2017.json       stuff 92..182 + other 183: compressed RLE

Records carry the official fields and key order; categories are the real COCO ids, names and
supercategories.  As in COCO-Stuff, the stuff masks of an image do not overlap, cover the whole
image, and ``other`` (183) is exactly the union of the (decoded) thing masks.

The mess of real data is here too, as in the real release: things below the loader's 2% area
filter (far birds, balls), images with fewer than 3 or more than 8 kept objects (a lone
portrait, a flock of 30+ animals), and about ``aspect_fraction`` of the images are 4:3 instead of
square.  Each image is drawn from its own seed, so the files are the same bytes on every run.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from sg2im.synthetic.common import JsonListWriter, staging_dir, image_rng, move_into_place, ordered_map
from sg2im.synthetic.render import jpeg_bytes, render, stuff_label_map
from sg2im.synthetic.scenes import sample_scene
from sg2im.progress import progress
from sg2im.synthetic.vocab import (
    COCO_ID_BY_NAME, COCO_INFO, COCO_LICENSES, COCO_OTHER_ID, COCO_STUFF_INFO, COCO_STUFF_NAMES,
    COCO_THING_NAMES, coco_categories,
)

SPLITS = {"train2017": 1, "val2017": 3}  # image ids: 1 (mod 4) for train, 3 (mod 4) for val
STUFF_LABEL = {name: COCO_ID_BY_NAME[name] - 91 for name in COCO_STUFF_NAMES}  # 92..183 -> 1..92


@dataclass(frozen=True)
class CocoJob:
    split: str
    index: int
    seed: int
    image_size: int
    aspect_fraction: float
    annotations_only: bool
    jpeg_quality: int


def image_id(split: str, index: int) -> int:
    return 4 * index + SPLITS[split]


def _polygons(polys: list[np.ndarray], W: int, H: int) -> list[list[float]]:
    out = []
    for p in polys:
        q = np.clip(p * np.array([W, H]), 0, [W, H])
        if len(q) >= 3 and np.ptp(q[:, 0]) > 0 and np.ptp(q[:, 1]) > 0:
            out.append([round(float(v), 2) for v in q.reshape(-1)])
    return out


def make_image(job: CocoJob) -> tuple[bytes | None, dict, list[dict], list[dict]]:
    """One image: (jpeg bytes or None, image record, instance annotations, stuff annotations);
    annotation ids are filled in by the caller."""
    rng = image_rng(job.seed, SPLITS[job.split], job.index)
    W = job.image_size
    H = W if rng.random() >= job.aspect_fraction else int(round(W * 0.75))
    scene = sample_scene(rng, "coco")
    iid = image_id(job.split, job.index)
    record = {
        "license": int(rng.integers(1, 9)), "file_name": f"{iid:012d}.jpg",
        "coco_url": f"http://images.cocodataset.org/{job.split}/{iid:012d}.jpg",
        "height": H, "width": W,
        "date_captured": f"2013-{1 + iid % 12:02d}-{1 + iid % 28:02d} {iid % 24:02d}:{iid % 60:02d}:{(iid * 7) % 60:02d}",
        "flickr_url": f"http://farm{1 + iid % 9}.staticflickr.com/synthetic/{iid}_z.jpg", "id": iid,
    }
    instances, other = [], np.zeros((H, W), bool)
    for obj in scene.objs:
        if obj.kind != "thing" or obj.name not in COCO_THING_NAMES:
            continue
        seg = _polygons(obj.polys, W, H)
        if not seg:
            continue
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, H, W))
        area = float(mask_utils.area(rle))
        if area <= 0:
            continue
        other |= mask_utils.decode(rle).astype(bool)
        bbox = [round(float(v), 2) for v in mask_utils.toBbox(rle)]
        instances.append({"segmentation": seg, "area": area, "iscrowd": 0, "image_id": iid, "bbox": bbox,
                          "category_id": COCO_ID_BY_NAME[obj.name]})
    labels = stuff_label_map(scene, W, H, STUFF_LABEL).copy()
    labels[other] = COCO_OTHER_ID - 91
    stuff = []
    for label in np.unique(labels):
        if label == 0:
            continue
        m = np.asfortranarray((labels == label).astype(np.uint8))
        rle = mask_utils.encode(m)
        stuff.append({"segmentation": {"counts": rle["counts"].decode("ascii"), "size": [H, W]},
                      "area": float(m.sum()), "iscrowd": 0, "image_id": iid,
                      "bbox": [float(v) for v in mask_utils.toBbox(rle)], "category_id": int(label) + 91})
    jpeg = None
    if not job.annotations_only:
        jpeg = jpeg_bytes(render(scene, W, H, rng), job.jpeg_quality)
    return jpeg, record, instances, stuff


def write_coco(out_dir: Path, num_train_images: int, num_val_images: int, image_size: int = 128, seed: int = 0,
               aspect_fraction: float = 0.1, annotations_only: bool = False, workers: int = 2,
               jpeg_quality: int = 85) -> dict[str, int]:
    """Generate the whole synthetic COCO dataset into ``out_dir`` (atomically); return counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with staging_dir(out_dir, "download_coco") as tmp:
        (tmp / "annotations").mkdir()
        counts = {}
        t0 = time.time()
        for split, n in (("train2017", num_train_images), ("val2017", num_val_images)):
            img_dir = tmp / "images" / split
            img_dir.mkdir(parents=True)
            jobs = [CocoJob(split, i, seed, image_size, aspect_fraction, annotations_only, jpeg_quality) for i in range(n)]
            short = split.replace("2017", "")
            parts = {k: tmp / f".{k}_{short}.part" for k in ("instances", "stuff")}
            streams = {k: JsonListWriter(p, head="", tail="") for k, p in parts.items()}
            images: list[dict] = []
            next_id = {"instances": 1 if split == "train2017" else 5_000_000,
                       "stuff": 10_000_000 if split == "train2017" else 20_000_000}
            n_ann = {"instances": 0, "stuff": 0}
            for jpeg, record, inst, stuff in progress(ordered_map(make_image, jobs, workers), total=n,
                                                      desc=f"synthetic COCO {split}", unit="img"):
                images.append(record)
                if jpeg is not None:
                    (img_dir / record["file_name"]).write_bytes(jpeg)
                for kind, anns in (("instances", inst), ("stuff", stuff)):
                    for a in anns:
                        a["id"] = next_id[kind]
                        next_id[kind] += 1
                        streams[kind].write(a)
                    n_ann[kind] += len(anns)
            for s in streams.values():
                s.close()
            _assemble(tmp / "annotations" / f"instances_{short}2017.json", parts["instances"],
                      [("info", COCO_INFO), ("licenses", COCO_LICENSES), ("images", images)],
                      [("categories", coco_categories(stuff=False))])
            _assemble(tmp / "annotations" / f"stuff_{short}2017.json", parts["stuff"],
                      [("info", COCO_STUFF_INFO), ("images", images), ("licenses", COCO_LICENSES),
                       ("categories", coco_categories(stuff=True))], [])
            for p in parts.values():
                p.unlink()
            counts[f"{short}_images"] = n
            counts[f"{short}_instances"] = n_ann["instances"]
            counts[f"{short}_stuff"] = n_ann["stuff"]
        move_into_place(tmp, out_dir, ["images", "annotations"])
    counts["seconds"] = round(time.time() - t0, 1)
    return counts


def _assemble(path: Path, ann_part: Path, before: list[tuple[str, object]], after: list[tuple[str, object]]) -> None:
    """Write ``{before..., "annotations": [<ann_part>], after...}`` in the official key order."""
    head = "{" + "".join(f"{json.dumps(k)}: {json.dumps(v)}, " for k, v in before) + '"annotations": ['
    tail = "]" + "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in after) + "}"
    w = JsonListWriter(path, head=head, tail=tail)
    w.write_raw_file(ann_part)
    w.close()
