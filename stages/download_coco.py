"""Stage download_coco: COCO 2017 + COCO-Stuff 2017 in the official layout and schema.

    python stages/download_coco.py [--source synthetic] [--num_train_images 2000] [--image_size 128]

source=synthetic (the embedded default) draws a cartoon world offline and writes it exactly as
the official release is laid out: data/coco/images/{train2017,val2017}/<12-digit id>.jpg and
data/coco/annotations/{instances,stuff}_{train,val}2017.json (things as polygons, COCO-Stuff as
compressed RLE with the real category ids).  source=official fetches the real files of the
original download_coco.sh (about 21 GB; resumable, retried, size-checked, disk space checked up
front) into the same layout.  Synthetic outputs are generated next to the old ones and moved into
place at the end; official archives are extracted member by member under temporary names.  Either
way a killed run leaves no half-written file, and a re-run fetches only what is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.data.official import COCO_OUTPUTS, COCO_PARAMS, fetch_from_params, switch_source  # noqa: E402
from sg2im.params import Param, bool_flag, load_params, run_stage  # noqa: E402

PARAMS = [
    Param("source", "official", "Where the data comes from: synthetic (cartoon world drawn offline) or official "
          "(the COCO 2017 + COCO-Stuff downloads of the original download_coco.sh).", choices=("synthetic", "official")),
    Param("out_dir", "data/coco", "Folder that receives images/ and annotations/ (original: datasets/coco)."),
    Param("num_train_images", 2000, "Synthetic train2017 images (official train2017: 118,287).", type=int),
    Param("num_val_images", 400, "Synthetic val2017 images (official val2017: 5,000); the COCO loader takes the "
          "first num_val_samples filtered ones as val and the next ones as test.", type=int),
    Param("image_size", 128, "Width of the synthetic images in pixels (height too, except 4:3 ones).", type=int),
    Param("aspect_fraction", 0.1, "Fraction of synthetic images that are 4:3 instead of square.", type=float),
    Param("seed", 0, "Seed of the synthetic world (same seed = same bytes).", type=int),
    Param("annotations_only", False, "1 = write only the annotation JSON files, no JPEGs (scale tests).",
          type=bool_flag),
    Param("workers", 2, "Processes drawing synthetic images (the output does not depend on it).", type=int),
    Param("jpeg_quality", 85, "JPEG quality of the synthetic images.", type=int),
    *COCO_PARAMS,
]


def main(argv: list[str] | None = None) -> dict:
    args = load_params("download_coco", PARAMS, argv, description=__doc__.split("\n")[0])
    from sg2im.errors import ParamsError

    out = Path(args.out_dir)
    if args.source == "official":
        switch_source(out, "official", COCO_OUTPUTS)
        return fetch_from_params("coco", out, args)
    for name in ("num_train_images", "num_val_images", "image_size", "workers"):
        if getattr(args, name) < 1:
            raise ParamsError(f"download_coco.{name} must be >= 1, got {getattr(args, name)}")
    from sg2im.data.synthetic.coco_writer import write_coco

    switch_source(out, "synthetic", COCO_OUTPUTS)
    counts = write_coco(out, args.num_train_images, args.num_val_images, image_size=args.image_size, seed=args.seed,
                        aspect_fraction=args.aspect_fraction, annotations_only=args.annotations_only,
                        workers=args.workers, jpeg_quality=args.jpeg_quality)
    print(f"synthetic COCO 2017 + COCO-Stuff written to {out}/images and {out}/annotations: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


if __name__ == "__main__":
    run_stage(main)
