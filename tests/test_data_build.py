"""build_vocab_and_datasets from the original train.py flags, the COCO val/test split, and
build_loader batching (offsets, masks, seeded reproducibility with workers)."""
from __future__ import annotations

import json
from argparse import Namespace

import pytest
import torch

from helpers_config import datasets as build_vocab_and_datasets
from sg2im.data.build import build_loader
from sg2im.errors import ParamsError
from test_data_coco import make_coco

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def coco_args(files: dict[str, str], **over) -> Namespace:
    values = dict(
        dataset="coco", image_size="32,32", num_train_samples=None, num_val_samples=3, include_relationships=1,
        coco_train_image_dir=files["image_dir"], coco_val_image_dir=files["image_dir"],
        coco_train_instances_json=files["instances_json"], coco_train_stuff_json=files["stuff_json"],
        coco_val_instances_json=files["instances_json"], coco_val_stuff_json=files["stuff_json"],
        instance_whitelist=None, stuff_whitelist=None, coco_include_other=0, min_object_size=0.02,
        min_objects_per_image=3, coco_stuff_only=1, mask_size=16, max_objects_per_image=10,
        vg_image_dir="unused", train_h5="unused", val_h5="unused", vocab_json="unused", vg_use_orphaned_objects=1,
    )
    values.update(over)
    return Namespace(**values)


@pytest.fixture(scope="module")
def coco_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco_build")
    box = (5, 5, 40, 30)
    images = {i: [(1 + i % 3, box), (2, (50, 10, 40, 40)), (3, (20, 40, 30, 30))] for i in range(1, 11)}
    stuff = {i: [(93, (0, 50, 100, 30))] for i in range(1, 11)}
    return make_coco(root, images, stuff=stuff)


def test_coco_splits_val_then_test(coco_files, tmp_path, capsys):
    vocab, ds = build_vocab_and_datasets(coco_args(coco_files, cache_dir=str(tmp_path)), ("train", "val", "test"))
    assert len(ds["train"]) == 10 and ds["val"].image_ids == [1, 2, 3]
    assert ds["test"].image_ids == list(range(4, 11))  # the next (up to 2,048) filtered val images
    assert "COCO test split has 7 images, not 2048" in capsys.readouterr().out
    assert vocab == ds["train"].vocab and vocab["object_idx_to_name"][0] == "__image__"
    assert ds["train"][0][0].shape == (3, 32, 32)
    args = coco_args(coco_files, cache_dir="", num_train_samples=4)
    assert len(build_vocab_and_datasets(args, ("train",))[1]["train"]) == 4
    with pytest.raises(ParamsError, match="dataset.* must be one of"):
        build_vocab_and_datasets(coco_args(coco_files, dataset="imagenet"))


def test_coco_loader_offsets_and_seeded_workers(coco_files, tmp_path):
    _, ds = build_vocab_and_datasets(coco_args(coco_files, cache_dir=str(tmp_path)), ("train",))
    loader = build_loader(ds["train"], 4, shuffle=True, num_workers=2, seed=7)
    batches = [b for b in loader]
    assert [b.num_images for b in batches] == [4, 4, 2]
    for b in batches:
        assert len(b.as_tuple()) == 7 and b.masks.shape[1:] == (16, 16) and b.masks.shape[0] == len(b.objs)
        assert (b.obj_to_img[b.triples[:, 0]] == b.triple_to_img).all()
        assert (b.obj_to_img[b.triples[:, 2]] == b.triple_to_img).all()
        in_image = b.triples[b.triples[:, 1] == 0]
        assert (b.objs[in_image[:, 2]] == 0).all() and len(in_image) == int((b.objs != 0).sum())
        counts = torch.bincount(b.obj_to_img)
        assert (counts == 5).all()  # 3 instances + 1 stuff + __image__
    again = [b for b in build_loader(ds["train"], 4, shuffle=True, num_workers=2, seed=7)]
    assert all(torch.equal(a.triples, c.triples) and torch.equal(a.objs, c.objs) for a, c in zip(batches, again))


def test_vg_build_uses_whole_val_and_test_next_to_val(tmp_path):
    from test_data_vg import VOCAB, synthetic_h5
    from PIL import Image

    (tmp_path / "img" / "VG_100K").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(tmp_path / "img" / "VG_100K" / "1.jpg")
    for split in ("train", "val", "test"):
        synthetic_h5(tmp_path / f"{split}.h5", 5, [(0, 1)])
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    args = Namespace(dataset="vg", image_size=(16, 16), refinement_network_dims=(8,), num_train_samples=None,
                     num_val_samples=1024,
                     include_relationships=1, vg_image_dir=str(tmp_path / "img"), train_h5=str(tmp_path / "train.h5"),
                     val_h5=str(tmp_path / "val.h5"), vocab_json=str(tmp_path / "vocab.json"), max_objects_per_image=3,
                     vg_use_orphaned_objects=1, mask_size=16, cache_dir="", test_h5=str(tmp_path / "test.h5"))
    vocab, ds = build_vocab_and_datasets(args, ("train", "val", "test"))
    assert vocab == VOCAB and set(ds) == {"train", "val", "test"}
    assert ds["test"].h5_path == str(tmp_path / "test.h5")
    item = ds["val"][0]
    assert len(item[1]) == 3 and item[3] is None  # max_objects_per_image incl. __image__
