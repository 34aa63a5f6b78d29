"""Figure sheets: panels side by side, one row per scene graph, like the paper's figures."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from sg2im.vis.images import font


def _fit(image: np.ndarray, height: int, max_width: int | None = None, nearest: bool = False) -> Image.Image:
    img = Image.fromarray(np.asarray(image))
    w = max(1, round(img.width * height / img.height))
    h = height
    if max_width is not None and w > max_width:
        h = max(1, round(height * max_width / w))
        w = max_width
    return img.resize((w, h), Image.NEAREST if nearest else Image.LANCZOS)


def figure_sheet(rows: Sequence[Sequence[np.ndarray | None]], titles: Sequence[str] = ("scene graph", "layout", "image"),
                 height: int = 192, pad: int = 8, nearest_columns: Sequence[int] = (2,)) -> np.ndarray:
    """Panels side by side, one row per graph (like the paper's figures).  Each panel is scaled
    to ``height`` (scene graphs at most 2x as wide); ``None`` panels stay blank.  Columns in
    ``nearest_columns`` (the small generated image) are enlarged without smoothing."""
    n_cols = max(len(r) for r in rows)
    fitted = [[None if p is None else _fit(p, height, 2 * height, nearest=c in nearest_columns)
               for c, p in enumerate(r)] for r in rows]
    widths = [max([height] + [row[c].width for row in fitted if c < len(row) and row[c] is not None]) for c in range(n_cols)]
    header = 24 if titles else 0
    total_w = sum(widths) + pad * (n_cols + 1)
    total_h = header + len(rows) * (height + pad) + pad
    sheet = Image.new("RGB", (total_w, total_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    text_font = font(16)
    x = pad
    for c in range(n_cols):
        if titles and c < len(titles):
            draw.text((x, 4), titles[c], fill=(0, 0, 0), font=text_font)
        x += widths[c] + pad
    for r, row in enumerate(fitted):
        y = header + pad + r * (height + pad)
        x = pad
        for c in range(n_cols):
            panel = row[c] if c < len(row) else None
            if panel is not None:
                sheet.paste(panel, (x + (widths[c] - panel.width) // 2, y + (height - panel.height) // 2))
            x += widths[c] + pad
    return np.asarray(sheet)
