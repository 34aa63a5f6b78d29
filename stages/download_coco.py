"""Stage download_coco: COCO 2017 + COCO-Stuff 2017 in the official layout and schema.

    python stages/download_coco.py [--source synthetic] [--num_train_images 2000] [--image_size 128]

source=synthetic (the embedded default) draws a cartoon world offline and writes it exactly as
the official release is laid out: data/coco/images/{train2017,val2017}/<12-digit id>.jpg and
data/coco/annotations/{instances,stuff}_{train,val}2017.json (things as polygons, COCO-Stuff as
compressed RLE with the real category ids).  source=official fetches the real files of the
original download_coco.sh (about 21 GB; resumable, retried, size-checked, disk space checked up
front) into the same layout.  Either way a killed run leaves no half-written file, and a re-run
fetches only what is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.download_coco import DownloadCocoConfig  # noqa: E402
from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage("download_coco", DownloadCocoConfig, argv,
                                                     description=__doc__.split("\n")[0]))
    from sg2im.data.fetch.coco import get_coco

    done = get_coco(cfg)
    print(f"{cfg.source} COCO 2017 + COCO-Stuff in {cfg.out_dir}/images and {cfg.out_dir}/annotations: "
          + ", ".join(f"{k} {v}" for k, v in done.items()))
    return done


if __name__ == "__main__":
    run_stage(main)
