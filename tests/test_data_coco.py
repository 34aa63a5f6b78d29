"""COCO-Stuff scene-graph dataset: filters, masks (polygon / uncompressed RLE / compressed RLE),
predicate geometry, relationship re-sampling, the cache (equality, invalidation) and bad data."""
from __future__ import annotations

import json
import math
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from PIL import Image

from sg2im.data.coco import (
    COCO_PREDICATES,
    CocoSceneGraphDataset,
    DataWarning,
    crop_resize_mask,
    geometric_predicates,
    mask_centers,
    sample_triples,
    seg_to_mask,
)
from sg2im.imagenet import IMAGENET_MEAN, IMAGENET_STD
from sg2im.errors import DataError, ParamsError

REPO = Path(__file__).resolve().parent.parent
COCO_REAL = REPO / "tests" / "fixtures" / "coco_real"
COCO_CROWD = REPO / "tests" / "fixtures" / "coco_real_crowd"
P = {name: i for i, name in enumerate(COCO_PREDICATES)}
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools + numpy 2


# --------------------------------------------------------------------------- hand-made data
def rect_polygon(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def make_coco(root: Path, images: dict[int, list[tuple]], size=(100, 80), stuff: dict[int, list[tuple]] | None = None,
              write_images=True) -> dict[str, str]:
    """Hand-made COCO files.  ``images``: id -> [(category_id, (x, y, w, h)), ...] instance boxes
    with rectangular polygons; ``stuff``: id -> [(category_id, box)] as compressed RLE."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    width, height = size
    recs, anns, stuff_anns = [], [], []
    ann_id = 1
    for image_id in sorted(set(images) | set(stuff or {})):
        name = f"{image_id:012d}.jpg"
        recs.append({"id": image_id, "file_name": name, "width": width, "height": height})
        if write_images:
            Image.new("RGB", size, (image_id * 40 % 256, 100, 150)).save(root / "images" / name)
        for cat, (x, y, w, h) in images.get(image_id, []):
            anns.append({"id": ann_id, "image_id": image_id, "category_id": cat, "bbox": [x, y, w, h], "iscrowd": 0,
                         "area": w * h, "segmentation": rect_polygon(x, y, w, h)})
            ann_id += 1
        for cat, (x, y, w, h) in (stuff or {}).get(image_id, []):
            m = np.zeros((height, width), dtype=np.uint8, order="F")
            m[y:y + h, x:x + w] = 1
            rle = mask_utils.encode(m)
            rle["counts"] = rle["counts"].decode()
            stuff_anns.append({"id": 10_000 + ann_id, "image_id": image_id, "category_id": cat, "bbox": [x, y, w, h],
                               "iscrowd": 0, "area": w * h, "segmentation": rle})
            ann_id += 1
    things = [{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}, {"id": 3, "name": "car"}]
    stuffs = [{"id": 92, "name": "banner"}, {"id": 93, "name": "grass"}, {"id": 183, "name": "other"}]
    inst = {"images": recs, "annotations": anns, "categories": things}
    st = {"images": recs, "annotations": stuff_anns, "categories": stuffs}
    (root / "instances.json").write_text(json.dumps(inst))
    (root / "stuff.json").write_text(json.dumps(st))
    return {"image_dir": str(root / "images"), "instances_json": str(root / "instances.json"),
            "stuff_json": str(root / "stuff.json")}


def basic_coco(root: Path, **kw) -> dict[str, str]:
    big = (10, 10, 30, 30)  # 900 / 8000 = 11 % of the image
    images = {
        1: [(1, big), (2, (50, 10, 30, 30)), (3, (10, 45, 30, 30))],  # 3 objects: kept
        2: [(1, big), (2, big)],  # 2 objects: too few
        3: [(1, big), (1, (0, 0, 16, 10))],  # 160/8000 = 0.02 exactly: not > 0.02, dropped -> 1 object
        4: [(1, big)] * 9,  # 9 objects: too many
        5: [(1, big), (2, big), (3, big), (1, big)],  # 4: kept
    }
    stuff = {1: [(93, (0, 40, 100, 40))], 2: [(93, (0, 40, 100, 40))], 5: [(183, (0, 0, 100, 80))]}
    return make_coco(root, images, stuff=stuff, **kw)


def coco(files, **kw) -> CocoSceneGraphDataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # clean data must not warn
        return CocoSceneGraphDataset(**files, **kw)


# --------------------------------------------------------------------------- filters
def test_filters_on_hand_made_data(tmp_path):
    files = basic_coco(tmp_path)
    ds = coco(files)
    # image 1: 3 instances + grass = 4; image 2: 2 + grass = 3; image 5: 4 instances (other excluded)
    assert ds.image_ids == [1, 2, 5]
    assert [len(ds[i][1]) - 1 for i in range(3)] == [4, 3, 4]
    assert ds[0][1].tolist() == [1, 2, 3, 93, 0]  # instances then stuff, __image__ (0) last
    assert ds.vocab["object_idx_to_name"][183] == "other" and len(ds.vocab["object_idx_to_name"]) == 184
    assert ds.vocab["object_idx_to_name"][4] == "NONE"
    assert ds.vocab["pred_idx_to_name"] == COCO_PREDICATES
    # include_other: image 5 gets 'other' (5 objects); stuff_only=False adds image 3? no: 1 object
    assert [len(ds[i][1]) - 1 for i in range(3)] == [4, 3, 4]
    ds_other = coco(files, include_other=True)
    assert ds_other.image_ids == [1, 2, 5] and ds_other[2][1].tolist() == [1, 2, 3, 1, 183, 0]
    # stuff_only: images without stuff annotations are dropped; without stuff_only they count
    files_no_stuff = make_coco(tmp_path / "b", {1: [(1, (10, 10, 30, 30))] * 3, 2: [(1, (10, 10, 30, 30))] * 3},
                               stuff={1: [(93, (0, 0, 100, 80))]})
    assert coco(files_no_stuff).image_ids == [1]
    assert coco(files_no_stuff, stuff_only=False).image_ids == [1, 2]
    # min/max objects
    assert coco(files, min_objects_per_image=4).image_ids == [1, 5]
    assert coco(files, max_objects_per_image=3).image_ids == [2]
    assert coco(files, max_objects_per_image=9, stuff_only=False).image_ids == [1, 2, 4, 5]


def test_whitelists_by_name(tmp_path):
    files = basic_coco(tmp_path)
    ds = coco(files, instance_whitelist=["person", "bicycle"], stuff_whitelist=["grass"], min_objects_per_image=1)
    assert all(set(ds[i][1].tolist()) <= {0, 1, 2, 93} for i in range(len(ds)))
    with pytest.raises(ParamsError, match="persn"):
        CocoSceneGraphDataset(**files, instance_whitelist=["persn"])


def test_real_fixture_filters_and_skip_samples():
    files = {"image_dir": str(COCO_REAL / "images" / "train2017"),
             "instances_json": str(COCO_REAL / "annotations" / "instances_train2017.json"),
             "stuff_json": str(COCO_REAL / "annotations" / "stuff_train2017.json")}
    ds = coco(files)
    inst = json.loads(Path(files["instances_json"]).read_text())
    sizes = {i["id"]: (i["width"], i["height"]) for i in inst["images"]}
    assert 0 < len(ds) <= 17 and ds.num_filtered_images == len(ds)
    empty = total = 0
    for i in range(len(ds)):
        _, objs, boxes, masks, triples = ds[i]
        assert 3 <= len(objs) - 1 <= 8 and 183 not in objs.tolist()
        area = (boxes[:-1, 2] - boxes[:-1, 0]) * (boxes[:-1, 3] - boxes[:-1, 1])
        assert (area > 0.02 - 1e-6).all()
        assert masks.dtype == torch.long and set(masks.unique().tolist()) <= {0, 1}
        empty += int(masks[:-1].sum((1, 2)).eq(0).sum())
        total += len(objs) - 1
    assert empty <= 1 < total  # one sparse stuff region (188 px in a 132x156 box) rasterises to nothing
    head = coco(files, max_samples=4)
    tail = coco(files, max_samples=2048, skip_samples=4)
    assert head.image_ids == ds.image_ids[:4] and tail.image_ids == ds.image_ids[4:]
    assert set(sizes) >= set(ds.image_ids)


# --------------------------------------------------------------------------- masks
def test_mask_decoding_for_polygons_and_compressed_rle(tmp_path):
    poly = rect_polygon(20, 10, 40, 30)
    full = seg_to_mask(poly, 100, 80)
    assert full.shape == (80, 100) and 1100 <= full.sum() <= 1400
    m = crop_resize_mask(full, (20, 10, 40, 30), 16)
    assert m.shape == (16, 16) and m.dtype == np.uint8 and m.sum() >= 15 * 15
    half = np.zeros((80, 100), np.uint8)
    half[10:40, 20:40] = 1  # left half of the box
    m = crop_resize_mask(half, (20, 10, 40, 30), 16)
    assert m[:, :7].all() and not m[:, 9:].any()
    assert crop_resize_mask(np.zeros((80, 100), np.uint8), (99.7, 79.6, 0.1, 0.1), 8).shape == (8, 8)  # >= 1 px crop
    rle = mask_utils.encode(np.asfortranarray(half))
    rle["counts"] = rle["counts"].decode()  # as in the JSON files
    assert (seg_to_mask(rle, 100, 80) == half).all()


def test_uncompressed_rle_of_real_crowd_annotations():
    data = json.loads((COCO_CROWD / "instances_train2017_crowd.json").read_text())
    crowd = [a for a in data["annotations"] if a["iscrowd"]]
    assert len(crowd) == 2 and all(isinstance(a["segmentation"]["counts"], list) for a in crowd)
    for ann in crowd:
        h, w = ann["segmentation"]["size"]
        full = seg_to_mask(ann["segmentation"], w, h)
        assert full.shape == (h, w) and 1900 < full.sum() < 6600  # SOURCES.md: 1958 and 5975 pixels
    ds = coco({"image_dir": str(COCO_CROWD / "images" / "train2017"),
               "instances_json": str(COCO_CROWD / "instances_train2017_crowd.json")},
              stuff_only=False, max_objects_per_image=40, min_objects_per_image=1, min_object_size=0.0)
    assert ds.total_objects() == len(data["annotations"])  # iscrowd is not filtered
    masks = torch.cat([ds[i][3][:-1] for i in range(len(ds))])
    assert masks.sum((1, 2)).gt(0).all()


# --------------------------------------------------------------------------- geometry
def test_six_predicates_on_hand_made_boxes():
    b = lambda *v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    c = lambda *v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    small, big = b(0.1, 0.1, 0.2, 0.2), b(0.6, 0.6, 0.7, 0.7)
    cases = {  # (s box, o box, s centre, o centre) -> predicate
        "left of": (small, big, c(0.1, 0.5), c(0.9, 0.5)),
        "right of": (small, big, c(0.9, 0.5), c(0.1, 0.5)),
        "above": (small, big, c(0.5, 0.1), c(0.5, 0.9)),  # image y points down
        "below": (small, big, c(0.5, 0.9), c(0.5, 0.1)),
        "surrounding": (b(0.0, 0.0, 1.0, 1.0), b(0.2, 0.2, 0.5, 0.5), c(0.9, 0.9), c(0.1, 0.1)),
        "inside": (b(0.2, 0.2, 0.5, 0.5), b(0.0, 0.0, 1.0, 1.0), c(0.1, 0.1), c(0.9, 0.9)),
    }
    for name, (sb, ob, sc, oc) in cases.items():
        assert geometric_predicates(sb, ob, sc, oc).item() == P[name], name
    # touching edges are not strict containment; the angle boundaries follow the original
    assert geometric_predicates(b(0, 0, 1, 1), b(0, 0.2, 0.5, 0.5), c(0.5, 0.5), c(0.5, 0.4)).item() == P["below"]
    d = lambda theta: c(math.cos(theta), math.sin(theta))  # noqa: E731
    zero = c(0.0, 0.0)
    for theta, name in ((math.pi / 4 + 1e-6, "below"), (-math.pi / 4 + 1e-6, "right of"), (math.pi - 1e-6, "left of"),
                        (-3 * math.pi / 4 + 1e-6, "above"), (3 * math.pi / 4 - 1e-6, "below")):
        assert geometric_predicates(small, big, d(theta), zero).item() == P[name], theta


def test_mask_centres_use_mask_pixels_or_box_centre():
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.2, 0.4, 0.6, 0.8]])
    masks = torch.zeros(2, 5, 5, dtype=torch.long)
    masks[0, :, 0] = 1  # left column -> x = 0, y = 0.5
    centers = mask_centers(boxes, masks)
    assert torch.allclose(centers[0], torch.tensor([0.0, 0.5]))
    assert torch.allclose(centers[1], torch.tensor([0.4, 0.6]))  # empty mask: box centre


def test_triples_one_per_object_then_in_image_and_resampled():
    n = 5
    boxes = torch.rand(n + 1, 2).repeat(1, 2) + torch.tensor([0, 0, 0.1, 0.1])
    centers = torch.rand(n + 1, 2)
    gen = torch.Generator().manual_seed(0)
    draws = [sample_triples(n, boxes, centers, True, gen) for _ in range(20)]
    for t in draws:
        assert t.shape == (2 * n, 3)
        rel, in_image = t[:n], t[n:]
        assert (rel[:, 0] != rel[:, 2]).all() and (rel[:, [0, 2]] < n).all()
        cur = torch.arange(n)
        assert ((rel[:, 0] == cur) | (rel[:, 2] == cur)).all()  # one triple per real object
        assert in_image.tolist() == [[i, 0, n] for i in range(n)]
        assert (rel[:, 1] >= 1).all()
    assert len({tuple(t.flatten().tolist()) for t in draws}) > 10
    assert sample_triples(1, boxes[:2], centers[:2], True).tolist() == [[0, 0, 1]]
    assert sample_triples(n, boxes, centers, False).shape == (n, 3)


def test_dataset_relationships_are_resampled_and_images_normalised(tmp_path):
    ds = coco(basic_coco(tmp_path))
    seen = {tuple(ds[0][4].flatten().tolist()) for _ in range(30)}
    assert len(seen) > 1
    image = ds[0][0]
    pixel = torch.tensor([40, 100, 150]) / 255.0  # image 1's colour (JPEG may shift it a little)
    expected = (pixel - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(image[:, 32, 32], expected, atol=0.1)
    assert ds[0][2][-1].tolist() == [0, 0, 1, 1] and ds[0][3][-1].all()
    no_rel = coco(basic_coco(tmp_path / "b"), include_relationships=False)
    assert (no_rel[0][4][:, 1] == 0).all()
    raw = coco(basic_coco(tmp_path / "c"), normalize_images=False)[0][0]
    assert 0 <= raw.min() and raw.max() <= 1


# --------------------------------------------------------------------------- cache
def test_cache_equals_uncached_and_is_invalidated(tmp_path):
    files = basic_coco(tmp_path / "data")
    cache_dir = tmp_path / "cache"
    plain = coco(files)
    cached = coco(files, cache_dir=cache_dir)
    assert cached.cache_path.is_dir() and len(list(cache_dir.iterdir())) == 1  # no temp folders left
    for i in range(len(plain)):
        a, b = plain[i], cached[i]
        for x, y in zip(a[:4], b[:4]):
            assert torch.equal(x, y)
    again = coco(files, cache_dir=cache_dir)
    assert again.cache_path == cached.cache_path and again.vocab == plain.vocab
    blob = pickle.dumps(cached)  # spawned DataLoader workers: the arrays are re-mapped, not copied
    assert len(blob) < cached._cache["images"].nbytes and torch.equal(pickle.loads(blob)[1][0], cached[1][0])
    assert coco(files, cache_dir=cache_dir, mask_size=8).cache_path != cached.cache_path
    assert coco(files, cache_dir=cache_dir, image_size=(32, 32)).cache_path != cached.cache_path
    assert coco(files, cache_dir=cache_dir, min_object_size=0.05, min_objects_per_image=1).cache_path != cached.cache_path
    # per-access settings do not shape the cache
    assert coco(files, cache_dir=cache_dir, include_relationships=False).cache_path == cached.cache_path
    # the source file changes -> a new cache
    stat = os.stat(files["instances_json"])
    os.utime(files["instances_json"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert coco(files, cache_dir=cache_dir).cache_path != cached.cache_path


# --------------------------------------------------------------------------- bad data
def test_missing_and_truncated_images_name_the_file(tmp_path):
    files = basic_coco(tmp_path)
    os.remove(Path(files["image_dir"]) / "000000000002.jpg")
    ds = coco(files)
    with pytest.raises(DataError, match=r"000000000002\.jpg: image file not found \(image id 2\)"):
        ds[1]
    with pytest.raises(DataError, match=r"(?s)1 of 3 COCO images could not be read.*000000000002\.jpg"):
        coco(files, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # nothing half-written
    data = (Path(files["image_dir"]) / "000000000001.jpg").read_bytes()
    (Path(files["image_dir"]) / "000000000002.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match=r"000000000002\.jpg: cannot decode image"):
        ds[1]


def test_bad_records_are_counted_in_one_warning(tmp_path):
    files = basic_coco(tmp_path)
    inst = json.loads(Path(files["instances_json"]).read_text())
    inst["annotations"][0]["bbox"] = [90, 70, 50, 50]  # outside the 100x80 image
    inst["annotations"][1]["segmentation"] = []  # empty
    inst["annotations"].append({"id": 99, "image_id": 12345, "category_id": 1, "bbox": [0, 0, 50, 50]})
    inst["annotations"].append({"id": 98, "image_id": 1})
    Path(files["instances_json"]).write_text(json.dumps(inst))
    with pytest.warns(UserWarning, match=r"skipped 4 annotations: .*box outside its image.*annotation id 1, image 1"):
        ds = CocoSceneGraphDataset(**files)
    assert sum(ds.skipped.values()) == 4
    assert ds.image_ids == [2, 5]  # image 1 lost two objects (4 -> 2)


def test_corrupt_json_names_the_file(tmp_path):
    files = basic_coco(tmp_path)
    Path(files["instances_json"]).write_text('{"images": [')
    with pytest.raises(DataError, match=r"instances.json: not valid JSON"):
        CocoSceneGraphDataset(**files)
    Path(files["instances_json"]).write_text('{"images": []}')
    with pytest.raises(DataError, match=r"instances.json: missing list 'annotations'"):
        CocoSceneGraphDataset(**files)


def test_unreadable_images_are_skipped_counted_and_named_up_to_the_set_fraction(tmp_path):
    files = basic_coco(tmp_path)
    clean_ds = coco(files)  # images 1, 2 and 5, decoded at every access
    clean = [clean_ds[i] for i in range(len(clean_ds))]
    img = Path(files["image_dir"])
    (img / "000000000002.jpg").write_bytes(b"")  # zero bytes
    ds = coco(files, cache_dir=tmp_path / "cache", max_unreadable_fraction=0.4)
    assert len(ds) == len(clean) - 1 and len(ds.unreadable) == 1
    assert "000000000002.jpg" in ds.unreadable[0] and "cannot decode image" in ds.unreadable[0]
    # the readable images, served in order: rows 0 and 2 of the clean data
    for got, want in ((ds[0], clean[0]), (ds[1], clean[2])):
        assert all(torch.equal(a, b) for a, b in zip(got[1:4], want[1:4]))
    assert ds.total_objects() == clean_ds.total_objects() - (len(clean[1][1]) - 1)  # less image 2's objects
    data = (img / "000000000001.jpg").read_bytes()
    (img / "000000000005.jpg").write_bytes(data[: len(data) // 3])  # truncated: now 2 of 3
    with pytest.raises(DataError, match=r"2 of 3 COCO images could not be read \(66\.7%, more than "
                                        r"max_unreadable_fraction=0\.4"):
        coco(files, cache_dir=tmp_path / "cache2", max_unreadable_fraction=0.4)
    assert not any((tmp_path / "cache2").iterdir())  # nothing half-written
    # at the boundary: 2 of 3 is allowed by a fraction of exactly 2/3
    assert len(coco(files, cache_dir=tmp_path / "cache3", max_unreadable_fraction=2 / 3)) == 1
