"""Stage generate: images from scene-graph JSON (the original run_model.py) and the paper's figures.

    python stages/generate.py --checkpoint models/sg2im.pt --scene_graphs_json scene_graphs/figure_6_sheep.json \\
        --output_dir outputs/sheep [--draw_scene_graphs 1] [--device cpu]

writes img000000.png, ... (per-image min-max rescale, as the original), layout000000.png
(predicted boxes and masks, labelled) and, with --draw_scene_graphs 1, sg000000.png (Graphviz).
With ``figures`` set (the pipeline: scene_graphs/), every figure file whose names the model's
vocabulary covers becomes a sheet <output_dir>/figures/<figure>.png; the rest are listed with the
reason in <output_dir>/figures/README.txt and report.json. Given --scene_graphs_json, only that file is
rendered unless --figures is given too.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.config.generate import GenerateConfig  # noqa: E402
from sg2im.config.loader import load_stage, run_stage  # noqa: E402
from sg2im.pipeline import settle_outputs  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    loaded = load_stage("generate", GenerateConfig, argv, description=__doc__.split("\n")[0])
    from sg2im.generate import generate, what_to_render

    return generate(what_to_render(settle_outputs(loaded), loaded.explicit))


if __name__ == "__main__":
    run_stage(main)
