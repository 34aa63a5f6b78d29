"""Stage download_vg: Visual Genome v1.4 in the official layout and schema.

    python stages/download_vg.py [--source synthetic] [--num_images 2500] [--image_size 384]

source=synthetic (the embedded default) draws a cartoon world offline and writes it as the
official release is laid out: data/vg/images/VG_100K/<id>.jpg, data/vg/{image_data,objects,
attributes,relationships}.json and data/vg/{object,relationship}_alias.txt, with the mess of the
real data (aliases, mixed case, dangling relationships, small images and objects).  The split
is made later by preprocess_vg.  source=official fetches the real files of the original
download_vg.sh (about 15 GB; resumable, retried, size-checked, disk space checked up front) into
the same layout.  Either way a killed run leaves no half-written file, and a re-run fetches only
what is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.download_vg import DownloadVgConfig  # noqa: E402
from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage("download_vg", DownloadVgConfig, argv,
                                                   description=__doc__.split("\n")[0]))
    from sg2im.data.fetch.vg import get_vg

    done = get_vg(cfg)
    print(f"{cfg.source} Visual Genome v1.4 in {cfg.out_dir} (images/, image_data/objects/attributes/"
          "relationships.json, object_alias.txt, relationship_alias.txt): "
          + ", ".join(f"{k} {v}" for k, v in done.items()))
    return done


if __name__ == "__main__":
    run_stage(main)
