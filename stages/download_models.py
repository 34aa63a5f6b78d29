"""Stage download_models: the released models of the paper (the original's scripts/download_models.sh,
download_ablated_models.sh, download_full_models.sh), each checked and converted once to the weights-only format.

    python stages/download_models.py --models coco64,vg64,vg128            # the three main models
    python stages/download_models.py --models coco64 --ablated 1           # + the 12 ablations of Table 1
    python stages/download_models.py --models vg128 --full 1               # with the training history
    python stages/download_models.py --models vg64 --base_url http://mirror/sg2im-data --trust_mirror 1

Writes <out_dir>/<name>.pt (models/released/; generate, evaluate and the editor load it without
--trust_checkpoint) and the record of what was fetched (record). Under `dvc repro` it fetches what
download_models.models names: nothing by default. A dropped transfer resumes on the next run.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.download_models import DownloadModelsConfig  # noqa: E402
from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage("download_models", DownloadModelsConfig, argv,
                                    description=__doc__.split("\n")[0]))
    from sg2im.data.fetch.released import fetch_released

    return fetch_released(cfg)


if __name__ == "__main__":
    run_stage(main)
