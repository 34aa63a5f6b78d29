"""Tiny archives with the official COCO and Visual Genome names and layouts, for a local HTTP server."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def zip_bytes(tmp: Path, name: str, members: dict[str, bytes]) -> bytes:
    path = tmp / f"src-{name}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path.read_bytes()


def _instances(split: str) -> bytes:
    return json.dumps({"images": [{"id": 9, "file_name": "000000000009.jpg", "width": 640, "height": 480}],
                       "annotations": [], "categories": [{"id": 1, "name": "person"}], "split": split}).encode()


def coco_files(tmp: Path) -> dict[str, bytes]:
    """URL path -> content, laid out as on images.cocodataset.org."""
    ann = {f"annotations/instances_{s}2017.json": _instances(s) for s in ("train", "val")}
    ann["annotations/captions_train2017.json"] = b"{}"
    stuff = {f"annotations/stuff_{s}2017.json": _instances(s) for s in ("train", "val")}
    return {
        "/annotations/annotations_trainval2017.zip": zip_bytes(tmp, "a.zip", ann),
        "/annotations/stuff_annotations_trainval2017.zip": zip_bytes(tmp, "s.zip", stuff),
        "/zips/train2017.zip": zip_bytes(tmp, "t.zip", {"train2017/000000000009.jpg": JPEG,
                                                        "train2017/000000000025.jpg": JPEG[::-1]}),
        "/zips/val2017.zip": zip_bytes(tmp, "v.zip", {"val2017/000000000139.jpg": JPEG}),
    }


def vg_files(tmp: Path) -> dict[str, bytes]:
    """URL path -> content, laid out as on visualgenome.org and cs.stanford.edu."""
    files = {f"/vg/{name}.json.zip": zip_bytes(tmp, name, {f"{name}.json": json.dumps([{"image_id": 1}]).encode()})
             for name in ("image_data", "objects", "attributes", "relationships")}
    files["/vg/object_alias.txt"] = b"man,men\n"
    files["/vg/relationship_alias.txt"] = b"on top of,on\n"
    files["/img/images.zip"] = zip_bytes(tmp, "i1", {"VG_100K/1.jpg": JPEG, "VG_100K/10.jpg": JPEG})
    files["/img/images2.zip"] = zip_bytes(tmp, "i2", {"VG_100K_2/2.jpg": JPEG})
    return files


def coco_urls(base: str) -> dict[str, str]:
    return {"coco_base_url": f"{base}/annotations", "coco_images_base_url": f"{base}/zips/"}


def vg_urls(base: str) -> dict[str, str]:
    return {"vg_base_url": f"{base}/vg", "vg_images_base_url": f"{base}/img"}
