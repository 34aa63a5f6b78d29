"""Layouts: each object's mask (or box) in its own colour inside its box, outlined and labelled."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from sg2im.vis.images import font, object_colors

HIDDEN_OBJECTS = ("__image__",)


def draw_layout(names: Sequence[str], boxes: Tensor | np.ndarray, masks: Tensor | np.ndarray | None = None,
                size: int = 256, show_boxes: bool = True, show_labels: bool = True,
                alpha: float = 0.6) -> np.ndarray:
    """A layout: each object's mask (or its box, without masks) filled with its own colour inside
    its box, the box outlined and labelled with the object's name.  ``boxes`` (O, 4) in [0, 1];
    ``masks`` (O, M, M) in [0, 1].  Objects named ``__image__`` are skipped."""
    boxes = np.asarray(torch.as_tensor(boxes).detach().float().cpu())
    mask_arr = None if masks is None else np.asarray(torch.as_tensor(masks).detach().float().cpu())
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    colors = object_colors(len(names))
    visible = [i for i, name in enumerate(names) if name not in HIDDEN_OBJECTS]
    for i in visible:
        x0, y0, x1, y1 = _box_pixels(boxes[i], size)
        w, h = x1 - x0, y1 - y0
        if w <= 0 or h <= 0:
            continue
        if mask_arr is not None:
            m = Image.fromarray((np.clip(mask_arr[i], 0, 1) * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
            a = (np.asarray(m, dtype=np.float32) / 255.0 * alpha * 255).astype(np.uint8)
        else:
            a = np.full((h, w), int(alpha * 255 * 0.5), dtype=np.uint8)
        patch = Image.new("RGB", (w, h), tuple(int(c) for c in colors[i]))
        canvas.paste(patch, (x0, y0), Image.fromarray(a, mode="L"))
    draw = ImageDraw.Draw(canvas)
    text_font = font(max(10, size // 16))
    for i in visible:
        x0, y0, x1, y1 = _box_pixels(boxes[i], size)
        color = tuple(int(c * 0.7) for c in colors[i])
        if show_boxes:
            draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=color, width=max(1, size // 128))
        if show_labels:
            tx, ty = min(max(x0 + 2, 0), size - 10), min(max(y0 + 1, 0), size - 12)
            bbox = draw.textbbox((tx, ty), names[i], font=text_font)
            draw.rectangle(bbox, fill=(255, 255, 255))
            draw.text((tx, ty), names[i], fill=color, font=text_font)
    return np.asarray(canvas)


def _box_pixels(box: np.ndarray, size: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (np.clip(np.asarray(box, dtype=np.float64), 0, 1) * size).round().astype(int)
    return int(x0), int(y0), int(x1), int(y1)
