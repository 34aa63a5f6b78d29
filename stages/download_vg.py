"""Stage download_vg: Visual Genome v1.4 in the official layout and schema.

    python stages/download_vg.py [--source synthetic] [--num_images 2500] [--image_size 384]

source=synthetic (the embedded default) draws a cartoon world offline and writes it as the
official release is laid out: data/vg/images/VG_100K/<id>.jpg, data/vg/{image_data,objects,
attributes,relationships}.json and data/vg/{object,relationship}_alias.txt, with the mess of the
real data (aliases, mixed case, dangling relationships, small images and objects).  The split
is made later by preprocess_vg.  source=official fetches the real files of the original
download_vg.sh (about 15 GB; resumable, retried, size-checked, disk space checked up front) into
the same layout.  Synthetic outputs are generated next to the old ones and moved into place at the
end; official archives are extracted member by member under temporary names.  Either way a killed
run leaves no half-written file, and a re-run fetches only what is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.data.official import VG_OUTPUTS, VG_PARAMS, fetch_from_params, switch_source  # noqa: E402
from sg2im.params import Param, bool_flag, load_params, run_stage  # noqa: E402

PARAMS = [
    Param("source", "official", "Where the data comes from: synthetic (cartoon world drawn offline) or official "
          "(the VG v1.4 downloads of the original download_vg.sh).", choices=("synthetic", "official")),
    Param("out_dir", "data/vg", "Folder that receives images/VG_100K/ and the JSON/alias files (original: datasets/vg)."),
    Param("num_images", 2500, "Synthetic images (official VG v1.4: 108,077); ids are the first ones of "
          "sg2im/data/vg_splits.json.", type=int),
    Param("image_size", 384, "Width of the synthetic images in pixels (height too, except 4:3 ones); objects are "
          "drawn at least 0.09 x image_size, so they pass the 32 px min_object_size of preprocess_vg.", type=int),
    Param("aspect_fraction", 0.1, "Fraction of synthetic images that are 4:3 instead of square.", type=float),
    Param("small_image_fraction", 0.02, "Fraction of images below preprocess_vg's min_image_size (200 px).",
          type=float),
    Param("sparse_fraction", 0.02, "Fraction of images annotated with only 1-2 objects.", type=float),
    Param("name_variant_fraction", 0.04, "Fraction of object names written as an alias or in mixed case.",
          type=float),
    Param("predicate_variant_fraction", 0.04, "Fraction of predicates written as an alias or in upper/mixed case.",
          type=float),
    Param("dangling_fraction", 0.03, "Fraction of relationships whose subject or object id is not in objects.json.",
          type=float),
    Param("clutter_objects", 0, "Scale tests only (needs annotations_only=1): mean extra small rare-name objects per "
          "image, real VG's long tail (real v1.4 has about 35 objects per image: use 24).", type=int),
    Param("clutter_relationships", 0, "Scale tests only: mean extra relationships among them (real v1.4: about 21 "
          "per image: use 18).", type=int),
    Param("seed", 0, "Seed of the synthetic world (same seed = same bytes).", type=int),
    Param("annotations_only", False, "1 = write only the JSON/alias files, no JPEGs (scale tests: 108077 images).",
          type=bool_flag),
    Param("workers", 2, "Processes drawing synthetic images (the output does not depend on it).", type=int),
    Param("jpeg_quality", 85, "JPEG quality of the synthetic images.", type=int),
    *VG_PARAMS,
]


def main(argv: list[str] | None = None) -> dict:
    args = load_params("download_vg", PARAMS, argv, description=__doc__.split("\n")[0])
    from sg2im.errors import ParamsError

    out = Path(args.out_dir)
    if args.source == "official":
        switch_source(out, "official", VG_OUTPUTS)
        return fetch_from_params("vg", out, args)
    for name in ("num_images", "image_size", "workers"):
        if getattr(args, name) < 1:
            raise ParamsError(f"download_vg.{name} must be >= 1, got {getattr(args, name)}")
    if (args.clutter_objects or args.clutter_relationships) and not args.annotations_only:
        raise ParamsError("download_vg.clutter_objects/clutter_relationships need annotations_only=1 (the clutter is "
                          "not drawn in the pictures); set --annotations_only 1 or the clutter to 0")
    from sg2im.data.synthetic.vg_writer import vg_image_ids, write_vg

    try:
        vg_image_ids(args.num_images)
    except ValueError as exc:
        raise ParamsError(f"download_vg.num_images: {exc}") from None
    switch_source(out, "synthetic", VG_OUTPUTS)
    counts = write_vg(out, args.num_images, image_size=args.image_size, seed=args.seed,
                      annotations_only=args.annotations_only, workers=args.workers, jpeg_quality=args.jpeg_quality,
                      small_image_fraction=args.small_image_fraction, aspect_fraction=args.aspect_fraction,
                      sparse_fraction=args.sparse_fraction, name_variant_fraction=args.name_variant_fraction,
                      predicate_variant_fraction=args.predicate_variant_fraction,
                      dangling_fraction=args.dangling_fraction, clutter_objects=args.clutter_objects,
                      clutter_relationships=args.clutter_relationships)
    print(f"synthetic Visual Genome v1.4 written to {out} (images/VG_100K, image_data/objects/attributes/"
          "relationships.json, object_alias.txt, relationship_alias.txt): "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


if __name__ == "__main__":
    run_stage(main)
