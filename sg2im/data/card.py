"""A dataset card for every dataset the pipeline reads, synthetic, official or your own: ``<out_dir>/CARD.md``
(where the data came from, its splits, its categories and predicates with their counts, how many images the
current filters keep, what validation warned about) and ``card.png`` (the class counts, and sample images
with their boxes and scene graphs), so you see what a model will learn from before it does."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sg2im.atomic import atomic_write_text
from sg2im.data.validate.report import Report
from sg2im.vis.images import font, object_colors, save_png

PANEL = 200
TOP = 30


def card_markdown(report: Report, source: str, name: str) -> str:
    s = report.summary
    lines = [f"# Dataset card: {name}", "", f"- format: {report.format.upper()}", f"- source: {source}",
             f"- folder: `{report.root}`", "", "![class counts and samples](card.png)", "", "## Splits", ""]
    for split, info in (s.get("splits") or {}).items():
        lines.append(f"- {split}: {info['images']} images, {info['objects']} objects "
                     f"({info['objects_per_image_mean']:.1f} per image, at most {info['objects_per_image_max']}; "
                     f"{info.get('images_without_objects', 0)} images without usable objects)")
    lines += ["", "How many images the current parameters keep: `python -m sg2im.data.validate "
              f"{report.root} --format {report.format}` (and the first lines of the train stage)."]
    for title, counts in (("Categories", s.get("categories")), ("Predicates", s.get("predicates"))):
        if counts:
            lines += ["", f"## {title} ({len(counts)})", "", "| name | count |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in counts.items()]
    if s.get("predicates_note"):
        lines += ["", "## Predicates", "", s["predicates_note"]]
    lines += ["", f"## Validation: {len(report.errors)} kinds of error, {len(report.warnings)} kinds of warning", ""]
    lines += [f"- {p.line()}" for p in report.errors + report.warnings] or ["- none"]
    return "\n".join(lines) + "\n"


def _bars(counts: dict[str, int], width: int) -> Image.Image:
    """The ``TOP`` most frequent categories as horizontal bars with their counts."""
    items = list(counts.items())[:TOP]
    row, label_w = 16, 170
    img = Image.new("RGB", (width, 28 + row * max(len(items), 1)), "white")
    draw = ImageDraw.Draw(img)
    draw.text((6, 4), f"objects per category (top {len(items)} of {len(counts)})", fill="black", font=font(14))
    top = max((c for _, c in items), default=1)
    colours = object_colors(max(len(items), 1))
    for i, (name, count) in enumerate(items):
        y = 26 + i * row
        draw.text((6, y), name[:24], fill="black", font=font(12))
        w = int((width - label_w - 70) * count / top)
        draw.rectangle([label_w, y + 2, label_w + max(w, 1), y + row - 3], fill=tuple(int(v) for v in colours[i]))
        draw.text((label_w + w + 6, y), str(count), fill="black", font=font(12))
    return img


def _sample_panel(sample: dict) -> Image.Image:
    """A sample image (fitted in ``PANEL`` px) with its boxes and names; its scene graph below when Graphviz is
    installed (objects and relationships as the dataset gives them)."""
    from sg2im.vis.graph import DRAWING_DPI, dot_available, try_draw_scene_graph

    with Image.open(sample["image"]) as im:
        image = im.convert("RGB")
    scale = PANEL / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(image)
    colours = object_colors(len(sample["objects"]))
    for k, (name, x, y, w, h) in enumerate(sample["objects"]):
        colour = tuple(int(v) for v in colours[k])
        box = [x * scale, y * scale, (x + w) * scale, (y + h) * scale]
        draw.rectangle(box, outline=colour, width=2)
        draw.text((box[0] + 2, box[1] + 1), name, fill=colour, font=font(12))
    panel = Image.new("RGB", (PANEL, PANEL), "white")
    panel.paste(image, ((PANEL - image.width) // 2, (PANEL - image.height) // 2))
    if not (dot_available() and sample["relationships"]):
        return panel
    names = [o[0] for o in sample["objects"]]
    drawn = try_draw_scene_graph(names, [list(t) for t in sample["relationships"]], f"the card's sample {sample['image']}",
                                 fit=False, dpi=DRAWING_DPI)
    if drawn is None:
        return panel
    graph = Image.fromarray(drawn)
    graph.thumbnail((PANEL, PANEL))
    out = Image.new("RGB", (PANEL, PANEL + graph.height + 6), "white")
    out.paste(panel, (0, 0))
    out.paste(graph, ((PANEL - graph.width) // 2, PANEL + 6))
    return out


def card_png(report: Report) -> np.ndarray:
    panels = [_sample_panel(s) for s in report.samples]
    width = max(640, len(panels) * (PANEL + 10) + 10)
    bars = _bars(report.summary.get("categories") or {}, width)
    height = bars.height + 10 + max((p.height for p in panels), default=0) + 10
    sheet = Image.new("RGB", (width, height), "white")
    sheet.paste(bars, (0, 0))
    for i, panel in enumerate(panels):
        sheet.paste(panel, (10 + i * (PANEL + 10), bars.height + 10))
    return np.asarray(sheet)


def write_card(out_dir: str | Path, report: Report, source: str, name: str) -> tuple[Path, Path]:
    """``CARD.md`` and ``card.png`` in ``out_dir``, and the validation report (``validation.json``)."""
    out_dir = Path(out_dir)
    png = save_png(card_png(report), out_dir / "card.png")
    md = atomic_write_text(out_dir / "CARD.md", card_markdown(report, source, name))
    report.write(out_dir / "validation.json")
    return md, png


def describe_dataset(out_dir: str | Path, fmt: str, source: str, report: Report | None = None) -> Path:
    """The card of the dataset a download stage just wrote into ``out_dir`` (validated here, without opening
    every image, unless ``report`` is that of a local import, which opened them all)."""
    from sg2im.data.validate import check_dataset

    if report is None:
        report = check_dataset(out_dir, fmt, check_pixels=False)
    md, _ = write_card(out_dir, report, source, f"{fmt.upper()} data in {out_dir}")
    return md
