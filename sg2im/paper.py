"""The paper's figures and tables from the released models (fetched and converted by download_models).

    python -m sg2im.paper figures     # make paper-figures: Figure 5 (coco64, vg64) and Figure 6 (vg128)
    python -m sg2im.paper tables      # make paper-tables: every released model found, evaluated, in one table

``figures`` renders each figure of ``scene_graphs/`` with the model the paper used for it, as sheets like
``generate`` draws them. ``tables`` evaluates every model of ``models/released/`` with the evaluate stage's
protocol (its ``params.yaml`` section; the data of this project's layout, i.e. the official COCO and VG test
splits once downloaded and preprocessed) and lays the numbers out as the paper's Table 1 (Inception score per
row and dataset, where Inception weights are given) and Table 2 (predicted-box recall and spread), each with
the paper's number beside ours. Outputs: ``<out>/figures/``, ``<out>/evaluate/<model>.json``,
``<out>/tables.md`` and ``tables.json``.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from sg2im.atomic import atomic_write_json, atomic_write_text
from sg2im.config.evaluate import EvaluateConfig
from sg2im.errors import DataError
from sg2im.released import MODELS, PAPER_BOXES, PAPER_INCEPTION, Released

FIGURES = {"figure_5_coco": "coco64", "figure_5_vg": "vg64", "figure_6_sheep": "vg128", "figure_6_street": "vg128"}
ROWS = ("no gconv", "no relationships", "no discriminators", "no D_obj", "no D_img", "full model",
        "GT layout, no gconv", "GT layout")


def paper_figures(released: Path, scene_graphs: Path, out: Path, device: str = "auto", seed: int = 0) -> list[str]:
    """Render Figures 5 and 6 from the released models; a figure whose model is missing is listed in README.txt."""
    import torch

    from sg2im.device import resolve_device
    from sg2im.generate import FigureResult, about_model, render_figure, write_figures
    from sg2im.model import load_generator
    from sg2im.vis.graph import dot_available

    results, loaded = [], {}
    for figure, name in FIGURES.items():
        path = released / f"{name}.pt"
        if not path.is_file():
            results.append(FigureResult(figure, "skipped", [], {}, reason=f"{path} is missing: fetch it with "
                                        f"`python stages/download_models.py --models {name}`"))
            continue
        if name not in loaded:
            loaded[name] = load_generator(path, resolve_device(device))
        model, ckpt = loaded[name]
        torch.manual_seed(seed)
        results.append(render_figure(model, scene_graphs / f"{figure}.json", dot_available(),
                                     about=about_model(str(path), ckpt, model)))
    produced, readme = write_figures(results, out / "figures", "The released models of the paper (download_models).")
    for r in results:
        print(f"{r.name}: {r.status}{' - ' + r.reason if r.reason else ''}")
    print(f"figure sheets in {out / 'figures'}/; what was skipped and why: {readme}")
    return [str(p) for p in produced]


def evaluate_released(models: list[Released], released: Path, out: Path, protocol: EvaluateConfig) -> dict[str, dict]:
    """Each model's evaluate JSON (``<out>/evaluate/<name>.json``), with ``protocol``'s settings; one crop
    classifier per dataset and image size (cached under ``out``)."""
    from sg2im.metrics.report import run_evaluation

    results = {}
    for m in models:
        cache = out / f"crop_classifier_{m.dataset}{m.image_size}.pt"
        cfg = replace(protocol, checkpoint=str(released / m.file), output=str(out / "evaluate" / f"{m.name}.json"),
                      track=False, classifier=replace(protocol.classifier, classifier_cache=str(cache)))
        print(f"== {m.name} ({m.dataset}, {m.row})", flush=True)
        results[m.name] = run_evaluation(cfg)
    return results


def _ours_is(metrics: dict, gt_layout: bool) -> tuple[float, float] | None:
    score = (metrics.get("inception") or {}).get("gt_layout" if gt_layout else "pred_layout") or {}
    return (score["IS_mean"], score["IS_std"]) if "IS_mean" in score else None


def table_rows(models: list[Released], results: dict[str, dict]) -> list[dict]:
    """One row per evaluated model: the paper's row, our numbers and the paper's."""
    rows = []
    for m in models:
        metrics = results[m.name]
        boxes = metrics["boxes"]["all"]["predicted"]
        paper_boxes = PAPER_BOXES.get((m.row, m.dataset), {})
        rows.append({
            "model": m.name, "dataset": m.dataset, "row": m.row, "image_size": m.image_size,
            "IS": _ours_is(metrics, m.gt_layout), "IS_paper": PAPER_INCEPTION.get((m.row.split(" (")[0], m.dataset)),
            "R@0.3": round(100 * boxes["R@0.3"], 1), "R@0.3_paper": paper_boxes.get("R@0.3"),
            "R@0.5": round(100 * boxes["R@0.5"], 1), "R@0.5_paper": paper_boxes.get("R@0.5"),
            "sigma_x": boxes.get("sigma_x"), "sigma_x_paper": paper_boxes.get("sigma_x"),
            "sigma_area": boxes.get("sigma_area"), "sigma_area_paper": paper_boxes.get("sigma_area"),
            "object_acc": metrics["object_accuracy"]["gt_layout" if m.gt_layout else "pred_layout"],
            "test_images": metrics["protocol"]["num_images"],
        })
    return rows


def _cell(value, paper=None, fmt="{:.1f}") -> str:
    def one(v):
        if v is None:
            return "–"
        if isinstance(v, tuple):
            return f"{v[0]:.1f} ± {v[1]:.1f}"
        return fmt.format(v)
    return one(value) + ("" if paper is None and value is None else f" ({one(paper)})")


def tables_markdown(rows: list[dict], protocol: EvaluateConfig) -> str:
    """Table 1 (Inception score, rows x datasets) and Table 2 (predicted boxes): ours (the paper's)."""
    by = {(r["row"].split(" (")[0], r["dataset"]): r for r in rows}
    lines = ["# The paper's tables, measured on the released models", "",
             "Each cell: ours (the paper's). Inception scores need pytorch-fid's Inception weights "
             "(evaluate.inception_weights); without them the cell is –. Object accuracy has no paper number.", "",
             "## Table 1: Inception score (and our object accuracy)", "",
             "| model | COCO IS | VG IS | COCO obj. acc. | VG obj. acc. |", "|---|---|---|---|---|"]
    for row in ROWS:
        coco, vg = by.get((row, "coco")), by.get((row, "vg"))
        if coco is None and vg is None:
            continue
        cells = [_cell(r["IS"], r["IS_paper"]) if r else "not evaluated" for r in (coco, vg)]
        accs = [f"{r['object_acc']:.3f}" if r else "–" for r in (coco, vg)]
        lines.append(f"| {row} | {cells[0]} | {cells[1]} | {accs[0]} | {accs[1]} |")
    lines += ["", "## Table 2: predicted boxes", "",
              "| model | dataset | R@0.3 | R@0.5 | σx | σarea |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["row"].startswith("GT layout"):
            continue  # no predicted boxes to speak of
        lines.append(f"| {r['model']} | {r['dataset']} | {_cell(r['R@0.3'], r['R@0.3_paper'])} | "
                     f"{_cell(r['R@0.5'], r['R@0.5_paper'])} | {_cell(r['sigma_x'], r['sigma_x_paper'], '{:.3f}')} | "
                     f"{_cell(r['sigma_area'], r['sigma_area_paper'], '{:.3f}')} |")
    lines += ["", f"Protocol: evaluate stage settings (split {protocol.split}, {protocol.samples_per_layout} "
              f"samples per layout, seed {protocol.seed}); per model: "
              + ", ".join(f"{r['model']} {r['test_images']} test images" for r in rows) + "."]
    return "\n".join(lines) + "\n"


def paper_tables(released: Path, out: Path, protocol: EvaluateConfig) -> Path:
    """Evaluate every released model in ``released``; write tables.md and tables.json under ``out``."""
    models = [m for m in MODELS if (released / m.file).is_file()]
    if not models:
        raise DataError(f"{released}: no released model found. Fetch them first: python stages/download_models.py "
                        "--models coco64,vg64,vg128 [--ablated 1]")
    results = evaluate_released(models, released, out, protocol)
    rows = table_rows(models, results)
    atomic_write_json(out / "tables.json", {"rows": rows}, indent=2)
    path = atomic_write_text(out / "tables.md", tables_markdown(rows, protocol))
    print(f"tables: {path} ({len(rows)} models)")
    return path


def main(argv: list[str] | None = None) -> None:
    from sg2im.config.loader import load_stage, run_stage

    parser = argparse.ArgumentParser(prog="python -m sg2im.paper", description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("figures", "tables"))
    parser.add_argument("--released", default="models/released", help="Folder of the converted released models.")
    parser.add_argument("--out", default="outputs/paper", help="Where the sheets, evaluations and tables go.")
    parser.add_argument("--scene_graphs", default="scene_graphs", help="Folder of the figures' scene graphs.")
    parser.add_argument("--device", default="auto")
    args, rest = parser.parse_known_args(argv)

    def run() -> None:
        if args.what == "figures":
            paper_figures(Path(args.released), Path(args.scene_graphs), Path(args.out), args.device)
        else:  # the evaluate stage's protocol; its flags (--num_samples 500, --inception_weights ...) after ours
            protocol = load_stage("evaluate", EvaluateConfig, rest, description="evaluation protocol").config
            paper_tables(Path(args.released), Path(args.out), protocol)

    run_stage(run)


if __name__ == "__main__":
    main()
