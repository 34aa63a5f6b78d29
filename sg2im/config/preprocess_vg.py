"""Settings of preprocess_vg: the original ``scripts/preprocess_vg.py`` flags, by step."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import group, setting

VG = "data/vg"  # the original used datasets/vg


@dataclass(frozen=True)
class VgInputConfig:
    splits_json: str = setting("sg2im/data/vg_splits.json",
                               "JSON {split: [VG image ids]}; the original split for official VG. 'auto' = a "
                               "deterministic 80/10/10 split by md5(image id) (for synthetic data, whose ids are not "
                               "VG's).")
    images_json: str = setting(f"{VG}/image_data.json", "VG image_data.json (image_id, width, height, url).")
    objects_json: str = setting(f"{VG}/objects.json", "VG objects.json.")
    attributes_json: str = setting(f"{VG}/attributes.json", "VG attributes.json.")
    object_aliases: str = setting(f"{VG}/object_alias.txt", "Object alias file (each line: canonical,alias,...).")
    relationship_aliases: str = setting(f"{VG}/relationship_alias.txt", "Predicate alias file.")
    relationships_json: str = setting(f"{VG}/relationships.json", "VG relationships.json.")


@dataclass(frozen=True)
class VgFilterConfig:
    min_image_size: int = setting(200, "Drop images whose shorter side is below this many pixels.")
    train_split: str = setting("train", "Split whose images build the vocabularies.")
    min_object_instances: int = setting(2000, "Keep object names with at least this many training instances.")
    min_attribute_instances: int = setting(2000, "Keep attributes with at least this many training instances.")
    min_object_size: int = setting(32, "Drop objects whose box width or height is below this (original pixels).")
    min_objects_per_image: int = setting(3, "Skip images with fewer kept objects.")
    max_objects_per_image: int = setting(30, "Skip images with more kept objects (also the object padding).")
    max_attributes_per_image: int = setting(30, "At most this many attributes per object (the original's name).")
    min_relationship_instances: int = setting(500, "Keep predicates with at least this many training instances.")
    min_relationships_per_image: int = setting(1, "Skip images with fewer kept relationships.")
    max_relationships_per_image: int = setting(30, "Skip images with more kept relationships (also the padding).")


@dataclass(frozen=True)
class PreprocessVgConfig:
    HOME = "output_h5_dir"

    inputs: VgInputConfig = group(VgInputConfig)
    filters: VgFilterConfig = group(VgFilterConfig)
    output_vocab_json: str = setting(f"{VG}/vocab.json", "Where vocab.json goes.", local=True, output=True)
    output_h5_dir: str = setting(VG, "Folder for {split}.h5.", local=True, output=True)
