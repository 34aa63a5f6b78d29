"""Images from scene-graph JSON (the original ``run_model.py``), plus layouts, scene-graph drawings
and the paper's figure sheets.

Everything is validated and rendered in memory before the first file is written, so bad input
(unknown names, indices out of range, empty graphs, malformed JSON) leaves no partial outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sg2im.atomic import atomic_write_json, atomic_write_text
from sg2im.config.generate import GenerateConfig
from sg2im.device import resolve_device
from sg2im.errors import DataError
from sg2im.model import load_generator
from sg2im.scene_graph import IMAGE_OBJECT, encode_scene_graphs, load_scene_graphs, trained_max_objects
from sg2im.tracking import Tracker
from sg2im.vis.graph import DRAWING_DPI, dot_available, try_draw_scene_graph
from sg2im.vis.images import deprocess_images, save_png
from sg2im.vis.layout import draw_layout
from sg2im.vis.sheet import caption_text, figure_sheet


@dataclass
class Rendered:
    """Per graph: the generated image, its predicted layout drawing and (optionally) its graph."""

    images: np.ndarray  # (N, H, W, 3) uint8
    layouts: list[np.ndarray]
    graphs: list[np.ndarray | None]
    boxes: list[torch.Tensor] = field(default_factory=list)


@dataclass(frozen=True)
class GraphRules:
    """What a scene graph may hold beyond the vocabulary (:func:`sg2im.scene_graph.encode_scene_graphs`)."""

    max_objects: int | None = None
    allow_self_relationships: bool = False


FIGURE_RULES = GraphRules(None, True)  # the paper's graphs, as given (figure 5 (VG) relates a building to itself)


@torch.no_grad()
def render_graphs(model, graphs: Sequence[dict], source: str | None = None, draw_graphs: bool = False,
                  layout_size: int = 256, rules: GraphRules = GraphRules()) -> Rendered:
    """Run the model on ``graphs`` (predicted boxes and masks) and draw everything in memory.

    Raises DataError (naming the graph) for graphs the vocabulary or ``rules`` refuse; a graph Graphviz cannot
    draw (missing, too slow, failing) is left undrawn with a warning."""
    device = next(model.parameters()).device
    objs, triples, obj_to_img = encode_scene_graphs(list(graphs), model.vocab, device=device, source=source,
                                                    max_objects=rules.max_objects,
                                                    allow_self_relationships=rules.allow_self_relationships)
    imgs, boxes_pred, masks_pred, _ = model(objs, triples, obj_to_img)
    images = deprocess_images(imgs)
    layouts, drawn, boxes_out = [], [], []
    for i, graph in enumerate(graphs):
        sel = (obj_to_img == i).nonzero().flatten()
        names = list(graph["objects"]) + [IMAGE_OBJECT]
        masks = masks_pred[sel] if masks_pred is not None else None
        layouts.append(draw_layout(names, boxes_pred[sel], masks, size=layout_size))
        boxes_out.append(boxes_pred[sel].cpu())
        drawn.append(try_draw_scene_graph(graph["objects"], graph.get("relationships", []),
                                          f"scene graph {i}{' of ' + source if source else ''}") if draw_graphs else None)
    return Rendered(images, layouts, drawn, boxes_out)


def write_run_model_outputs(rendered: Rendered, output_dir: str | Path) -> list[Path]:
    """``img%06d.png`` (+ ``layout%06d.png``, ``sg%06d.png``) per graph, each written atomically."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, image in enumerate(rendered.images):
        written.append(save_png(image, output_dir / f"img{i:06d}.png"))
        written.append(save_png(rendered.layouts[i], output_dir / f"layout{i:06d}.png"))
        if rendered.graphs[i] is not None:
            written.append(save_png(rendered.graphs[i], output_dir / f"sg{i:06d}.png"))
    return written


# --------------------------------------------------------------------------- figures
@dataclass
class FigureResult:
    name: str
    status: str  # rendered | partial | skipped
    rendered_graphs: list[int]
    skipped_graphs: dict[int, str]
    reason: str = ""
    sheet: np.ndarray | None = None


def check_graphs(graphs: Sequence[dict], vocab: dict, source: str,
                 rules: GraphRules = GraphRules()) -> tuple[list[int], dict[int, str]]:
    """Which graphs the vocabulary (and ``rules``) accept; the reasons for the others."""
    ok, bad = [], {}
    for i, graph in enumerate(graphs):
        try:
            encode_scene_graphs([graph], vocab, source=source, max_objects=rules.max_objects,
                                allow_self_relationships=rules.allow_self_relationships)
            ok.append(i)
        except DataError as exc:
            bad[i] = str(exc).replace("scene graph 0", f"scene graph {i}", 1)
    return ok, bad


def render_figure(model, path: Path, draw_graphs: bool, layout_size: int = 256, about: dict | None = None) -> FigureResult:
    """One sheet like the paper's figure: a column per graph the vocabulary covers (drawing, image, layout),
    every drawing at the same scale, and a caption naming the figure and the model (``about``: checkpoint,
    dataset, iterations, image_size)."""
    name = path.stem
    try:
        graphs = load_scene_graphs(path)
    except DataError as exc:
        return FigureResult(name, "skipped", [], {}, reason=str(exc))
    ok, bad = check_graphs(graphs, model.vocab, str(path), FIGURE_RULES)
    if not ok:
        return FigureResult(name, "skipped", [], bad, reason="no graph of this figure is covered by the model's vocabulary")
    chosen = [graphs[i] for i in ok]
    rendered = render_graphs(model, chosen, str(path), False, layout_size, FIGURE_RULES)
    drawings = [try_draw_scene_graph(g["objects"], g.get("relationships", []), f"{name} graph {i}", fit=False,
                                     dpi=DRAWING_DPI) for i, g in zip(ok, chosen)] if draw_graphs else None
    if drawings is not None and any(d is None for d in drawings):
        drawings = None  # one scale for all: a sheet has every drawing or none
    about = about or {}
    caption = caption_text(name, about.get("checkpoint", "?"), about.get("dataset"), about.get("iterations"),
                           about.get("image_size"), skipped=len(bad))
    sheet = figure_sheet(list(rendered.images), rendered.layouts, drawings, caption)
    return FigureResult(name, "rendered" if not bad else "partial", ok, bad, sheet=sheet)


def render_figures(model, figures_dir: str | Path, draw_graphs: bool, layout_size: int = 256,
                   about: dict | None = None) -> list[FigureResult]:
    figures_dir = Path(figures_dir)
    files = sorted(figures_dir.glob("*.json"))
    if not files:
        raise DataError(f"{figures_dir}: no scene-graph figure files (*.json) found. Set generate.figures to the "
                        "folder with the figures' JSON (scene_graphs/) or to '' to skip figures.")
    return [render_figure(model, f, draw_graphs, layout_size, about) for f in files]


def about_model(checkpoint_path: str, ckpt: dict, model) -> dict:
    """What a figure's caption says of the model: file, dataset, iterations trained, image size."""
    args = ckpt.get("args") or {}
    counters = ckpt.get("counters") or {}
    return {"checkpoint": checkpoint_path, "dataset": args.get("dataset"),
            "iterations": counters.get("t") or args.get("num_iterations"),
            "image_size": tuple(getattr(model, "image_size", ()) or ()) or None}


def write_figures(results: list[FigureResult], out_dir: str | Path, note: str = "") -> tuple[list[Path], Path]:
    """Write ``<figure>.png`` for rendered figures, remove stale sheets, write report.json and
    README.txt (which lists what could not be rendered and why)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    produced = []
    for r in results:
        if r.sheet is not None:
            produced.append(save_png(r.sheet, out_dir / f"{r.name}.png"))
    keep = {p.name for p in produced}
    for stale in out_dir.glob("*.png"):
        if stale.name not in keep:
            stale.unlink()
    report = {r.name: {"status": r.status, "rendered_graphs": r.rendered_graphs,
                       "skipped_graphs": {str(k): v for k, v in r.skipped_graphs.items()},
                       **({"reason": r.reason} if r.reason else {})} for r in results}
    atomic_write_json(out_dir / "report.json", report, indent=2)
    lines = ["Figures of the paper rendered with this model (scene graph | predicted layout | image).", ""]
    if note:
        lines += [note, ""]
    for r in results:
        lines.append(f"{r.name}: {r.status}" + (f" ({len(r.rendered_graphs)} graphs) -> {r.name}.png" if r.sheet is not None else ""))
        if r.reason:
            lines.append(f"  reason: {r.reason}")
        for k, why in r.skipped_graphs.items():
            lines.append(f"  graph {k} not rendered: {why}")
    readme = atomic_write_text(out_dir / "README.txt", "\n".join(lines) + "\n")
    return produced, readme




# --------------------------------------------------------------------------- the stage's work
def what_to_render(cfg: GenerateConfig, explicit: frozenset[str]) -> GenerateConfig:
    """A user who names a scene-graph file on the command line gets that file rendered; the paper's figure
    sheets too only when ``--figures`` is given as well (the pipeline asks for them in params.yaml)."""
    if "scene_graphs_json" in explicit and "figures" not in explicit and cfg.figures:
        return replace(cfg, figures="")
    return cfg


def generate(cfg: GenerateConfig) -> dict:
    """Images (+ layouts, scene-graph drawings) of ``scene_graphs_json`` and the sheets of ``figures``."""
    graphs = load_scene_graphs(cfg.scene_graphs_json) if cfg.scene_graphs_json else None
    model, ckpt = load_generator(cfg.checkpoint, resolve_device(cfg.device), trust_checkpoint=cfg.trust_checkpoint)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.output_dir)
    summary: dict = {"written": [], "figures": {}}
    if graphs is not None:
        rules = GraphRules(cfg.max_objects_per_graph or trained_max_objects(ckpt.get("args")),
                           cfg.allow_self_relationships)
        rendered = render_graphs(model, graphs, cfg.scene_graphs_json, cfg.draw_scene_graphs, cfg.layout_size, rules)
        summary["written"] = [str(p) for p in write_run_model_outputs(rendered, out)]
        print(f"wrote {len(rendered.images)} images ({rendered.images.shape[1]}x{rendered.images.shape[2]}) "
              f"with layouts{' and scene graphs' if cfg.draw_scene_graphs else ''} to {out}/")
    if cfg.figures:
        draw = dot_available()
        note = "" if draw else "Graphviz 'dot' is not installed: sheets have no scene-graph column (apt-get install graphviz)."
        if note:
            print(f"WARNING: {note}", flush=True)
        torch.manual_seed(cfg.seed)
        results = render_figures(model, cfg.figures, draw, cfg.layout_size, about_model(cfg.checkpoint, ckpt, model))
        produced, readme = write_figures(results, out / "figures", note)
        summary["figures"] = {r.name: r.status for r in results}
        for r in results:
            extra = f", {len(r.skipped_graphs)} graphs not covered" if r.skipped_graphs else ""
            print(f"figure {r.name}: {r.status}{extra}{' - ' + r.reason if r.reason else ''}")
        print(f"figure sheets in {out / 'figures'}/ ({len(produced)} rendered); what was skipped and why: {readme}")
        if cfg.track:
            log_figures(ckpt.get("mlflow_run_id"), results, out / "figures")
    return summary


def log_figures(run_id: str | None, results: list[FigureResult], figures_dir: Path) -> None:
    """The figure sheets into the model's MLflow run (a run by hand gets a run of its own)."""
    tracker = Tracker.start("generate", tags={"stage": "generate"}, run_id=run_id)
    if not tracker.enabled:
        return
    for r in results:
        if r.sheet is not None:
            tracker.log_image(r.sheet, key=f"figures/{r.name}")
    tracker.log_artifact(figures_dir / "README.txt", artifact_path="figures")
    tracker.log_artifact(figures_dir / "report.json", artifact_path="figures")
    tracker.end()
