"""How many images of a dataset survive the filters of the current parameters: the COCO loader's own filters
(``train``: the COCO model) and Visual Genome preprocessing with ``preprocess_vg``'s thresholds, run for real
(into a temporary folder). Kept apart from the checks: it needs the loader and the preprocessing code, which
the download stages do not import (their results do not depend on those)."""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from sg2im.data.validate.coco import SPLITS, coco_files


def coco_survivors(root: Path, train) -> dict[str, int]:
    """Images left by the COCO loader's filters (the parameters of ``train``), per split."""
    from sg2im.data.build import build_coco_datasets

    files = {s: coco_files(root, s) for s in SPLITS}
    data = replace(train.data, dataset="coco", cache_dir="", num_train_samples=None,
                   coco_train_image_dir=str(files["train"]["images"]),
                   coco_val_image_dir=str(files["val"]["images"]),
                   coco_train_instances_json=str(files["train"]["instances"]),
                   coco_val_instances_json=str(files["val"]["instances"]),
                   coco_train_stuff_json=str(files["train"]["stuff"]), coco_val_stuff_json=str(files["val"]["stuff"]))
    _, dsets = build_coco_datasets(data, train.model.size, train.model.mask_size, ("train", "val"))
    return {"train": len(dsets["train"]), "val2017 (val + test)": dsets["val"].num_filtered_images}


def vg_survivors(root: Path, preprocess) -> dict[str, int]:
    """Images per split after preprocess_vg with ``preprocess``'s thresholds, run on ``root`` into a temp dir."""
    from sg2im.data.vg_preprocess import preprocess_vg

    with tempfile.TemporaryDirectory() as tmp:
        inputs = replace(preprocess.inputs, images_json=str(root / "image_data.json"),
                         objects_json=str(root / "objects.json"), relationships_json=str(root / "relationships.json"),
                         attributes_json=_optional(root, "attributes.json", tmp, "[]"),
                         object_aliases=_optional(root, "object_alias.txt", tmp, ""),
                         relationship_aliases=_optional(root, "relationship_alias.txt", tmp, ""))
        cfg = replace(preprocess, inputs=inputs, output_h5_dir=tmp, output_vocab_json=str(Path(tmp) / "vocab.json"))
        summary = preprocess_vg(cfg, log=lambda *_: None)
    return {split: summary[split]["images"] for split in ("train", "val", "test") if split in summary}


def _optional(root: Path, name: str, tmp: str, empty: str) -> str:
    """``root/name``, or an empty stand-in in ``tmp`` when the dataset has none."""
    if (root / name).exists():
        return str(root / name)
    stand_in = Path(tmp) / name
    stand_in.write_text(empty)
    return str(stand_in)


def count_survivors(report, fmt: str, params: str | Path) -> None:
    """Add to ``report``'s summary how many images the settings of ``params`` keep (not when it has errors)."""
    from sg2im.config.loader import load_stage

    if report.errors:
        return
    flags, root = ["--params", str(params)], Path(report.root)
    if fmt == "coco":
        from sg2im.config.train import TrainConfig

        report.summary["surviving"] = coco_survivors(root, load_stage("train", TrainConfig, flags).config)
    else:
        from sg2im.config.preprocess_vg import PreprocessVgConfig

        report.summary["surviving"] = vg_survivors(root, load_stage("preprocess_vg", PreprocessVgConfig, flags).config)
