"""Visual Genome scene-graph dataset: object selection (the fixed off-by-one, orphans), boxes,
triples, the cache, and bad HDF5/image errors.  Images are PLACEHOLDER JPEGs (flat colour, the
listed VG sizes): the real VG sample ships no pixels."""
from __future__ import annotations

import json
import os
from argparse import Namespace
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sg2im.data.build import build_loader
from sg2im.data.vg import VgSceneGraphDataset
from helpers_config import preprocess_config
from sg2im.data.vg_preprocess import preprocess_vg
from sg2im.data.vg_preprocess.write import write_h5
from sg2im.errors import DataError

REPO = Path(__file__).resolve().parent.parent
VG_REAL = REPO / "tests" / "fixtures" / "vg_real"


def placeholder_jpegs(image_dir: Path, image_data: list[dict], ids: set[int]) -> None:
    """Clearly-labelled placeholder JPEGs at the sizes image_data.json lists (no real VG pixels)."""
    for rec in image_data:
        if rec["image_id"] not in ids:
            continue
        rel = "/".join(rec["url"].split("/")[-2:])
        path = image_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (rec["width"], rec["height"]), (rec["image_id"] % 256, 90, 160))
        ImageDraw.Draw(img).text((10, 10), "PLACEHOLDER (synthetic test image)", fill=(255, 255, 255))
        img.save(path, quality=90)


@pytest.fixture(scope="module")
def vg_real(tmp_path_factory):
    """vg_real preprocessed with the official split (small vocab thresholds) + placeholder JPEGs."""
    root = tmp_path_factory.mktemp("vg_real")
    args = Namespace(
        splits_json=str(REPO / "sg2im" / "data" / "vg_splits.json"), images_json=str(VG_REAL / "image_data.json"),
        objects_json=str(VG_REAL / "objects.json"), attributes_json=str(VG_REAL / "attributes.json"),
        object_aliases=str(VG_REAL / "object_alias.txt"), relationship_aliases=str(VG_REAL / "relationship_alias.txt"),
        relationships_json=str(VG_REAL / "relationships.json"), min_image_size=200, train_split="train",
        min_object_instances=10, min_attribute_instances=5, min_object_size=32, min_objects_per_image=3,
        max_objects_per_image=30, max_attributes_per_image=30, min_relationship_instances=5,
        min_relationships_per_image=1, max_relationships_per_image=30,
        output_vocab_json=str(root / "vocab.json"), output_h5_dir=str(root))
    preprocess_vg(preprocess_config(args), log=lambda *_: None)
    image_data = json.loads((VG_REAL / "image_data.json").read_text())
    placeholder_jpegs(root / "images", image_data, {r["image_id"] for r in image_data})
    vocab = json.loads((root / "vocab.json").read_text())
    sizes = {r["image_id"]: (r["width"], r["height"]) for r in image_data}
    return root, vocab, sizes


def h5_rows(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f.keys()}


def test_items_match_the_h5_rows(vg_real):
    root, vocab, sizes = vg_real
    ds = VgSceneGraphDataset(vocab, str(root / "train.h5"), str(root / "images"), image_size=(64, 64))
    rows = h5_rows(root / "train.h5")
    assert len(ds) == len(rows["image_ids"]) > 0
    torch.manual_seed(0)
    for i in range(len(ds)):
        image, objs, boxes, masks, triples = ds[i]
        assert image.shape == (3, 64, 64) and masks is None
        n = len(objs)
        assert 2 <= n <= 10 and objs[-1] == 0 and (objs[:-1] > 0).all()
        assert boxes[-1].tolist() == [0, 0, 1, 1]
        w, h = sizes[int(rows["image_ids"][i])]
        k = int(rows["objects_per_image"][i])
        xywh = rows["object_boxes"][i, :k].astype(np.float64)
        expected = np.stack([xywh[:, 0] / w, xywh[:, 1] / h, (xywh[:, 0] + xywh[:, 2]) / w, (xywh[:, 1] + xywh[:, 3]) / h], 1)
        # every kept object is one of the image's objects, with its name and its normalised box
        for j in range(n - 1):
            slot = [s for s in range(k) if np.allclose(expected[s], boxes[j].numpy(), atol=1e-6)
                    and rows["object_names"][i, s] == objs[j]]
            assert slot, (i, j)
        in_image = triples[triples[:, 1] == 0]
        assert in_image.tolist() == [[j, 0, n - 1] for j in range(n - 1)]
        rel = triples[triples[:, 1] != 0]
        names = {(int(rows["object_names"][i, s]), int(p), int(rows["object_names"][i, o]))
                 for s, p, o in zip(rows["relationship_subjects"][i], rows["relationship_predicates"][i],
                                    rows["relationship_objects"][i]) if p >= 0}
        for s, p, o in rel.tolist():
            assert (int(objs[s]), p, int(objs[o])) in names
            assert s != n - 1 and o != n - 1


def synthetic_h5(path: Path, num_objs: int, rel_pairs: list[tuple[int, int]], image_path="VG_100K/1.jpg") -> None:
    """One image with ``num_objs`` objects (names 1..) and the given relationships (predicate 1)."""
    a = {k: np.full((1, 30), -1) for k in ("object_ids", "object_names", "relationship_ids", "relationship_subjects",
                                           "relationship_predicates", "relationship_objects", "attributes_per_object")}
    a["image_ids"] = np.array([1])
    a["object_boxes"] = np.full((1, 30, 4), -1)
    a["object_ids"][0, :num_objs] = np.arange(num_objs)
    a["object_names"][0, :num_objs] = np.arange(1, num_objs + 1)
    a["object_boxes"][0, :num_objs] = [[i, i, 10, 10] for i in range(num_objs)]
    a["objects_per_image"] = np.array([num_objs])
    for r, (s, o) in enumerate(rel_pairs):
        a["relationship_ids"][0, r], a["relationship_subjects"][0, r] = r, s
        a["relationship_predicates"][0, r], a["relationship_objects"][0, r] = 1, o
    a["relationships_per_image"] = np.array([len(rel_pairs)])
    a["attributes_per_object"][0, :num_objs] = 0
    a["object_attributes"] = np.full((num_objs, 30), -1)
    write_h5(path, a, [image_path])


VOCAB = {"object_name_to_idx": {"__image__": 0}, "object_idx_to_name": ["__image__"] + [f"o{i}" for i in range(1, 31)],
         "pred_name_to_idx": {"__in_image__": 0, "on": 1}, "pred_idx_to_name": ["__in_image__", "on"]}


@pytest.fixture()
def one_image(tmp_path):
    (tmp_path / "img" / "VG_100K").mkdir(parents=True)
    Image.new("RGB", (200, 100), (1, 2, 3)).save(tmp_path / "img" / "VG_100K" / "1.jpg")
    return tmp_path


def test_off_by_one_is_fixed(one_image):
    h5 = one_image / "a.h5"
    synthetic_h5(h5, 20, [(i, i + 1) for i in range(0, 20, 2)])  # all 20 objects in relationships
    ds = VgSceneGraphDataset(VOCAB, str(h5), str(one_image / "img"), image_size=(8, 8), max_objects=10)
    orig = VgSceneGraphDataset(VOCAB, str(h5), str(one_image / "img"), image_size=(8, 8), max_objects=10,
                               original_object_sampling=True)
    for _ in range(10):
        assert len(ds[0][1]) == 10  # 9 real + __image__
        assert len(orig[0][1]) == 11  # the original's 10 real + __image__
    # The train flag reaches the dataset: vg_original_object_sampling 1 restores the original's count.
    import json
    from types import SimpleNamespace

    from helpers_config import datasets as build_vocab_and_datasets

    (one_image / "vocab.json").write_text(json.dumps(VOCAB))
    flags = dict(dataset="vg", vocab_json=str(one_image / "vocab.json"), train_h5=str(h5), val_h5=str(h5),
                 vg_image_dir=str(one_image / "img"), image_size=(8, 8), refinement_network_dims=(8,), cache_dir="")
    for flag, count in ((0, 10), (1, 11)):
        _, built = build_vocab_and_datasets(SimpleNamespace(**flags, vg_original_object_sampling=flag), ("train",))
        assert len(built["train"][0][1]) == count
    _, objs, boxes, _, _ = ds[0]
    assert torch.allclose(boxes[:-1, 2] - boxes[:-1, 0], torch.full((9,), 0.05))  # w 10 / 200
    assert torch.allclose(boxes[:-1, 0] * 200, (objs[:-1] - 1).float())  # x = slot index


def test_orphans_top_up_and_flags(one_image):
    h5 = one_image / "b.h5"
    synthetic_h5(h5, 12, [(0, 1), (1, 0), (0, 1)])  # duplicates are kept
    base = dict(vocab=VOCAB, h5_path=str(h5), image_dir=str(one_image / "img"), image_size=(8, 8), max_objects=10)
    ds = VgSceneGraphDataset(**base)
    objs, triples = ds[0][1], ds[0][4]
    assert len(objs) == 10 and objs[:2].tolist() == [1, 2]  # with-rel objects first, then 7 orphans
    assert triples[:3].tolist() == [[0, 1, 1], [1, 1, 0], [0, 1, 1]]
    seen = {tuple(VgSceneGraphDataset(**base)[0][1].tolist()) for _ in range(10)}
    assert len(seen) > 1  # orphans re-sampled
    no_orphans = VgSceneGraphDataset(**base, use_orphaned_objects=False)[0]
    assert no_orphans[1].tolist() == [1, 2, 0]
    no_rels = VgSceneGraphDataset(**base, include_relationships=False)[0]
    assert (no_rels[4][:, 1] == 0).all() and len(no_rels[4]) == 9


def test_cache_matches_and_invalidates(vg_real, tmp_path):
    root, vocab, _ = vg_real
    args = dict(vocab=vocab, h5_path=str(root / "val.h5"), image_dir=str(root / "images"), image_size=(32, 32))
    plain = VgSceneGraphDataset(**args)
    cached = VgSceneGraphDataset(**args, cache_dir=tmp_path)
    for i in range(len(plain)):
        torch.manual_seed(i)
        a = plain[i]
        torch.manual_seed(i)
        b = cached[i]
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and torch.equal(a[2], b[2]) and torch.equal(a[4], b[4])
    assert VgSceneGraphDataset(**args, cache_dir=tmp_path).cache_path == cached.cache_path
    import pickle

    blob = pickle.dumps(cached)  # spawned DataLoader workers: the arrays are re-mapped, not copied
    assert len(blob) < cached._cache["images"].nbytes
    torch.manual_seed(0)
    first = cached[0]
    torch.manual_seed(0)
    assert torch.equal(pickle.loads(blob)[0][0], first[0])
    assert VgSceneGraphDataset(**dict(args, image_size=(16, 16)), cache_dir=tmp_path).cache_path != cached.cache_path
    h5 = tmp_path / "copy.h5"
    h5.write_bytes((root / "val.h5").read_bytes())
    first = VgSceneGraphDataset(**dict(args, h5_path=str(h5)), cache_dir=tmp_path).cache_path
    st = os.stat(h5)
    os.utime(h5, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert VgSceneGraphDataset(**dict(args, h5_path=str(h5)), cache_dir=tmp_path).cache_path != first
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_h5_and_missing_images(one_image):
    h5 = one_image / "c.h5"
    synthetic_h5(h5, 4, [(0, 3)])
    with h5py.File(h5, "a") as f:
        f["relationship_objects"][0, 0] = 7  # only 4 objects
    with pytest.raises(DataError, match=r"c.h5: 'relationship_objects' of row 0 .*points outside"):
        VgSceneGraphDataset(VOCAB, str(h5), str(one_image / "img"))
    with pytest.raises(DataError, match=r"nothere.h5: not found. Run the preprocess_vg stage"):
        VgSceneGraphDataset(VOCAB, str(one_image / "nothere.h5"), str(one_image / "img"))
    synthetic_h5(h5, 4, [(0, 3)], image_path="VG_100K/2.jpg")
    ds = VgSceneGraphDataset(VOCAB, str(h5), str(one_image / "img"))
    with pytest.raises(DataError, match=r"VG_100K/2.jpg: image file not found \(row 0 of .*c.h5, image id 1\)"):
        ds[0]
    with pytest.raises(DataError, match=r"(?s)1 of 1 VG images could not be read.*2.jpg"):
        VgSceneGraphDataset(VOCAB, str(h5), str(one_image / "img"), cache_dir=one_image / "cache")


def test_loader_offsets(vg_real):
    root, vocab, _ = vg_real
    ds = VgSceneGraphDataset(vocab, str(root / "train.h5"), str(root / "images"), image_size=(16, 16))
    batch = next(iter(build_loader(ds, 6, shuffle=True, num_workers=0, seed=3)))
    assert len(batch.as_tuple()) == 6 and batch.masks is None
    counts = torch.bincount(batch.obj_to_img, minlength=6)
    starts = torch.cumsum(counts, 0) - counts
    assert (batch.obj_to_img[batch.triples[:, 0]] == batch.triple_to_img).all()
    assert (batch.obj_to_img[batch.triples[:, 2]] == batch.triple_to_img).all()
    in_image = batch.triples[batch.triples[:, 1] == 0]
    assert (batch.objs[in_image[:, 2]] == 0).all()  # points at its image's __image__ object
    assert ((starts + counts - 1)[batch.obj_to_img[in_image[:, 0]]] == in_image[:, 2]).all()


def test_unreadable_images_are_skipped_and_named_up_to_the_set_fraction(vg_real, tmp_path):
    root, vocab, _ = vg_real
    images = tmp_path / "images"
    import shutil

    shutil.copytree(root / "images", images)
    rows = h5_rows(root / "train.h5")
    paths = [p.decode() if isinstance(p, bytes) else str(p) for p in rows["image_paths"]]
    (images / paths[1]).write_bytes(b"")  # a zero-byte JPEG in row 1
    clean = VgSceneGraphDataset(vocab, str(root / "train.h5"), str(root / "images"), image_size=(16, 16))
    kept = VgSceneGraphDataset(vocab, str(root / "train.h5"), str(images), image_size=(16, 16),
                               cache_dir=tmp_path / "cache", max_unreadable_fraction=0.5)
    assert len(kept) == len(clean) - 1 and len(kept.unreadable) == 1 and paths[1] in kept.unreadable[0]
    torch.manual_seed(0)
    got = kept[1]  # row 2 of the h5: row 1 is skipped
    torch.manual_seed(0)
    want = clean[2]
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    with pytest.raises(DataError, match=r"1 of \d+ VG images could not be read .*max_unreadable_fraction=0\b"):
        VgSceneGraphDataset(vocab, str(root / "train.h5"), str(images), image_size=(16, 16),
                            cache_dir=tmp_path / "cache0")
