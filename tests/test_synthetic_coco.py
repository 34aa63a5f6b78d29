"""Synthetic COCO 2017 + COCO-Stuff: official schema, pycocotools round trip (also on the real
fixtures), determinism, vocabulary, mess, atomic writes and the download_coco stage."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from sg2im.synthetic import coco_writer
from sg2im.synthetic.coco_writer import write_coco
from sg2im.synthetic.vocab import COCO_ID_BY_NAME

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "tests" / "fixtures"


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coco") / "coco"
    write_coco(root, num_train_images=16, num_val_images=8, image_size=96, seed=3, workers=1)
    return root


@pytest.fixture(scope="module")
def coco_big(tmp_path_factory) -> Path:
    """Annotations only, enough images for the rare cases (mess, every figure class)."""
    root = tmp_path_factory.mktemp("coco_big") / "coco"
    write_coco(root, num_train_images=700, num_val_images=1, image_size=128, seed=0, annotations_only=True,
               workers=1)
    return root


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- layout and schema
def test_layout_and_image_files(coco):
    for split, n in (("train2017", 16), ("val2017", 8)):
        files = sorted((coco / "images" / split).glob("*.jpg"))
        assert len(files) == n
        data = json.loads((coco / "annotations" / f"instances_{split[:-4]}2017.json").read_text())
        for rec in data["images"]:
            assert rec["file_name"] == f"{rec['id']:012d}.jpg"
            with Image.open(coco / "images" / split / rec["file_name"]) as im:
                assert im.size == (rec["width"], rec["height"]) and im.format == "JPEG"
    assert not any(p.name.startswith(".") for p in coco.iterdir()), "temporary folders left behind"


def test_schema_matches_the_real_files(coco):
    real_inst = json.loads((FIX / "coco_real/annotations/instances_train2017.json").read_text())
    real_stuff = json.loads((FIX / "coco_real/annotations/stuff_train2017.json").read_text())
    inst = json.loads((coco / "annotations/instances_train2017.json").read_text())
    stuff = json.loads((coco / "annotations/stuff_train2017.json").read_text())
    for ours, real in ((inst, real_inst), (stuff, real_stuff)):
        assert list(ours) == list(real)  # same keys in the same order
        assert ours["categories"] == real["categories"]  # the real ids, names, supercategories
        assert ours["licenses"] == real["licenses"]
        assert set(ours["info"]) == set(real["info"])
        assert [list(r) for r in ours["images"]] == [list(real["images"][0])] * len(ours["images"])
        for a in ours["annotations"]:
            assert list(a) == list(real["annotations"][0])
            assert all(isinstance(v, float) for v in a["bbox"]) and isinstance(a["area"], float)
            assert a["iscrowd"] == 0
    assert [c["id"] for c in inst["categories"]][-1] == 90 and len(inst["categories"]) == 80
    assert {c["id"] for c in stuff["categories"]} == set(range(92, 184))
    assert all(isinstance(a["segmentation"], list) for a in inst["annotations"])  # polygons
    assert all(isinstance(a["segmentation"]["counts"], str) for a in stuff["annotations"])  # compressed RLE
    assert inst["images"] == stuff["images"]


# ----------------------------------------------------------------------------- pycocotools round trip
def _check_round_trip(instances: Path, stuff: Path | None, exact: bool) -> None:
    """Load with pycocotools, decode every mask, compare area/bbox with the mask; for stuff files:
    masks do not overlap, cover the image (exact) or most of it, and 'other' is the things' union."""
    inst = COCO(str(instances))
    thing_union: dict[int, np.ndarray] = {}
    for ann in inst.loadAnns(inst.getAnnIds()):
        m = inst.annToMask(ann).astype(bool)
        img = inst.imgs[ann["image_id"]]
        assert m.shape == (img["height"], img["width"])
        if ann["iscrowd"]:
            assert m.sum() > 0  # COCO's crowd areas are not the pixel count
        elif exact:
            assert m.sum() == ann["area"]
        else:
            assert abs(m.sum() - ann["area"]) <= 0.1 * ann["area"] + 10
        ys, xs = np.nonzero(m)
        x, y, w, h = ann["bbox"]
        tol = 1.0 if exact else 2.5  # real polygons: bbox from the vertices, mask from rasterisation
        assert abs(xs.min() - x) <= tol and abs(ys.min() - y) <= tol
        assert abs(xs.max() + 1 - (x + w)) <= tol and abs(ys.max() + 1 - (y + h)) <= tol
        thing_union[ann["image_id"]] = thing_union.get(ann["image_id"], np.zeros_like(m)) | m
    if stuff is None:
        return
    st = COCO(str(stuff))
    assert {c["id"] for c in st.loadCats(st.getCatIds())} <= set(range(92, 184))
    for img_id, img in st.imgs.items():
        anns = st.loadAnns(st.getAnnIds(imgIds=[img_id]))
        total = np.zeros((img["height"], img["width"]), np.int32)
        other = None
        for ann in anns:
            assert isinstance(ann["segmentation"]["counts"], str)
            m = st.annToMask(ann)
            assert abs(int(m.sum()) - ann["area"]) <= 1
            assert np.allclose(mask_utils.toBbox(ann["segmentation"]), ann["bbox"], atol=1)
            total += m
            if ann["category_id"] == 183:
                other = m.astype(bool)
        assert total.max() <= 1, f"stuff masks overlap in image {img_id}"
        coverage = total.mean()
        assert coverage == 1.0 if exact else coverage > 0.7
        things = thing_union.get(img_id)
        if things is not None and things.any():
            assert other is not None
            iou = (other & things).sum() / (other | things).sum()
            assert iou >= (0.999 if exact else 0.99), f"'other' does not cover the things of image {img_id}: {iou}"


def test_synthetic_round_trip(coco):
    for split in ("train", "val"):
        _check_round_trip(coco / f"annotations/instances_{split}2017.json",
                          coco / f"annotations/stuff_{split}2017.json", exact=True)


def test_real_fixture_round_trip():
    _check_round_trip(FIX / "coco_real/annotations/instances_train2017.json",
                      FIX / "coco_real/annotations/stuff_train2017.json", exact=False)


def test_real_crowd_fixture_round_trip():
    path = FIX / "coco_real_crowd/instances_train2017_crowd.json"
    data = json.loads(path.read_text())
    crowd = [a for a in data["annotations"] if a["iscrowd"]]
    assert crowd and all(isinstance(a["segmentation"]["counts"], list) for a in crowd)  # uncompressed RLE
    _check_round_trip(path, None, exact=False)


# ----------------------------------------------------------------------------- determinism, content
def test_same_bytes_on_rerun_and_for_any_worker_count(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_coco(a, 40, 2, image_size=48, seed=5, workers=1)
    write_coco(b, 40, 2, image_size=48, seed=5, workers=2)  # 40 jobs >= 2 chunks: really uses the pool
    ha, hb = _tree_hashes(a), _tree_hashes(b)
    assert len(ha) == 40 + 2 + 4 and ha == hb
    write_coco(b, 40, 2, image_size=48, seed=6, workers=1)
    assert _tree_hashes(b) != ha


def _loader_view(root: Path, split: str = "train"):
    """Objects per image as the sg2im COCO loader filters them (box area > 2%, no 'other')."""
    inst = json.loads((root / f"annotations/instances_{split}2017.json").read_text())
    stuff = json.loads((root / f"annotations/stuff_{split}2017.json").read_text())
    size = {i["id"]: i["width"] * i["height"] for i in inst["images"]}
    kept = {i: [] for i in size}
    for a in inst["annotations"] + stuff["annotations"]:
        if a["category_id"] != 183 and a["bbox"][2] * a["bbox"][3] > 0.02 * size[a["image_id"]]:
            kept[a["image_id"]].append(a["category_id"])
    return inst, kept


def test_every_figure_object_exists_and_appears(coco_big):
    names = set()
    for g in json.loads((REPO / "scene_graphs/figure_5_coco.json").read_text()):
        names |= set(g["objects"])
    assert names <= set(COCO_ID_BY_NAME), names - set(COCO_ID_BY_NAME)
    _, kept = _loader_view(coco_big)
    counts: dict[int, int] = {}
    for cats in kept.values():
        for c in cats:
            counts[c] = counts.get(c, 0) + 1
    rare = {n: counts.get(COCO_ID_BY_NAME[n], 0) for n in names if counts.get(COCO_ID_BY_NAME[n], 0) < 10}
    assert not rare, f"figure classes too rare in 700 synthetic images: {rare}"
    assert 30 <= len(counts) <= 70  # a moderate number of classes a small model can learn


def test_the_mess_of_real_data_is_present(coco_big):
    inst, kept = _loader_view(coco_big)
    size = {i["id"]: (i["width"], i["height"]) for i in inst["images"]}
    n = len(kept)
    few = sum(len(v) < 3 for v in kept.values())
    many = sum(len(v) > 8 for v in kept.values())
    small = sum(a["bbox"][2] * a["bbox"][3] <= 0.02 * np.prod(size[a["image_id"]]) for a in inst["annotations"])
    assert 0 < few < 0.1 * n and 0 < many < 0.1 * n
    assert 0 < small < 0.25 * len(inst["annotations"])
    assert 0 < sum(w != h for w, h in size.values()) < 0.3 * n  # some 4:3 images


def test_layout_is_predictable_from_the_class(coco_big):
    """A graph-blind baseline (each class's mean box) must reach moderate recall: classes have
    typical places, yet things are not pinned (relations still carry information)."""
    inst, kept_ids = _loader_view(coco_big)
    stuff = json.loads((coco_big / "annotations/stuff_train2017.json").read_text())
    size = {i["id"]: (i["width"], i["height"]) for i in inst["images"]}
    boxes: dict[int, list] = {}
    items = []
    for a in inst["annotations"] + stuff["annotations"]:
        W, H = size[a["image_id"]]
        x, y, w, h = a["bbox"]
        if a["category_id"] != 183 and w * h > 0.02 * W * H and 3 <= len(kept_ids[a["image_id"]]) <= 8:
            box = np.array([x / W, y / H, (x + w) / W, (y + h) / H])
            items.append((a["image_id"], a["category_id"], box))
    train = [t for t in items if t[0] % 8 != 5]
    test = [t for t in items if t[0] % 8 == 5]
    for _, c, b in train:
        boxes.setdefault(c, []).append(b)
    mean = {c: np.mean(v, 0) for c, v in boxes.items()}

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    hits = [iou(b, mean[c]) >= 0.5 for _, c, b in test if c in mean]
    things = [iou(b, mean[c]) >= 0.5 for _, c, b in test if c in mean and c <= 90]
    assert 0.38 <= np.mean(hits) <= 0.65
    assert np.mean(things) < 0.25


# ----------------------------------------------------------------------------- atomic writes, stage
def test_a_failed_run_leaves_the_previous_dataset(tmp_path, monkeypatch):
    root = tmp_path / "coco"
    write_coco(root, 4, 2, image_size=48, workers=1)
    before = _tree_hashes(root)
    real = coco_writer.make_image

    def failing(job):
        if job.index == 3:
            raise RuntimeError("killed")
        return real(job)

    monkeypatch.setattr(coco_writer, "make_image", failing)
    with pytest.raises(RuntimeError):
        write_coco(root, 6, 2, image_size=48, seed=1, workers=1)
    after = {k: v for k, v in _tree_hashes(root).items() if not k.startswith(".")}
    assert after == before


def _stage(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_writes_the_official_layout(tmp_path):
    out = tmp_path / "data" / "coco"
    counts = _stage("download_coco").main(["--source", "synthetic", "--out_dir", str(out), "--num_train_images", "3",
                                           "--num_val_images", "2", "--image_size", "48", "--workers", "1"])
    assert counts["train_images"] == 3 and counts["val_images"] == 2
    assert sorted(p.name for p in (out / "annotations").iterdir()) == [
        "instances_train2017.json", "instances_val2017.json", "stuff_train2017.json", "stuff_val2017.json"]
    assert len(list((out / "images" / "val2017").glob("*.jpg"))) == 2


def test_unknown_source_is_refused():
    bad = subprocess.run([sys.executable, "stages/download_coco.py", "--source", "imagenet"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "synthetic" in bad.stderr
