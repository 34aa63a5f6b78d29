"""A COCO-format dataset checked before any training: the files of both splits, every image record (present,
readable, of the size it claims), every category (unique, id 0 is ``__image__``'s) and every annotation (known
image and category, a box inside its image of non-zero area, a usable segmentation), with the loader's own
record check (sg2im.data.coco_format)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from sg2im.data.coco_format import COCO_PREDICATES, check_annotation, geometric_predicates
from sg2im.data.validate.images import check_image
from sg2im.data.validate.report import Report, load_json

SPLITS = ("train", "val")
LAYOUT = "annotations/instances_{split}2017.json (+ optional stuff_{split}2017.json) and images/{split}2017/"


def coco_files(root: Path, split: str) -> dict[str, Path]:
    """The files of a split, in the pipeline's layout (images/train2017) or the official unzip one (train2017)."""
    images = root / "images" / f"{split}2017"
    if not images.is_dir() and (root / f"{split}2017").is_dir():
        images = root / f"{split}2017"
    return {"images": images, "instances": root / "annotations" / f"instances_{split}2017.json",
            "stuff": root / "annotations" / f"stuff_{split}2017.json"}


def _schema(data, path: Path, report: Report) -> bool:
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations",
                                                                                   "categories")):
        report.add("error", path, "", "not a COCO annotation file", "top level",
                   "a COCO file is an object with the lists 'images', 'annotations' and 'categories'")
        return False
    return True


def _categories(data: dict, path: Path, report: Report) -> dict[int, str]:
    names: dict[int, str] = {}
    for cat in data["categories"]:
        cid, name = (cat.get("id"), cat.get("name")) if isinstance(cat, dict) else (None, None)
        if not isinstance(cid, int) or isinstance(cid, bool) or not isinstance(name, str) or not name:
            report.add("error", path, "categories", "a category without an integer id and a name", str(cat)[:60],
                       "give every category an integer 'id' and a 'name'")
        elif cid in names:
            report.add("error", path, "categories.id", "a duplicate category id", f"id {cid}",
                       "give every category its own id")
        elif cid == 0:
            report.add("error", path, "categories.id", "category id 0 (sg2im's vocabulary keeps index 0 for "
                       "__image__)", f"id 0 ({name})", "number your categories from 1 (add 1 to every id)")
        else:
            names[cid] = name
    return names


def _images(data: dict, path: Path, image_dir: Path, report: Report, check_pixels: bool) -> dict[int, tuple]:
    sizes: dict[int, tuple[int, int]] = {}
    for rec in data["images"]:
        try:
            image_id, name, width, height = rec["id"], rec["file_name"], int(rec["width"]), int(rec["height"])
        except (KeyError, TypeError, ValueError):
            report.add("warning", path, "images", "a malformed image record (id, file_name, width, height)",
                       str(rec)[:60], "complete the record or remove it")
            continue
        if image_id in sizes:
            report.add("error", path, "images.id", "a duplicate image id", f"image id {image_id}",
                       "give every image its own id")
            continue
        sizes[image_id] = (width, height)
        if check_pixels:
            problem = check_image(image_dir / name, (width, height))
            if problem:
                report.add("warning", image_dir, "file_name", problem, f"image id {image_id}: {name}",
                           "add or re-export the image, or fix width/height" if "size" in problem
                           else "add or re-export the image (training skips it)")
    return sizes


def validate_coco(root: str | Path, check_pixels: bool = True) -> Report:
    """Check a COCO-format folder (``LAYOUT``): errors, warnings, the summary, samples for the card."""
    root = Path(root)
    report = Report("coco", str(root))
    categories: dict[str, dict[int, str]] = {}
    splits: dict[str, dict] = {}
    counts: Counter = Counter()
    for split in SPLITS:
        files = coco_files(root, split)
        if not files["images"].is_dir():
            report.add("error", files["images"], "", "the image folder is missing", split,
                       f"the layout is {LAYOUT.format(split=split)}")
        usable = Counter()
        for kind in ("instances", "stuff"):
            path = files[kind]
            if kind == "stuff" and not path.exists():
                continue  # COCO-Stuff is optional
            data = load_json(path, report, f"the {split} {kind} file")
            if data is None or not _schema(data, path, report):
                continue
            names = _categories(data, path, report)
            categories[f"{kind}:{split}"] = names
            sizes = _images(data, path, files["images"], report, check_pixels and kind == "instances")
            seen_ids: set = set()
            for ann in data["annotations"]:
                problem = check_annotation(ann, sizes, names, str(path))
                if problem is not None:
                    report.add("warning", path, "annotations", f"an annotation {problem[0]}", problem[1].split(": ", 1)[-1],
                               "fix or remove the annotation (training skips it)")
                    continue
                if ann.get("id") in seen_ids:
                    report.add("warning", path, "annotations.id", "a duplicate annotation id", f"id {ann['id']}",
                               "give every annotation its own id")
                seen_ids.add(ann.get("id"))
                usable[ann["image_id"]] += 1
                counts[names[ann["category_id"]]] += 1
            if kind == "instances":
                splits[split] = {"images": len(sizes), "objects": 0, "objects_per_image_max": 0}
                _samples(data, names, sizes, files["images"], report)
        if split in splits:
            info = splits[split]
            info["objects"] = sum(usable.values())
            info["objects_per_image_mean"] = info["objects"] / max(info["images"], 1)
            info["objects_per_image_max"] = max(usable.values(), default=0)
            info["images_without_objects"] = info["images"] - len(usable)
    for kind in ("instances", "stuff"):
        in_train, in_val = categories.get(f"{kind}:train"), categories.get(f"{kind}:val")
        if in_train is not None and in_val is not None and in_train != in_val:
            report.add("error", root / "annotations", f"{kind} categories", "train and val define different "
                       "categories", f"train {len(in_train)}, val {len(in_val)}", "use the same category list in both")
    report.summary = {"splits": splits, "categories": dict(counts.most_common()),
                      "predicates_note": "computed by the loader from each pair of objects' boxes and masks: "
                                         "left of, right of, above, below, inside, surrounding",
                      "stuff": any(coco_files(root, s)["stuff"].exists() for s in SPLITS)}
    return report


def _samples(data: dict, names: dict[int, str], sizes: dict, image_dir: Path, report: Report) -> None:
    """The card's samples: objects of the first images, one geometric relationship per object as the loader
    computes them (from box centres here)."""
    by_image: dict[int, list] = {}
    for ann in data["annotations"]:
        if len(by_image) > 40:
            break
        if check_annotation(ann, sizes, names, "") is None:
            by_image.setdefault(ann["image_id"], []).append((names[ann["category_id"]], *ann["bbox"]))
    files = {rec.get("id"): rec.get("file_name") for rec in data["images"] if isinstance(rec, dict)}
    for image_id, objects in by_image.items():
        if len(objects) < 2:
            continue
        w, h = sizes[image_id]
        boxes = torch.tensor([[x / w, y / h, (x + bw) / w, (y + bh) / h] for _, x, y, bw, bh in objects])
        centers = (boxes[:, :2] + boxes[:, 2:]) / 2
        s, o = torch.arange(len(objects)), (torch.arange(len(objects)) + 1) % len(objects)
        preds = geometric_predicates(boxes[s], boxes[o], centers[s], centers[o]).tolist()
        report.sample(image_dir / str(files.get(image_id)), objects,
                      [(int(a), COCO_PREDICATES[p], int(b)) for a, p, b in zip(s.tolist(), preds, o.tolist())])
