"""Stage preprocess_vg: Visual Genome JSON -> data/vg/{train,val,test}.h5 + data/vg/vocab.json.

Every flag of the original scripts/preprocess_vg.py, with its name, read from the
``preprocess_vg:`` section of params.yaml (command-line flags override).  The library code is
sg2im/data/vg_preprocess.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.data.vg_preprocess import preprocess_vg  # noqa: E402
from sg2im.params import REPO_ROOT, Param, load_params, run_stage  # noqa: E402

VG_DIR = "data/vg"  # the original used datasets/vg

PARAMS = [
    # Input data
    Param("splits_json", "sg2im/data/vg_splits.json",
          "JSON {split: [VG image ids]}; the original split for official VG. 'auto' = a deterministic "
          "80/10/10 split by md5(image id) (for synthetic data, whose ids are not VG's).", type=str),
    Param("images_json", f"{VG_DIR}/image_data.json", "VG image_data.json (image_id, width, height, url).", type=str),
    Param("objects_json", f"{VG_DIR}/objects.json", "VG objects.json.", type=str),
    Param("attributes_json", f"{VG_DIR}/attributes.json", "VG attributes.json.", type=str),
    Param("object_aliases", f"{VG_DIR}/object_alias.txt", "Object alias file (each line: canonical,alias,...).", type=str),
    Param("relationship_aliases", f"{VG_DIR}/relationship_alias.txt", "Predicate alias file.", type=str),
    Param("relationships_json", f"{VG_DIR}/relationships.json", "VG relationships.json.", type=str),
    # Images
    Param("min_image_size", 200, "Drop images whose shorter side is below this many pixels.", type=int),
    Param("train_split", "train", "Split whose images build the vocabularies.", type=str),
    # Objects
    Param("min_object_instances", 2000, "Keep object names with at least this many training instances.", type=int),
    Param("min_attribute_instances", 2000, "Keep attributes with at least this many training instances.", type=int),
    Param("min_object_size", 32, "Drop objects whose box width or height is below this (original pixels).", type=int),
    Param("min_objects_per_image", 3, "Skip images with fewer kept objects.", type=int),
    Param("max_objects_per_image", 30, "Skip images with more kept objects (also the object padding).", type=int),
    Param("max_attributes_per_image", 30, "At most this many attributes per object (the original's name).", type=int),
    # Relationships
    Param("min_relationship_instances", 500, "Keep predicates with at least this many training instances.", type=int),
    Param("min_relationships_per_image", 1, "Skip images with fewer kept relationships.", type=int),
    Param("max_relationships_per_image", 30, "Skip images with more kept relationships (also the padding).", type=int),
    # Output
    Param("output_vocab_json", f"{VG_DIR}/vocab.json", "Where vocab.json goes.", type=str),
    Param("output_h5_dir", VG_DIR, "Folder for {split}.h5.", type=str),
]


def main(argv: list[str] | None = None) -> dict:
    args = load_params("preprocess_vg", PARAMS, argv,
                       description="Clean Visual Genome and write the scene graphs as HDF5 (original heuristics).")
    args.splits_json = str(args.splits_json)
    packaged = REPO_ROOT / args.splits_json
    if args.splits_json != "auto" and not Path(args.splits_json).exists() and packaged.exists():
        args.splits_json = str(packaged)  # sg2im/data/vg_splits.json from any working directory
    summary = preprocess_vg(args)
    print(f"preprocess_vg: wrote {args.output_h5_dir}/{{{','.join(k for k in ('train', 'val', 'test') if k in summary)}}}.h5 "
          f"and {args.output_vocab_json}")
    return summary


if __name__ == "__main__":
    run_stage(main)
