"""Visual Genome preprocessing: the real VG sample (tests/fixtures/vg_real) with the official
split, the HDF5 schema, agreement with a plain re-statement of the original algorithm, the
quirk (a) fix, streaming JSON, atomic outputs and bad-data errors."""
from __future__ import annotations

import json
import os
from argparse import Namespace
from collections import Counter, defaultdict
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers_config import preprocess_config
from sg2im.data.vg_preprocess import preprocess_vg as _preprocess_vg
from sg2im.data.vg_preprocess.load import auto_split, image_path_from_url, load_splits
from sg2im.data.vg_preprocess.stream import iter_json_array


def preprocess_vg(args, log=print):
    """The package's preprocess_vg on the settings of ``args`` (the original's flags as a Namespace)."""
    return _preprocess_vg(preprocess_config(args), log=log)
from sg2im.errors import DataError

REPO = Path(__file__).resolve().parent.parent
VG_REAL = REPO / "tests" / "fixtures" / "vg_real"
SPLITS = REPO / "sg2im" / "data" / "vg_splits.json"

H5_SCHEMA = {  # key -> trailing shape (None = number of objects for object_attributes)
    "image_ids": (), "object_ids": (30,), "object_names": (30,), "object_boxes": (30, 4), "objects_per_image": (),
    "relationship_ids": (30,), "relationship_subjects": (30,), "relationship_predicates": (30,),
    "relationship_objects": (30,), "relationships_per_image": (), "attributes_per_object": (30,),
    "object_attributes": (30,), "image_paths": (),
}


def vg_args(src: Path, out: Path, **over) -> Namespace:
    values = dict(
        splits_json=str(SPLITS), images_json=str(src / "image_data.json"), objects_json=str(src / "objects.json"),
        attributes_json=str(src / "attributes.json"), object_aliases=str(src / "object_alias.txt"),
        relationship_aliases=str(src / "relationship_alias.txt"), relationships_json=str(src / "relationships.json"),
        min_image_size=200, train_split="train", min_object_instances=10, min_attribute_instances=5,
        min_object_size=32, min_objects_per_image=3, max_objects_per_image=30, max_attributes_per_image=30,
        min_relationship_instances=5, min_relationships_per_image=1, max_relationships_per_image=30,
        output_vocab_json=str(out / "vocab.json"), output_h5_dir=str(out),
    )
    values.update(over)
    return Namespace(**values)


def read_h5(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f.keys()}


@pytest.fixture(scope="module")
def vg_real_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("vg_real_out")
    summary = preprocess_vg(vg_args(VG_REAL, out), log=lambda *_: None)
    return out, summary


# --------------------------------------------------------------------------- reference
def _out_of_range(n: int, low: int, high: int, what: str) -> str | None:
    return f"too_few_{what}" if n < low else f"too_many_{what}" if n > high else None


def reference_preprocess(args: Namespace, probe: dict | None = None) -> tuple[dict, dict]:
    """The original scripts/preprocess_vg.py algorithm restated plainly (json.load, dicts), with
    quirk (a) fixed (predicates normalised for every split) and deterministic name tie order.
    ``probe`` (a dict) receives what the filters saw: instance counts, object sizes, per-image counts and
    the images each per-image filter dropped."""
    probe = {} if probe is None else probe
    images = {i["image_id"]: i for i in json.load(open(args.images_json))}
    splits = {k: [i for i in v if i in images and min(images[i]["height"], images[i]["width"]) >= args.min_image_size]
              for k, v in json.load(open(args.splits_json)).items()}

    def aliases(path):
        out = {}
        for line in open(path):
            names = [s.strip() for s in line.split(",")]
            for n in names:
                out[n] = names[0]
        return out

    oa, ra = aliases(args.object_aliases), aliases(args.relationship_aliases)
    objects = json.load(open(args.objects_json))
    attributes = json.load(open(args.attributes_json))
    relationships = json.load(open(args.relationships_json))
    train = set(splits["train"])
    c = Counter()
    for im in objects:
        if im["image_id"] in train:
            for o in im["objects"]:
                c.update(dict.fromkeys((oa.get(n, n) for n in o["names"]), 1))
    obj_names = ["__image__"] + [n for n, k in c.most_common() if k >= args.min_object_instances]
    probe["object_instances"] = set(c.values())
    o2i = {n: i for i, n in enumerate(obj_names)}
    c = Counter()
    for im in attributes:
        if im["image_id"] in train:
            for a in im["attributes"]:
                if "attributes" in a:
                    c.update(dict.fromkeys(a["attributes"], 1))
    attr_names = [n for n, k in c.most_common() if k >= args.min_attribute_instances]
    probe["attribute_instances"] = set(c.values())
    a2i = {n: i for i, n in enumerate(attr_names)}
    all_ids = set().union(*map(set, splits.values()))
    kept = {}
    probe["object_sizes"] = set()
    for im in objects:
        if im["image_id"] in all_ids:
            for o in im["objects"]:
                name = next((oa.get(n, n) for n in o["names"] if oa.get(n, n) in o2i), None)
                if name is not None:
                    probe["object_sizes"].add(min(o["w"], o["h"]))
                if name is not None and o["w"] >= args.min_object_size and o["h"] >= args.min_object_size:
                    kept[o["object_id"]] = (o2i[name], [o["x"], o["y"], o["w"], o["h"]])
    for im in relationships:
        for r in im["relationships"]:
            p = r["predicate"].lower().strip()
            r["predicate"] = ra.get(p, p)
    pc = defaultdict(int)
    for im in relationships:
        if im["image_id"] in train:
            for r in im["relationships"]:
                if r["subject"]["object_id"] in kept and r["object"]["object_id"] in kept:
                    pc[r["predicate"]] += 1
    preds = ["__in_image__"] + [p for p, k in pc.items() if k >= args.min_relationship_instances]
    probe["relationship_instances"] = set(pc.values())
    probe["objects_per_image"], probe["relationships_per_image"], probe["dropped"] = set(), set(), {}
    p2i = {n: i for i, n in enumerate(preds)}
    objs_of = {im["image_id"]: im["objects"] for im in objects}
    rels_of = {im["image_id"]: im["relationships"] for im in relationships}
    attrs_of = {im["image_id"]: im["attributes"] for im in attributes}
    out = {}
    max_o, max_r, max_a = args.max_objects_per_image, args.max_relationships_per_image, args.max_attributes_per_image
    for split, ids in splits.items():
        rows = defaultdict(list)
        dropped = probe["dropped"][split] = Counter()
        for image_id in ids:
            o_ids = [o["object_id"] for o in objs_of[image_id] if o["object_id"] in kept]
            slot = {oid: i for i, oid in enumerate(o_ids)}
            rels = [(r["relationship_id"], slot[r["subject"]["object_id"]], p2i[r["predicate"]], slot[r["object"]["object_id"]])
                    for r in rels_of[image_id] if r["predicate"] in p2i
                    and r["subject"]["object_id"] in slot and r["object"]["object_id"] in slot]
            probe["objects_per_image"].add(len(o_ids))
            reason = _out_of_range(len(o_ids), args.min_objects_per_image, max_o, "objects")
            if reason is None:  # the relationship filter sees only images the object filter kept
                probe["relationships_per_image"].add(len(rels))
                reason = _out_of_range(len(rels), args.min_relationships_per_image, max_r, "relationships")
            if reason is not None:
                dropped[reason] += 1
                continue
            o2a = {a["object_id"]: a.get("attributes") for a in attrs_of[image_id]}
            apo = []
            for oid in o_ids:
                ids_ = [a2i[a] for a in (o2a.get(oid) or []) if a in a2i][:max_a]
                rows["object_attributes"].append(ids_ + [-1] * (max_a - len(ids_)))
                apo.append(len(ids_))
            pad = max_o - len(o_ids)
            rows["image_ids"].append(image_id)
            rows["object_ids"].append(o_ids + [-1] * pad)
            rows["object_names"].append([kept[o][0] for o in o_ids] + [-1] * pad)
            rows["object_boxes"].append([kept[o][1] for o in o_ids] + [[-1] * 4] * pad)
            rows["objects_per_image"].append(len(o_ids))
            rows["attributes_per_object"].append(apo + [-1] * pad)
            rp = max_r - len(rels)
            for j, key in enumerate(("relationship_ids", "relationship_subjects", "relationship_predicates",
                                     "relationship_objects")):
                rows[key].append([r[j] for r in rels] + [-1] * rp)
            rows["relationships_per_image"].append(len(rels))
        out[split] = {k: np.asarray(v, dtype=np.int32) for k, v in rows.items()}
    vocab = {"object_name_to_idx": o2i, "object_idx_to_name": obj_names, "attribute_name_to_idx": a2i,
             "attribute_idx_to_name": attr_names, "pred_name_to_idx": p2i, "pred_idx_to_name": preds}
    return out, vocab


# --------------------------------------------------------------------------- tests
def test_official_split_of_the_real_sample_is_84_8_8():
    ids = [r["image_id"] for r in json.load(open(VG_REAL / "image_data.json"))]
    splits = load_splits(SPLITS, ids)
    present = {k: sorted(set(v) & set(ids)) for k, v in splits.items()}
    assert {k: len(v) for k, v in present.items()} == {"train": 84, "val": 8, "test": 8}
    assert present["val"] == [9, 20, 28, 51, 57, 58, 88, 96]
    assert present["test"] == [10, 12, 16, 46, 62, 71, 80, 87]


def test_h5_schema_and_vocab_keys(vg_real_out):
    out, summary = vg_real_out
    for split in ("train", "val", "test"):
        data = read_h5(out / f"{split}.h5")
        assert set(data) == set(H5_SCHEMA)
        n = len(data["image_ids"])
        assert n == summary[split]["images"] > 0
        for key, tail in H5_SCHEMA.items():
            rows = int(data["objects_per_image"].sum()) if key == "object_attributes" else n
            assert data[key].shape == (rows, *tail), key
            if key != "image_paths":
                assert data[key].dtype == np.int32, key
        with h5py.File(out / f"{split}.h5") as f:
            assert h5py.check_string_dtype(f["image_paths"].dtype) is not None  # vlen str
        assert all(p.decode().split("/")[0] in ("VG_100K", "VG_100K_2") for p in data["image_paths"])
    umask = os.umask(0)
    os.umask(umask)
    for name in ("train.h5", "val.h5", "test.h5", "vocab.json"):  # not mkstemp's 0600
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask
    vocab = json.loads((out / "vocab.json").read_text())
    assert set(vocab) == {"object_name_to_idx", "object_idx_to_name", "attribute_name_to_idx",
                          "attribute_idx_to_name", "pred_name_to_idx", "pred_idx_to_name"}
    assert vocab["object_idx_to_name"][0] == "__image__" and vocab["pred_idx_to_name"][0] == "__in_image__"


def test_splits_only_hold_their_own_ids_and_padding_is_consistent(vg_real_out):
    out, _ = vg_real_out
    ids = [r["image_id"] for r in json.load(open(VG_REAL / "image_data.json"))]
    splits = load_splits(SPLITS, ids)
    for split in ("train", "val", "test"):
        d = read_h5(out / f"{split}.h5")
        assert set(d["image_ids"].tolist()) <= set(splits[split])
        slots = np.arange(30)[None]
        valid_o = slots < d["objects_per_image"][:, None]
        valid_r = slots < d["relationships_per_image"][:, None]
        assert ((d["object_names"] > 0) == valid_o).all()  # never __image__ (0), -1 padded
        assert ((d["relationship_predicates"] > 0) == valid_r).all()
        assert (d["relationship_subjects"][valid_r] < np.broadcast_to(d["objects_per_image"][:, None], valid_r.shape)[valid_r]).all()
        assert (d["object_boxes"][valid_o][:, 2:] >= 32).all()  # min_object_size
        assert ((3 <= d["objects_per_image"]) & (d["objects_per_image"] <= 30)).all()


def test_matches_plain_restatement_of_the_original(vg_real_out):
    out, _ = vg_real_out
    expected, expected_vocab = reference_preprocess(vg_args(VG_REAL, out))
    assert json.loads((out / "vocab.json").read_text()) == expected_vocab
    for split, arrays in expected.items():
        got = read_h5(out / f"{split}.h5")
        for key, value in arrays.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{split}/{key}")


def _edge(values: set[int], near: int, step: int = -1) -> int:
    """A threshold v, nearest to ``near``, with data both at v and at v + step (the other side of it)."""
    return min((v for v in values if v + step in values and v > 1), key=lambda v: abs(v - near))


def test_every_filter_at_its_boundary_matches_the_plain_restatement(tmp_path):
    """Each threshold of the filters set where the real sample has data exactly at it and one step past it
    (an object whose shorter side is exactly min_object_size, one a pixel smaller; an image with exactly
    max_objects_per_image objects, one with one more; a name with exactly min_object_instances uses, one with
    one fewer; ...): the h5 files, the vocabulary and the images each filter dropped equal the plain
    restatement's. A `<` for `<=` anywhere moves one of these across."""
    probe: dict = {}
    reference_preprocess(vg_args(VG_REAL, tmp_path), probe)
    settings = dict(min_object_size=_edge(probe["object_sizes"], 32),
                    min_object_instances=_edge(probe["object_instances"], 10),
                    min_attribute_instances=_edge(probe["attribute_instances"], 5),
                    min_relationship_instances=_edge(probe["relationship_instances"], 5))
    reference_preprocess(vg_args(VG_REAL, tmp_path, **settings), probe)
    settings.update(min_objects_per_image=_edge(probe["objects_per_image"], 3),
                    max_objects_per_image=_edge(probe["objects_per_image"], 20, step=+1))
    reference_preprocess(vg_args(VG_REAL, tmp_path, **settings), probe)
    settings.update(min_relationships_per_image=_edge(probe["relationships_per_image"], 2),
                    max_relationships_per_image=_edge(probe["relationships_per_image"], 8, step=+1),
                    max_attributes_per_image=2)
    args = vg_args(VG_REAL, tmp_path / "out", **settings)
    expected, expected_vocab = reference_preprocess(args, probe)
    summary = preprocess_vg(args, log=lambda *_: None)
    assert json.loads((tmp_path / "out" / "vocab.json").read_text()) == expected_vocab
    for split, arrays in expected.items():
        got = read_h5(tmp_path / "out" / f"{split}.h5")
        for key, value in arrays.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{split}/{key} at {settings}")
        assert summary[split]["dropped"] == dict(probe["dropped"][split]), split
        assert summary[split]["images"] == len(arrays["image_ids"])
    assert sum(sum(d.values()) for d in probe["dropped"].values()) > 0
    assert {k for d in probe["dropped"].values() for k in d} == {
        "too_few_objects", "too_many_objects", "too_few_relationships", "too_many_relationships"}


def tiny_vg(root: Path, val_predicate: str = "ON") -> Path:
    """5 images (ids 1-5, 4 train + 1 val by a custom split), 4 objects each, 2 relationships each."""
    root.mkdir(parents=True, exist_ok=True)
    images, objects, rels, attrs = [], [], [], []
    for i in range(1, 6):
        images.append({"image_id": i, "width": 400, "height": 300, "url": f"https://x/VG_100K/{i}.jpg"})
        objs = [{"object_id": i * 10 + k, "names": [n], "x": 10 * k, "y": 5, "w": 50, "h": 60}
                for k, n in enumerate(["man", "Dog", "tree", "hat"])]
        objects.append({"image_id": i, "objects": objs})
        pred = val_predicate if i == 5 else ("on" if i % 2 else "Next To ")
        rels.append({"image_id": i, "relationships": [
            {"relationship_id": i * 100, "predicate": pred, "subject": {"object_id": i * 10}, "object": {"object_id": i * 10 + 1}},
            {"relationship_id": i * 100 + 1, "predicate": "beside", "subject": {"object_id": i * 10 + 2}, "object": {"object_id": i * 10 + 3}},
        ]})
        attrs.append({"image_id": i, "attributes": [{"object_id": i * 10, "attributes": ["tall", "Tall"]}, {"object_id": i * 10 + 1}]})
    for name, data in (("image_data", images), ("objects", objects), ("relationships", rels), ("attributes", attrs)):
        (root / f"{name}.json").write_text(json.dumps(data))
    (root / "object_alias.txt").write_text("dog,Dog\n")
    (root / "relationship_alias.txt").write_text("next to,beside\n")
    (root / "splits.json").write_text(json.dumps({"train": [1, 2, 3, 4], "val": [5], "test": []}))
    return root


def tiny_args(src: Path, out: Path, **over) -> Namespace:
    return vg_args(src, out, **{"splits_json": str(src / "splits.json"), "min_object_instances": 1,
                                "min_attribute_instances": 1, "min_relationship_instances": 1, **over})


def test_predicates_normalised_for_every_split(tmp_path):
    """Quirk (a) fixed: the val image's 'ON' becomes 'on' and is kept (the original dropped it)."""
    src = tiny_vg(tmp_path / "src")
    preprocess_vg(tiny_args(src, tmp_path / "out"), log=lambda *_: None)
    vocab = json.loads((tmp_path / "out" / "vocab.json").read_text())
    assert vocab["pred_idx_to_name"] == ["__in_image__", "on", "next to"]  # first-encounter order, aliased
    assert vocab["object_idx_to_name"][0] == "__image__" and "dog" in vocab["object_name_to_idx"]
    assert vocab["attribute_idx_to_name"] == ["tall", "Tall"]  # raw attributes: no lowercasing
    val = read_h5(tmp_path / "out" / "val.h5")
    assert val["relationships_per_image"].tolist() == [2]
    assert val["relationship_predicates"][0, :2].tolist() == [vocab["pred_name_to_idx"]["on"], vocab["pred_name_to_idx"]["next to"]]
    assert val["attributes_per_object"][0, :5].tolist() == [2, 0, 0, 0, -1]
    assert read_h5(tmp_path / "out" / "test.h5")["image_ids"].shape == (0,)


def test_iter_json_array_streams_in_small_chunks(tmp_path):
    data = [{"a": i, "s": "x" * (i % 7), "n": [1.5, -2e3, None, True]} for i in range(200)] + [123456789, "tail"]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(data, indent=1))
    assert list(iter_json_array(path, chunk_size=7)) == data
    path.write_text(json.dumps(data)[:-40])
    with pytest.raises(DataError, match=r"list.json: .*element \d+"):
        list(iter_json_array(path, chunk_size=64))
    path.write_text("[1 2]")
    with pytest.raises(DataError, match="expected ',' or ']'"):
        list(iter_json_array(path))
    path.write_text('{"not": "a list"}')
    with pytest.raises(DataError, match="expected a JSON list"):
        list(iter_json_array(path))


def test_truncated_input_leaves_previous_outputs_untouched(tmp_path):
    src = tiny_vg(tmp_path / "src")
    out = tmp_path / "out"
    preprocess_vg(tiny_args(src, out), log=lambda *_: None)
    before = (out / "train.h5").read_bytes()
    text = (src / "relationships.json").read_text()
    (src / "relationships.json").write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match="relationships.json"):
        preprocess_vg(tiny_args(src, out), log=lambda *_: None)
    assert (out / "train.h5").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["test.h5", "train.h5", "val.h5", "vocab.json"]  # no temp files


def test_malformed_records_are_counted_and_skipped(tmp_path):
    src = tiny_vg(tmp_path / "src")
    objects = json.loads((src / "objects.json").read_text())
    del objects[0]["objects"][3]["w"]  # a malformed object record
    objects.append("garbage")
    (src / "objects.json").write_text(json.dumps(objects))
    with pytest.warns(UserWarning, match=r"objects.json: skipped 2 annotations: .*malformed"):
        summary = preprocess_vg(tiny_args(src, tmp_path / "out"), log=lambda *_: None)
    assert summary["skipped_records"] == 2
    assert summary["train"]["objects"] == 4 * 4 - 1


def test_auto_split_is_deterministic_and_about_80_10_10():
    names = [auto_split(i) for i in range(1, 5001)]
    assert names == [auto_split(i) for i in range(1, 5001)]
    counts = Counter(names)
    assert 0.77 < counts["train"] / 5000 < 0.83 and 0.08 < counts["val"] / 5000 < 0.12
    assert image_path_from_url("https://cs.stanford.edu/people/rak248/VG_100K_2/1.jpg") == "VG_100K_2/1.jpg"


def test_stage_runs_with_flags_and_help_lists_original_flags(tmp_path):
    import subprocess
    import sys

    from sg2im.config.preprocess_vg import PreprocessVgConfig
    from sg2im.config.schema import flat_fields

    infos = flat_fields(PreprocessVgConfig)
    assert [i.name for i in infos] == [
        "splits_json", "images_json", "objects_json", "attributes_json", "object_aliases", "relationship_aliases",
        "relationships_json", "min_image_size", "train_split", "min_object_instances", "min_attribute_instances",
        "min_object_size", "min_objects_per_image", "max_objects_per_image", "max_attributes_per_image",
        "min_relationship_instances", "min_relationships_per_image", "max_relationships_per_image",
        "output_vocab_json", "output_h5_dir"]
    defaults = {i.name: i.default for i in infos}
    assert (defaults["min_object_instances"], defaults["min_relationship_instances"], defaults["min_image_size"]) == (2000, 500, 200)
    src = tiny_vg(tmp_path / "src")
    out = tmp_path / "out"
    argv = []
    for key, value in vars(tiny_args(src, out)).items():
        argv += [f"--{key}", str(value)]
    done = subprocess.run([sys.executable, str(REPO / "stages" / "preprocess_vg.py"), *argv, "--params",
                           str(tmp_path / "none.yaml")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "vocab.json").is_file() and "wrote" in done.stdout
    assert 'Wrote "' + str(out / "train.h5") + '": 4 images' in done.stdout


def test_the_image_size_filter_at_its_boundary():
    """An image whose shorter side is exactly min_image_size is kept; one pixel more and it is dropped (the
    original's `>=`). Sizes from the official image_data.json of the fixture."""
    from sg2im.data.vg_preprocess.load import drop_small_images

    records = json.load(open(VG_REAL / "image_data.json"))
    info = {r["image_id"]: (r["width"], r["height"], r["url"]) for r in records}
    smallest = min(records, key=lambda r: min(r["width"], r["height"]))
    side, image_id = min(smallest["width"], smallest["height"]), smallest["image_id"]
    for threshold, kept in ((side - 1, True), (side, True), (side + 1, False)):
        splits = {"train": [image_id]}
        assert (image_id in drop_small_images(splits, info, threshold, log=lambda *_: None)) is kept, threshold
        assert (splits["train"] == [image_id]) is kept


def test_the_hash_split_restated_and_its_splits_file_found_from_any_folder(tmp_path, monkeypatch):
    import hashlib

    names = {0: "train", 1: "train", 2: "train", 3: "train", 4: "train", 5: "train", 6: "train", 7: "train",
             8: "val", 9: "test"}
    ids = list(range(1, 400))
    want = {"train": [], "val": [], "test": []}
    for i in ids:
        want[names[int(hashlib.md5(str(i).encode()).hexdigest(), 16) % 10]].append(i)
    assert load_splits("auto", ids) == want and all(want.values())
    monkeypatch.chdir(tmp_path)  # the packaged split by its repository path, from another folder
    assert load_splits("sg2im/data/vg_splits.json", []) == load_splits(SPLITS, [])
    local = tmp_path / "sg2im" / "data" / "vg_splits.json"  # ... unless that path exists where you are
    local.parent.mkdir(parents=True)
    local.write_text(json.dumps({"train": [1], "val": [2], "test": []}))
    assert load_splits("sg2im/data/vg_splits.json", []) == {"train": [1], "val": [2], "test": []}
    (tmp_path / "bad.json").write_text(json.dumps(["train"]))
    with pytest.raises(DataError) as err:
        load_splits(tmp_path / "bad.json", [])
    assert str(err.value) == (f"{tmp_path / 'bad.json'}: expected {{split: [image ids]}} ('list' object has no "
                              "attribute 'items').")
    with pytest.raises(DataError, match="nowhere.json: splits file not found"):
        load_splits("nowhere.json", [])


def test_image_records_with_the_old_id_key_load_and_malformed_ones_are_counted(tmp_path):
    from sg2im.data.skips import SkipCounter
    from sg2im.data.vg_preprocess.load import drop_small_images, load_images

    path = tmp_path / "image_data.json"
    path.write_text(json.dumps([
        {"id": 7, "width": 300, "height": 250, "url": "https://x/VG_100K/7.jpg"},  # VG 1.0's key
        {"image_id": 8, "width": 150, "height": 400, "url": "https://x/VG_100K_2/8.jpg"},  # narrow, tall
        {"image_id": 9, "width": 400, "height": 150, "url": "https://x/VG_100K/9.jpg"},  # wide, short
        {"image_id": 10, "url": "https://x/VG_100K/10.jpg"},  # no size
    ]))
    skips = SkipCounter()
    info = load_images(path, skips)
    assert info == {7: (300, 250, "VG_100K/7.jpg"), 8: (150, 400, "VG_100K_2/8.jpg"), 9: (400, 150, "VG_100K/9.jpg")}
    assert skips.total() == 1
    with pytest.warns(UserWarning) as caught:
        skips.warn()
    assert str(caught[0].message) == ("image_data.json: skipped 1 annotations: 1 malformed image records (e.g. "
                                      "{'image_id': 10, 'url': 'https://x/VG_100K/10.jpg'})")
    splits = {"train": [10, 8, 9, 7]}  # unknown and too small first: the images after them still count
    assert drop_small_images(splits, info, 200, log=lambda *_: None) == {7: "train"}  # either side too small
    assert splits == {"train": [7]}


def test_malformed_entries_of_each_file_are_named_and_the_good_ones_after_them_kept(tmp_path):
    """A malformed object, relationship, attribute record and attribute list first in their image: each is
    counted under its reason with an example and its file, and the image's good entries after it are kept
    (an object named by VG 1.0's single "name" too)."""
    import warnings

    src = tiny_vg(tmp_path / "src")
    bad_rel = {"relationship_id": 1, "object": {}, "synsets": ["a.n.01"] * 9}
    bad_attr = {"object_id": 20, "attributes": "tall", "synsets": ["b.n.01"] * 9}
    edits = {"objects": lambda d: (d[0]["objects"].insert(0, "junk"),
                                   d[1]["objects"][0].__setitem__("name", d[1]["objects"][0].pop("names")[0])),
             "relationships": lambda d: d[0]["relationships"].insert(0, bad_rel),
             "attributes": lambda d: (d[0]["attributes"].insert(0, "junk"), d[1]["attributes"].insert(0, bad_attr))}
    for name, edit in edits.items():
        data = json.loads((src / f"{name}.json").read_text())
        edit(data)
        (src / f"{name}.json").write_text(json.dumps(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = preprocess_vg(tiny_args(src, tmp_path / "out"), log=lambda *_: None)
    assert [str(w.message) for w in caught] == [
        "objects.json: skipped 1 annotations: 1 malformed objects (e.g. image 1: junk)",
        f"relationships.json: skipped 1 annotations: 1 malformed relationships (e.g. image 1: {str(bad_rel)[:60]})",
        "attributes.json: skipped 2 annotations: 1 malformed attribute records (e.g. image 1: junk); 1 malformed "
        f"attribute lists (e.g. image 2: {str(bad_attr)[:60]})"]  # long records cut at 60 characters
    assert len(str(bad_rel)) > 61 and len(str(bad_attr)) > 61
    assert summary["skipped_records"] == 4
    train = read_h5(tmp_path / "out" / "train.h5")
    assert train["objects_per_image"].tolist() == [4, 4, 4, 4]
    assert train["relationships_per_image"].tolist() == [2, 2, 2, 2]
    assert train["attributes_per_object"][:, 0].tolist() == [2, 2, 2, 2]  # image 2's later good entry counts
    assert {k: v.dtype for k, v in train.items() if k != "image_paths"} == {
        k: np.dtype(np.int32) for k in train if k != "image_paths"}


def test_iter_json_array_at_every_chunk_size_and_its_errors_word_for_word(tmp_path):
    """Every chunk size from 1 byte (numbers, strings and multi-byte UTF-8 cut anywhere) gives the same
    elements; each error names the file, the element number and the byte offset."""
    text = ' \n [ 1, 23 ,456789, -0.5e3, "h\\u00e9llo wörld", {"k": [true, null]}, 7 ] \n'
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    want = json.loads(text)
    for size in range(1, len(text.encode()) + 1):
        assert list(iter_json_array(path, chunk_size=size)) == want, size
    path.write_text("[]")
    assert list(iter_json_array(path, chunk_size=1)) == []
    end = "The file is truncated or not a JSON list; re-download it."
    cases = {"": f"expected a JSON list '[' at element 0 (byte ~0 of 0). {end}",
             "   ": f"expected a JSON list '[' at element 0 (byte ~3 of 3). {end}",
             "[1, 2,]": f"trailing ',' before ']' at element 2 (byte ~6 of 7). {end}",
             "[1, 2": f"unexpected end of file at element 2 (byte ~5 of 5). {end}",
             "[1, 2 3]": f"expected ',' or ']' but found '3' at element 2 (byte ~6 of 8). {end}",
             "[1, tru]": f"invalid JSON (Expecting value) at element 1 (byte ~4 of 8). {end}"}
    for content, message in cases.items():
        path.write_text(content)
        for size in (1, 3, 64):
            with pytest.raises(DataError) as err:
                list(iter_json_array(path, chunk_size=size))
            assert str(err.value) == f"{path}: {message}", (content, size)
    with pytest.raises(DataError) as err:
        list(iter_json_array(tmp_path / "gone.json"))
    assert str(err.value) == f"{tmp_path / 'gone.json'}: not found. Run the download_vg stage or fix the path parameter."


def test_image_records_skip_records_without_an_integer_image_id():
    from sg2im.data.skips import SkipCounter
    from sg2im.data.vg_preprocess.stream import image_records

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "objects.json"
        path.write_text(json.dumps([{"image_id": 1}, {"image_id": 2}, {"image_id": "3"}, [4], {"image_id": 5}]))
        skips = SkipCounter()
        assert [i for i, _ in image_records(path, {1, 5}, skips)] == [1, 5]
        assert skips.by_file == {"objects.json": {"malformed image records": 2}}  # "3" and [4]; 2 is not wanted
        assert skips.examples[("objects.json", "malformed image records")] == "{'image_id': '3'}"


@pytest.mark.filterwarnings("ignore:.*malformed image records:UserWarning")  # the junk records: counted below
def test_unnamed_objects_images_without_records_and_the_auto_split_through_the_whole_preprocessing(tmp_path):
    """An object whose only name is out of the vocabulary and one with no names are dropped (the vocabulary's
    last name is not borrowed); an image without a relationships record keeps no relationship of another image;
    an image of the split missing from objects.json is counted; the summary says what was kept."""
    src = tiny_vg(tmp_path / "src")
    objects = json.loads((src / "objects.json").read_text())
    objects[0]["objects"].insert(0, {"object_id": 1000, "names": ["unicorn"], "x": 0, "y": 0, "w": 90, "h": 90})
    objects[1]["objects"].insert(0, {"object_id": 1001, "names": [], "x": 0, "y": 0, "w": 90, "h": 90})
    del objects[2]  # image 3: no objects record
    (src / "objects.json").write_text(json.dumps(objects))
    images = json.loads((src / "image_data.json").read_text())  # image 6: in the split, no record anywhere
    (src / "image_data.json").write_text(json.dumps(images + [{**images[0], "image_id": 6}, "junk"]))
    (src / "splits.json").write_text(json.dumps({"train": [1, 2, 3, 4, 6], "val": [5], "test": []}))
    rels = json.loads((src / "relationships.json").read_text())
    (src / "relationships.json").write_text(json.dumps([r for r in rels if r["image_id"] != 4] + ["junk"]))
    attrs = json.loads((src / "attributes.json").read_text())  # image 2: no attributes record
    (src / "attributes.json").write_text(json.dumps([a for a in attrs if a["image_id"] != 2] + [{"image_id": "x"}]))
    out = tmp_path / "deep" / "er" / "out"
    summary = preprocess_vg(tiny_args(src, out, min_object_instances=2, min_relationships_per_image=0),
                            log=lambda *_: None)
    train = read_h5(out / "train.h5")
    assert train["image_ids"].tolist() == [1, 2, 4]
    assert train["objects_per_image"].tolist() == [4, 4, 4]
    assert 1000 not in train["object_ids"] and 1001 not in train["object_ids"]
    assert train["relationships_per_image"].tolist() == [2, 2, 0]
    assert (train["relationship_ids"][2] == -1).all()
    assert train["attributes_per_object"][:, 0].tolist() == [2, 0, 2]  # image 2 has no attributes record
    assert summary["train"]["dropped"] == {"missing_from_objects_json": 2}
    assert summary["train"]["relationships"] == 4 and summary["skipped_records"] == 3  # the three junk records
    assert summary["objects_kept"] == 4 * 4
    vocab = json.loads((out / "vocab.json").read_text())
    assert (summary["num_objects_vocab"], summary["num_predicates_vocab"], summary["num_attributes_vocab"]) == (
        len(vocab["object_idx_to_name"]), len(vocab["pred_idx_to_name"]), len(vocab["attribute_idx_to_name"]))
    assert "unicorn" not in vocab["object_name_to_idx"]

    auto = preprocess_vg(tiny_args(src, tmp_path / "auto", splits_json="auto"), log=lambda *_: None)
    assert sum(auto[s]["images"] + sum(auto[s]["dropped"].values()) for s in ("train", "val", "test")) == 6
    with pytest.raises(DataError) as err:
        preprocess_vg(tiny_args(src, tmp_path / "x", train_split="training"), log=lambda *_: None)
    assert str(err.value) == (f"{src / 'splits.json'}: no split named train_split='training' (has ['train', 'val', "
                              "'test']).")


def test_h5_written_beside_its_target_under_the_umask_and_nothing_left_by_a_failure(tmp_path, monkeypatch):
    import h5py as h5

    from sg2im.data.vg_preprocess import write
    from sg2im.data.vg_preprocess.aliases import load_aliases

    arrays = {k: np.zeros((1, 2), np.int64) for k in write.H5_KEY_ORDER}
    opened = []
    real_file = h5.File

    def recording(name, *args, **kwargs):
        opened.append(Path(name))
        return real_file(name, *args, **kwargs)

    monkeypatch.setattr(write.h5py, "File", recording)
    old = os.umask(0o027)
    try:
        write.write_h5(tmp_path / "train.h5", arrays, ["VG_100K/1.jpg"])
    finally:
        os.umask(old)
    assert opened[0].parent == tmp_path and opened[0].name.startswith(".train.h5.") and opened[0].suffix == ".tmp"
    assert (tmp_path / "train.h5").stat().st_mode & 0o777 == 0o640
    assert read_h5(tmp_path / "train.h5")["image_paths"].tolist() == [b"VG_100K/1.jpg"]
    before = (tmp_path / "train.h5").read_bytes()
    monkeypatch.setattr(write, "H5_KEY_ORDER", (*write.H5_KEY_ORDER, "missing_key"))
    with pytest.raises(KeyError, match="missing_key"):
        write.write_h5(tmp_path / "train.h5", arrays, ["VG_100K/1.jpg"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.h5"]
    assert (tmp_path / "train.h5").read_bytes() == before
    with pytest.raises(DataError) as err:
        load_aliases(tmp_path / "object_alias.txt")
    assert str(err.value) == (f"{tmp_path / 'object_alias.txt'}: alias file not found. Run the download_vg stage "
                              "or fix the path parameter.")


@pytest.mark.parametrize("raw", [b'["h\xc3', b'["\xff\xfe", 1]'])
def test_a_file_that_is_not_utf8_is_a_data_error(tmp_path, raw):
    path = tmp_path / "objects.json"
    path.write_bytes(raw)
    for size in (1, 64):
        with pytest.raises(DataError, match=r"objects\.json: not UTF-8 text \(.*\) at element 0"):
            list(iter_json_array(path, chunk_size=size))
