"""A Visual Genome-format dataset checked before preprocessing: the files (image_data, objects, relationships;
attributes and the alias files are optional), every image record (present, readable, of its size), every
object (known image, an id of its own, a name, a box inside its image of non-zero area) and every
relationship (a predicate, both ends among its image's objects)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from sg2im.data.validate.images import check_image
from sg2im.data.validate.report import Report, load_json
from sg2im.data.vg_format import image_path_from_url

REQUIRED = ("image_data.json", "objects.json", "relationships.json")
OPTIONAL = ("attributes.json", "object_alias.txt", "relationship_alias.txt")
LAYOUT = "image_data.json, objects.json, relationships.json (+ optional attributes.json, alias files) and images/"


def _images(data, path: Path, root: Path, report: Report, check_pixels: bool) -> dict[int, tuple[int, int]]:
    sizes: dict[int, tuple[int, int]] = {}
    for rec in data:
        try:
            image_id = int(rec["image_id"] if "image_id" in rec else rec["id"])
            width, height, url = int(rec["width"]), int(rec["height"]), str(rec["url"])
        except (KeyError, TypeError, ValueError):
            report.add("warning", path, "image record", "a malformed image record (image_id, url, width, height)",
                       str(rec)[:60], "complete the record or remove it")
            continue
        if image_id in sizes:
            report.add("error", path, "image_id", "a duplicate image id", f"image {image_id}",
                       "give every image its own id")
            continue
        sizes[image_id] = (width, height)
        if check_pixels:
            rel = image_path_from_url(url)
            problem = check_image(root / "images" / rel, (width, height))
            if problem:
                report.add("warning", root / "images", "url", problem, f"image {image_id}: images/{rel}",
                           "add or re-export the image (its path is the url's last folder and file name)")
    return sizes


def _box_ok(obj: dict, size: tuple[int, int]) -> bool:
    x, y, w, h = (float(obj[k]) for k in ("x", "y", "w", "h"))
    return w > 0 and h > 0 and x >= -1 and y >= -1 and x + w <= size[0] + 1 and y + h <= size[1] + 1


def _objects(data, path: Path, sizes: dict, report: Report, names: Counter) -> dict[int, set[int]]:
    per_image: dict[int, set[int]] = {}
    for rec in data:
        image_id = rec.get("image_id") if isinstance(rec, dict) else None
        if image_id not in sizes:
            report.add("warning", path, "image_id", "objects of an image not in image_data.json",
                       f"image {image_id}", "add the image to image_data.json or remove the record")
            continue
        ids = per_image.setdefault(image_id, set())
        for obj in rec.get("objects") or []:
            try:
                object_id = int(obj["object_id"])
                raw = obj["names"] if "names" in obj else [obj["name"]]
                ok = _box_ok(obj, sizes[image_id])
            except (KeyError, TypeError, ValueError):
                report.add("warning", path, "objects", "a malformed object (object_id, names, x, y, w, h)",
                           f"image {image_id}: {str(obj)[:50]}", "complete the object or remove it")
                continue
            if object_id in ids:
                report.add("error", path, "object_id", "a duplicate object id in one image",
                           f"image {image_id}, object {object_id}", "give every object of an image its own id")
            ids.add(object_id)
            if not raw or not all(isinstance(n, str) and n.strip() for n in raw):
                report.add("warning", path, "names", "an object without a name", f"image {image_id}, object "
                           f"{object_id}", "name it (preprocess_vg drops objects without one)")
            else:
                names[raw[0].strip().lower()] += 1
            if not ok:
                report.add("warning", path, "x, y, w, h", "a box outside its image or of zero area",
                           f"image {image_id}, object {object_id}", "fix the box (preprocess_vg drops small ones)")
    return per_image


def _relationships(data, path: Path, objects: dict[int, set[int]], report: Report, predicates: Counter) -> None:
    for rec in data:
        image_id = rec.get("image_id") if isinstance(rec, dict) else None
        if image_id not in objects:
            report.add("warning", path, "image_id", "relationships of an image without objects in objects.json",
                       f"image {image_id}", "add the image's objects or remove the record")
            continue
        for rel in rec.get("relationships") or []:
            try:
                predicate = rel["predicate"].lower().strip()
                ends = (int(rel["subject"]["object_id"]), int(rel["object"]["object_id"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                report.add("warning", path, "relationships", "a malformed relationship (predicate, "
                           "subject.object_id, object.object_id)", f"image {image_id}: {str(rel)[:50]}",
                           "complete the relationship or remove it")
                continue
            missing = [e for e in ends if e not in objects[image_id]]
            if missing:
                report.add("warning", path, "subject/object", "a relationship whose end is not among its image's "
                           "objects", f"image {image_id}: {predicate}, object {missing[0]}",
                           "add the object to objects.json or remove the relationship (preprocess_vg drops it)")
                continue
            predicates[predicate] += 1


def validate_vg(root: str | Path, check_pixels: bool = True) -> Report:
    """Check a VG-format folder (``LAYOUT``): errors, warnings, the summary, samples for the card."""
    root = Path(root)
    report = Report("vg", str(root))
    loaded = {name: load_json(root / name, report, name) for name in REQUIRED}
    for name, data in loaded.items():
        if data is not None and not isinstance(data, list):
            report.add("error", root / name, "", "not a JSON list of per-image records", "top level",
                       "a Visual Genome file is a list with one record per image")
            loaded[name] = None
    if (root / "attributes.json").exists():
        load_json(root / "attributes.json", report, "attributes.json")
    names, predicates = Counter(), Counter()
    sizes = _images(loaded["image_data.json"] or [], root / "image_data.json", root, report, check_pixels)
    _samples(loaded, root, sizes, report)
    objects = _objects(loaded["objects.json"] or [], root / "objects.json", sizes, report, names)
    _relationships(loaded["relationships.json"] or [], root / "relationships.json", objects, report, predicates)
    per_image = [len(ids) for ids in objects.values()]
    report.summary = {
        "splits": {"all": {"images": len(sizes), "objects": sum(per_image),
                           "objects_per_image_mean": sum(per_image) / max(len(sizes), 1),
                           "objects_per_image_max": max(per_image, default=0),
                           "images_without_objects": len(sizes) - len(objects)}},
        "categories": dict(names.most_common()), "predicates": dict(predicates.most_common()),
        "optional_files": {name: (root / name).exists() for name in OPTIONAL}}
    if not sizes and not report.errors:
        report.add("error", root / "image_data.json", "", "no usable image", "the whole file",
                   "list your images in image_data.json")
    return report


def _samples(loaded: dict, root: Path, sizes: dict, report: Report) -> None:
    """The card's samples: the first images whose objects and relationships read cleanly."""
    urls = {int(r.get("image_id", r.get("id"))): r["url"] for r in loaded["image_data.json"] or []
            if isinstance(r, dict) and "url" in r and ("image_id" in r or "id" in r)}
    rels = {r.get("image_id"): r.get("relationships") or [] for r in loaded["relationships.json"] or []
            if isinstance(r, dict)}
    for rec in loaded["objects.json"] or []:
        if len(report.samples) >= 4:
            return
        try:
            image_id = rec["image_id"]
            objs = [o for o in rec["objects"] if _box_ok(o, sizes[image_id])][:8]
            objects = [((o["names"] if "names" in o else [o["name"]])[0], o["x"], o["y"], o["w"], o["h"]) for o in objs]
            slot = {o["object_id"]: i for i, o in enumerate(objs)}
            triples = [(slot[r["subject"]["object_id"]], r["predicate"].lower().strip(), slot[r["object"]["object_id"]])
                       for r in rels.get(image_id, []) if r["subject"]["object_id"] in slot
                       and r["object"]["object_id"] in slot]
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            continue  # not a clean sample (the checks above name what is wrong)
        report.sample(root / "images" / image_path_from_url(urls.get(image_id, "")), objects, triples[:8])
