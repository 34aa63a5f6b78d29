"""Figure sheets laid out like the paper's Figures 5 and 6: one column per scene graph, its drawing above
the generated image, the predicted layout below, and a caption naming the figure and the model.

Every scene-graph drawing of a sheet is scaled by one common factor (never stretched to fit its cell), so
words and nodes have the same size in pixels across the sheet; the small generated images are enlarged
with nearest-neighbour (their pixels stay visible, not blurred).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from sg2im.vis.images import font

WHITE = (255, 255, 255)


def drawing_scale(drawings: Sequence[np.ndarray], cell_width: int, max_height: int, min_scale: float) -> float:
    """One factor for every drawing: the largest at which each fits ``cell_width`` x ``max_height``, but not
    below ``min_scale`` (columns widen instead, so text stays legible)."""
    if not drawings:
        return 1.0
    widest = max(d.shape[1] for d in drawings)
    tallest = max(d.shape[0] for d in drawings)
    return max(min_scale, min(1.0, cell_width / widest, max_height / tallest))


def _scaled(image: np.ndarray, factor: float, nearest: bool) -> Image.Image:
    img = Image.fromarray(np.asarray(image))
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    return img.resize(size, Image.NEAREST if nearest else Image.LANCZOS)


def _pasted_centred(sheet: Image.Image, panel: Image.Image, x: int, y: int, w: int, h: int) -> None:
    sheet.paste(panel, (x + (w - panel.width) // 2, y + (h - panel.height) // 2))


def figure_sheet(images: Sequence[np.ndarray], layouts: Sequence[np.ndarray],
                 drawings: Sequence[np.ndarray] | None = None, caption: str = "", cell: int = 256,
                 pad: int = 12, drawing_max_height: int = 320, drawing_min_scale: float = 0.33) -> np.ndarray:
    """A sheet with one column per graph: drawing (when given), image (nearest-neighbour enlarged to a whole
    multiple of its size, about ``cell`` px), layout; a title per row and ``caption`` at the bottom."""
    n = len(images)
    if n == 0 or len(layouts) != n or (drawings is not None and len(drawings) != n):
        raise ValueError(f"need as many layouts and drawings as images, got {n}, {len(layouts)}, "
                         f"{None if drawings is None else len(drawings)}")
    side = images[0].shape[0]
    zoom = max(1, round(cell / side))
    shown = [_scaled(im, zoom, nearest=True) for im in images]
    img_w = max(s.width for s in shown)
    scale = drawing_scale(drawings or [], img_w, drawing_max_height, drawing_min_scale)
    drawn = [_scaled(d, scale, nearest=False) for d in drawings] if drawings is not None else []
    col_w = max([img_w] + [d.width for d in drawn])
    lay = [_scaled(la, img_w / la.shape[1], nearest=False) for la in layouts]
    rows = ([("scene graph", drawn, max(d.height for d in drawn))] if drawn else []) + [
        ("image", shown, max(s.height for s in shown)), ("layout", lay, max(la.height for la in lay))]

    title_font, caption_font = font(18), font(16)
    label_w = 130
    caption_lines = caption.splitlines() if caption else []
    caption_h = (22 * len(caption_lines) + pad) if caption_lines else 0
    width = label_w + n * (col_w + pad) + pad
    height = pad + sum(h + pad for _, _, h in rows) + caption_h
    sheet = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(sheet)
    y = pad
    for title, panels, h in rows:
        draw.text((pad, y + h // 2 - 9), title, fill=(0, 0, 0), font=title_font)
        for i, panel in enumerate(panels):
            _pasted_centred(sheet, panel, label_w + i * (col_w + pad), y, col_w, h)
        y += h + pad
    for line in caption_lines:
        draw.text((pad, y), line, fill=(40, 40, 40), font=caption_font)
        y += 22
    return np.asarray(sheet)


def caption_text(figure: str, checkpoint: str, dataset: str | None, iterations: int | None,
                 image_size: Sequence[int] | None, skipped: int = 0) -> str:
    """Two lines: which figure (of the paper, for ``figure_<n>_<name>``), and which model drew it."""
    paper = re.fullmatch(r"figure_(\d+)_(\w+)", figure)
    first = (f"Figure {paper.group(1)} ({paper.group(2).replace('_', ' ')}) of Johnson et al., Image Generation from "
             "Scene Graphs (CVPR 2018)") if paper else figure
    model = f"model {checkpoint}"
    details = [d for d in (f"dataset {dataset}" if dataset else "", f"{iterations:,} iterations" if iterations else "",
                           "x".join(map(str, image_size)) + " px" if image_size else "") if d]
    second = model + (f" ({', '.join(details)})" if details else "")
    if skipped:
        second += f"; {skipped} graph{'s' if skipped != 1 else ''} of the figure not covered by its vocabulary"
    return f"{first}\n{second}"
