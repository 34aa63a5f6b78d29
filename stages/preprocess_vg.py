"""Stage preprocess_vg: Visual Genome JSON -> data/vg/{train,val,test}.h5 + data/vg/vocab.json.

Every flag of the original scripts/preprocess_vg.py, with its name, read from the
``preprocess_vg:`` section of params.yaml (command-line flags override).  The steps are in
sg2im/data/vg_preprocess/.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.config.preprocess_vg import PreprocessVgConfig  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage(
        "preprocess_vg", PreprocessVgConfig, argv,
        description="Clean Visual Genome and write the scene graphs as HDF5 (original heuristics)."))
    from sg2im.data.vg_preprocess import preprocess_vg

    summary = preprocess_vg(cfg)
    splits = ",".join(k for k in ("train", "val", "test") if k in summary)
    print(f"preprocess_vg: wrote {cfg.output_h5_dir}/{{{splits}}}.h5 and {cfg.output_vocab_json}")
    return summary


if __name__ == "__main__":
    run_stage(main)
