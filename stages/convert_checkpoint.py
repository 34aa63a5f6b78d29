"""Convert an original sg2im checkpoint (a pickle from the original code) to this project's weights-only format,
once; then generate, evaluate and the editor load it without --trust_checkpoint.

    python stages/convert_checkpoint.py --input sg2im-models/vg128.pt --output models/vg128.pt --trust_checkpoint 1

Keeps the vocabulary, model_kwargs (minus the deprecated keys the original's strip_old_args.py removes),
the weights, the discriminators where present and the training settings (data paths pointed at this
project's layout); checks that the result builds a working generator before writing it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.convert_checkpoint import ConvertCheckpointConfig  # noqa: E402
from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    cfg = settle_outputs(load_stage("convert_checkpoint", ConvertCheckpointConfig, argv,
                                    description=__doc__.split("\n")[0]))
    from sg2im.convert import convert_file

    summary = convert_file(cfg.input, cfg.output, trust=cfg.trust_checkpoint)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    run_stage(main)
