"""Synthetic Visual Genome v1.4: schema against the real records, image paths, truth of every
relationship in the picture, aliases, mess, determinism, atomic writes and the download_vg stage."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sg2im.synthetic import vg_writer
from sg2im.synthetic.vg_writer import write_vg
from sg2im.synthetic.vocab import VG_OBJECT_NAMES, VG_PREDICATES

REPO = Path(__file__).resolve().parent.parent
REAL = REPO / "tests" / "fixtures" / "vg_real"
FILES = ("image_data", "objects", "attributes", "relationships")


@pytest.fixture(scope="module")
def vg(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vg") / "vg"
    write_vg(root, num_images=20, image_size=256, seed=2, workers=1)
    return root


@pytest.fixture(scope="module")
def vg_big(tmp_path_factory) -> Path:
    """Annotations only: enough images for the rare cases."""
    root = tmp_path_factory.mktemp("vg_big") / "vg"
    write_vg(root, num_images=1500, image_size=384, seed=0, annotations_only=True, workers=1)
    return root


def _load(root: Path) -> dict[str, list]:
    return {k: json.loads((root / f"{k}.json").read_text()) for k in FILES}


def _alias_map(path: Path) -> dict[str, str]:
    """The original preprocess_vg rule: every entry of a line maps to the line's first entry."""
    out = {}
    for line in path.read_text().splitlines():
        names = [n.strip() for n in line.split(",")]
        for n in names:
            out[n] = names[0]
    return out


def _end_name(end: dict) -> str:
    return end["name"] if "name" in end else end["names"][0]


# ----------------------------------------------------------------------------- schema
def _key_variants(records) -> set[tuple[str, ...]]:
    return {tuple(sorted(r)) for r in records}


def _types(record: dict) -> dict[str, type]:
    return {k: type(v) for k, v in record.items()}


def test_schema_matches_the_real_v14_files(vg):
    ours, real = _load(vg), _load(REAL)
    assert all(len(ours[k]) == 20 for k in FILES)
    ids = [r["image_id"] for r in ours["image_data"]]
    for k in FILES:
        assert [r["image_id"] for r in ours[k]] == ids  # same image order in every file
        assert _key_variants(ours[k]) == _key_variants(real[k])
    assert _types(ours["image_data"][0]) == _types(real["image_data"][0])
    sub = {
        "objects": lambda f: [o for r in f["objects"] for o in r["objects"]],
        "attributes": lambda f: [o for r in f["attributes"] for o in r["attributes"]],
        "relationships": lambda f: [x for r in f["relationships"] for x in r["relationships"]],
        "endpoints": lambda f: [x[e] for r in f["relationships"] for x in r["relationships"] for e in ("subject", "object")],
    }
    for name, get in sub.items():
        assert _key_variants(get(ours)) <= _key_variants(get(real)), name
        real_types = {}
        for rec in get(real):
            real_types.update(_types(rec))
        for rec in get(ours):
            assert {k: real_types[k] for k in rec} == _types(rec), (name, rec)
    for o in sub["objects"](ours):
        assert all(isinstance(s, str) for s in o["names"] + o["synsets"]) and o["w"] > 0 and o["h"] > 0


def test_image_paths_follow_the_original_rule(vg):
    splits = json.loads((REPO / "sg2im" / "data" / "vg_splits.json").read_text())
    known = {i for v in splits.values() for i in v}
    for rec in _load(vg)["image_data"]:
        rel = os.path.join(os.path.basename(os.path.dirname(rec["url"])), os.path.basename(rec["url"]))
        assert rel == f"VG_100K/{rec['image_id']}.jpg"
        assert rec["image_id"] in known
        with Image.open(vg / "images" / rel) as im:
            assert im.size == (rec["width"], rec["height"])


def test_alias_files_are_comma_separated_with_the_canonical_name_first(vg):
    objects = _alias_map(vg / "object_alias.txt")
    preds = _alias_map(vg / "relationship_alias.txt")
    assert objects["sheeps"] == "sheep" and objects["Sheep"] == "sheep" and objects["trees"] == "tree"
    assert preds["stands on"] == "standing on"
    assert set(objects.values()) <= set(VG_OBJECT_NAMES) and set(preds.values()) <= set(VG_PREDICATES)


# ----------------------------------------------------------------------------- content
def test_every_figure_name_and_predicate_appears(vg_big):
    data = _load(vg_big)
    objects = _alias_map(vg_big / "object_alias.txt")
    preds = _alias_map(vg_big / "relationship_alias.txt")
    names = {objects.get(n, n) for r in data["objects"] for o in r["objects"] for n in o["names"]}
    counts: dict[str, int] = {}
    for r in data["relationships"]:
        for x in r["relationships"]:
            p = x["predicate"].lower().strip()
            p = preds.get(p, p)
            counts[p] = counts.get(p, 0) + 1
    for fig in ("figure_5_vg", "figure_6_sheep", "figure_6_street"):
        for g in json.loads((REPO / "scene_graphs" / f"{fig}.json").read_text()):
            assert set(g["objects"]) <= names, (fig, set(g["objects"]) - names)
            for _, p, _ in g["relationships"]:
                assert counts.get(p, 0) >= 10, (fig, p, counts.get(p, 0))
    assert 30 <= len(names & set(VG_OBJECT_NAMES)) <= 60


def test_relationships_are_true_in_the_picture(vg_big):
    """Independent geometric check of the written boxes (pixels) for every canonical predicate."""
    data = _load(vg_big)
    preds = _alias_map(vg_big / "relationship_alias.txt")
    checked = 0
    for objs, rels, im in zip(data["objects"], data["relationships"], data["image_data"]):
        box = {o["object_id"]: (o["x"], o["y"], o["x"] + o["w"], o["y"] + o["h"]) for o in objs["objects"]}
        t = 0.03 * im["width"] + 2
        for r in rels["relationships"]:
            s_id, o_id = r["subject"]["object_id"], r["object"]["object_id"]
            if s_id not in box or o_id not in box:
                continue
            p = r["predicate"].lower().strip()
            p = preds.get(p, p)
            s, o = np.array(box[s_id], float), np.array(box[o_id], float)
            scx, scy, ocy = (s[0] + s[2]) / 2, (s[1] + s[3]) / 2, (o[1] + o[3]) / 2
            overlap = min(s[2], o[2]) - max(s[0], o[0]) > -t and min(s[3], o[3]) - max(s[1], o[1]) > -t
            if p in ("on", "standing on", "parked on", "on top of", "walking on", "riding"):
                ok = o[1] - t <= s[3] <= o[3] + t and o[0] - t <= scx <= o[2] + t and s[1] < ocy + t
            elif p == "above":
                ok = scy < ocy and s[3] < ocy + t
            elif p in ("under", "below"):
                ok = scy > ocy and s[1] > ocy - t
            elif p == "in":
                ok = s[0] >= o[0] - t and s[1] >= o[1] - t and s[2] <= o[2] + t and s[3] <= o[3] + t
            elif p in ("has", "wearing", "holding"):
                ok = o[0] >= s[0] - t and o[1] >= s[1] - t and o[2] <= s[2] + 2 * t and o[3] <= s[3] + 2 * t or overlap
            elif p in ("behind", "in front of", "eating", "of"):
                ok = overlap
            elif p in ("by", "next to", "beside", "near"):
                ok = min(s[3], o[3]) - max(s[1], o[1]) > 0 and max(o[0] - s[2], s[0] - o[2]) < 0.35 * im["width"]
            elif p == "along":
                ok = abs(s[3] - o[1]) <= 0.15 * im["height"]
            elif p == "looking at":
                ok = True
            else:
                raise AssertionError(f"unexpected predicate {r['predicate']!r}")
            assert ok, (im["image_id"], _end_name(r["subject"]), r["predicate"], _end_name(r["object"]), s, o)
            checked += 1
    assert checked > 5000


def test_the_mess_of_real_data_is_present(vg_big):
    data = _load(vg_big)
    objects_alias = _alias_map(vg_big / "object_alias.txt")
    n_img = len(data["image_data"])
    small_images = sum(min(r["width"], r["height"]) < 200 for r in data["image_data"])
    assert 0 < small_images < 0.05 * n_img
    all_objs = [o for r in data["objects"] for o in r["objects"]]
    names = [o["names"][0] for o in all_objs]
    assert "sheeps" in names or "Sheep" in names
    variants = sum(n not in VG_OBJECT_NAMES for n in names)
    assert 0 < variants < 0.08 * len(names)
    assert any(n not in objects_alias and n not in VG_OBJECT_NAMES for n in names)  # unaliased, dropped
    tiny = sum(o["w"] < 32 or o["h"] < 32 for o in all_objs)
    assert 0 < tiny < 0.06 * len(all_objs)
    per_image = [len(r["objects"]) for r in data["objects"]]
    assert 0 < sum(n < 3 for n in per_image) < 0.06 * n_img and any(n > 30 for n in per_image)
    ids = {o["object_id"] for o in all_objs}
    rels = [x for r in data["relationships"] for x in r["relationships"]]
    dangling = [x for x in rels if x["subject"]["object_id"] not in ids or x["object"]["object_id"] not in ids]
    assert 0 < len(dangling) < 0.06 * len(rels)
    merged = {m for o in all_objs for m in o["merged_object_ids"]}
    assert merged and not merged & ids
    raw = [x["predicate"] for x in rels]
    assert any(p != p.lower() for p in raw) and any(p in ("stands on", "wears", "has a", "rides") for p in raw)
    assert sum(p not in VG_PREDICATES for p in raw) < 0.08 * len(raw)
    assert any("names" in x["subject"] for x in rels) and any("name" in x["subject"] for x in rels)
    attrs = [a for r in data["attributes"] for a in r["attributes"]]
    assert any("attributes" not in a for a in attrs) and any("attributes" in a for a in attrs)


def test_attributes_match_the_picture(vg):
    """Colour words are the colour the object is drawn in (sampled from the JPEG inside its box)."""
    data = _load(vg)
    palette = {"white": (240, 240, 236), "black": (38, 38, 42), "green": (60, 150, 55), "yellow": (238, 205, 50),
               "red": (200, 45, 40)}
    checked = 0
    for im, attrs in zip(data["image_data"], data["attributes"]):
        img = np.asarray(Image.open(vg / "images" / "VG_100K" / f"{im['image_id']}.jpg").convert("RGB"), float)
        for a in attrs["attributes"]:
            words = set(a.get("attributes", [])) & set(palette)
            if len(words) != 1 or a["names"][0] not in ("car", "bus", "sheep", "grass", "boat", "kite", "cloud"):
                continue
            crop = img[a["y"]:a["y"] + a["h"], a["x"]:a["x"] + a["w"]].reshape(-1, 3)
            ref = np.array(palette[words.pop()])
            near = (np.abs(crop - ref).sum(1) < 90).mean()
            assert near > 0.15, (im["image_id"], a["names"], a["attributes"], near)
            checked += 1
    assert checked >= 5


# ----------------------------------------------------------------------------- determinism, atomic, stage
def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_bytes_on_rerun_and_for_any_worker_count(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_vg(a, 70, image_size=120, seed=4, workers=1)
    write_vg(b, 70, image_size=120, seed=4, workers=2)  # 70 jobs >= 2 chunks of 32: really uses the pool
    ha = _tree_hashes(a)
    assert len(ha) == 70 + 6 and ha == _tree_hashes(b)


def test_a_failed_run_leaves_the_previous_dataset(tmp_path, monkeypatch):
    root = tmp_path / "vg"
    write_vg(root, 5, image_size=120, workers=1)
    (root / "train.h5").write_bytes(b"written by preprocess_vg")  # other files in data/vg are left alone
    before = _tree_hashes(root)
    real = vg_writer.make_image

    def failing(job):
        if job.index == 3:
            raise RuntimeError("killed")
        return real(job)

    monkeypatch.setattr(vg_writer, "make_image", failing)
    with pytest.raises(RuntimeError):
        write_vg(root, 8, image_size=120, seed=1, workers=1)
    assert {k: v for k, v in _tree_hashes(root).items() if not k.startswith(".")} == before
    monkeypatch.setattr(vg_writer, "make_image", real)
    write_vg(root, 3, image_size=120, workers=1)
    assert (root / "train.h5").read_bytes() == b"written by preprocess_vg"
    assert len(list((root / "images" / "VG_100K").glob("*.jpg"))) == 3
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def _stage():
    spec = importlib.util.spec_from_file_location("download_vg", REPO / "stages" / "download_vg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_and_scale_options(tmp_path):
    stage = _stage()
    out = tmp_path / "vg"
    counts = stage.main(["--source", "synthetic", "--out_dir", str(out), "--num_images", "30", "--annotations_only",
                         "1", "--clutter_objects", "24", "--clutter_relationships", "17", "--workers", "1"])
    assert counts["images"] == 30 and 25 <= counts["objects"] / 30 <= 45 and 12 <= counts["relationships"] / 30 <= 30
    assert not list((out / "images" / "VG_100K").glob("*.jpg"))
    from sg2im.errors import ParamsError

    with pytest.raises(ParamsError, match="annotations_only"):
        stage.main(["--source", "synthetic", "--out_dir", str(out), "--clutter_objects", "5"])


def test_preview_draws_both_datasets(vg, tmp_path):
    from sg2im.synthetic.preview import main as preview

    out = preview(["--dataset", "vg", "--root", str(vg), "--out", str(tmp_path / "vg.png"), "--num", "4"])
    with Image.open(out) as im:
        assert im.width > 600 and out.stat().st_size < 300_000
    out = preview(["--dataset", "coco", "--root", str(tmp_path / "missing"), "--out", str(tmp_path / "coco.png"),
                   "--num", "4"])  # no dataset there: a small one is generated first
    with Image.open(out) as im:
        assert im.width > 600 and out.stat().st_size < 300_000
