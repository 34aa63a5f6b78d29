"""Stage generate: images from scene-graph JSON (the original run_model.py) and the paper's figures.

    python stages/generate.py --checkpoint models/sg2im.pt --scene_graphs_json scene_graphs/figure_6_sheep.json \\
        --output_dir outputs/generate [--draw_scene_graphs 1] [--device cpu]

writes img000000.png, ... (per-image min-max rescale, as the original), layout000000.png
(predicted boxes and masks, labelled) and, with --draw_scene_graphs 1, sg000000.png (Graphviz).
With ``figures`` set (the pipeline: scene_graphs/), every figure file whose names the model's
vocabulary covers becomes a sheet <output_dir>/figures/<figure>.png; the rest are listed with the
reason in <output_dir>/figures/README.txt and report.json.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.params import Param, bool_flag, load_params, run_stage  # noqa: E402

PARAMS = [
    Param("checkpoint", "sg2im-models/vg128.pt", "Generator checkpoint (full or stripped)."),
    Param("trust_checkpoint", False, "1 = load the checkpoint with pickle (weights_only=False); only for files you trust.",
          type=bool_flag),
    Param("scene_graphs_json", "scene_graphs/figure_6_sheep.json",
          "JSON file with one scene graph or a list of them ('' = none; the pipeline renders figures instead)."),
    Param("output_dir", "outputs", "Folder for img000000.png, layout000000.png, sg000000.png, ... and figures/."),
    Param("draw_scene_graphs", False, "1 = also draw each scene graph with Graphviz dot (sg000000.png, ...).", type=bool_flag),
    Param("device", "gpu", "auto, cpu, gpu or cuda (gpu/cuda fall back to CPU with a warning).",
          choices=("auto", "cpu", "gpu", "cuda")),
    Param("figures", "", "Folder of figure JSON files (scene_graphs/) to render as sheets ('' = none). Not in the original."),
    Param("layout_size", 256, "Side in pixels of the layout drawings.", type=int),
    Param("seed", 0, "Random seed of the layout noise (the original did not seed).", type=int),
]


def main(argv: list[str] | None = None) -> dict:
    args = load_params("generate", PARAMS, argv, description=__doc__.split("\n")[0])
    import torch

    from sg2im.errors import ParamsError
    from sg2im.generate import render_figures, render_graphs, write_figures, write_run_model_outputs
    from sg2im.metrics.evaluation import resolve_device
    from sg2im.model import load_generator
    from sg2im.scene_graph import load_scene_graphs
    from sg2im.vis import dot_available

    if not args.scene_graphs_json and not args.figures:
        raise ParamsError("generate: set scene_graphs_json (a JSON file of scene graphs) and/or figures (a folder of them)")
    graphs = load_scene_graphs(args.scene_graphs_json) if args.scene_graphs_json else None
    device = resolve_device(args.device)
    model, ckpt = load_generator(args.checkpoint, device, trust_checkpoint=args.trust_checkpoint)
    torch.manual_seed(args.seed)
    out = Path(args.output_dir)
    summary: dict = {"written": [], "figures": {}}

    if graphs is not None:
        rendered = render_graphs(model, graphs, args.scene_graphs_json, args.draw_scene_graphs, args.layout_size)
        written = write_run_model_outputs(rendered, out)
        summary["written"] = [str(p) for p in written]
        print(f"wrote {len(rendered.images)} images ({rendered.images.shape[1]}x{rendered.images.shape[2]}) "
              f"with layouts{' and scene graphs' if args.draw_scene_graphs else ''} to {out}/")

    if args.figures:
        draw = dot_available()
        note = "" if draw else "Graphviz 'dot' is not installed: sheets have no scene-graph column (apt-get install graphviz)."
        if note:
            print(f"WARNING: {note}", flush=True)
        torch.manual_seed(args.seed)
        results = render_figures(model, args.figures, draw, args.layout_size)
        produced, readme = write_figures(results, out / "figures", note)
        summary["figures"] = {r.name: r.status for r in results}
        for r in results:
            extra = f", {len(r.skipped_graphs)} graphs not covered" if r.skipped_graphs else ""
            print(f"figure {r.name}: {r.status}{extra}{' - ' + r.reason if r.reason else ''}")
        print(f"figure sheets in {out / 'figures'}/ ({len(produced)} rendered); what was skipped and why: {readme}")
        _log_figures(ckpt, results, out / "figures")
    return summary


def _log_figures(ckpt: dict, results, figures_dir: Path) -> None:
    from sg2im.tracking import Tracker

    run_id = ckpt.get("mlflow_run_id")
    tracker = Tracker.start("generate", tags={}, run_id=run_id)
    if not tracker.enabled and run_id:
        tracker = Tracker.start("generate", tags={"stage": "generate", "generated_from_run": run_id})
    if not tracker.enabled:
        return
    for r in results:
        if r.sheet is not None:
            tracker.log_image(r.sheet, key=f"figures/{r.name}")
    tracker.log_artifact(figures_dir / "README.txt", artifact_path="figures")
    tracker.log_artifact(figures_dir / "report.json", artifact_path="figures")
    tracker.end()


if __name__ == "__main__":
    run_stage(main)
