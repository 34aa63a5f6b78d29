"""Pictures: generated images to uint8, layouts (boxes + masks, labelled), scene graphs drawn by
Graphviz ``dot``, figure sheets (scene graph | layout | image, one row per graph) and grids.

Every function returns an RGB ``numpy.uint8`` array (H, W, 3); :func:`save_png` writes one
atomically.
"""
from __future__ import annotations

import colorsys
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from sg2im.data.images import IMAGENET_MEAN, IMAGENET_STD  # noqa: F401 (re-exported)
from sg2im.atomic import atomic_write
from sg2im.errors import Sg2imError
HIDDEN_OBJECTS = ("__image__",)
HIDDEN_PREDICATES = ("__in_image__",)


class GraphvizMissing(Sg2imError):
    """Graphviz ``dot`` is not installed."""


# --------------------------------------------------------------------------- images
def deprocess_images(imgs: Tensor, rescale: bool = True) -> np.ndarray:
    """ImageNet-normalised (N, 3, H, W) -> uint8 (N, H, W, 3), as the original
    ``imagenet_deprocess_batch`` (:func:`sg2im.data.images.imagenet_deprocess_batch`): un-normalise,
    then (``rescale``) stretch each image's own min..max to 0..255, truncate to uint8."""
    from sg2im.data.images import imagenet_deprocess_batch

    return imagenet_deprocess_batch(imgs, rescale=rescale).permute(0, 2, 3, 1).contiguous().numpy()


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 array as PNG via a temporary file + rename (never a half-written file)."""
    return atomic_write(path, lambda handle: Image.fromarray(np.ascontiguousarray(image)).save(handle, format="PNG"))


def object_colors(n: int) -> np.ndarray:
    """``n`` well-separated saturated RGB colours (uint8, (n, 3)), the same for the same ``n``."""
    hues = (np.arange(n) * 0.618033988749895) % 1.0
    return np.array([[int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 0.95)] for h in hues], dtype=np.uint8).reshape(n, 3)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


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
    font = _font(max(10, size // 16))
    for i in visible:
        x0, y0, x1, y1 = _box_pixels(boxes[i], size)
        color = tuple(int(c * 0.7) for c in colors[i])
        if show_boxes:
            draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=color, width=max(1, size // 128))
        if show_labels:
            tx, ty = min(max(x0 + 2, 0), size - 10), min(max(y0 + 1, 0), size - 12)
            bbox = draw.textbbox((tx, ty), names[i], font=font)
            draw.rectangle(bbox, fill=(255, 255, 255))
            draw.text((tx, ty), names[i], fill=color, font=font)
    return np.asarray(canvas)


def _box_pixels(box: np.ndarray, size: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (np.clip(np.asarray(box, dtype=np.float64), 0, 1) * size).round().astype(int)
    return int(x0), int(y0), int(x1), int(y1)


# --------------------------------------------------------------------------- scene graphs
def scene_graph_dot(objects: Sequence[str], triples: Sequence[Sequence], orientation: str = "V",
                    ignore_dummies: bool = True) -> str:
    """The Graphviz text of a scene graph: rounded boxes, objects lightpink1, predicates
    lightblue1 (one node per triple), top-down (``V``) or left-right (``H``)."""
    if orientation not in ("V", "H"):
        raise ValueError(f"orientation must be 'V' or 'H', got {orientation!r}")
    lines = [
        "digraph{",
        'graph [size="5,3",ratio="compress",dpi="300",bgcolor="transparent"]',
        f"rankdir={'TD' if orientation == 'V' else 'LR'}",
        'nodesep="0.5"',
        'ranksep="0.5"',
        'node [shape="box",style="rounded,filled",fontsize="48",color="none"]',
        'node [fillcolor="lightpink1"]',
    ]
    for i, name in enumerate(objects):
        if ignore_dummies and name in HIDDEN_OBJECTS:
            continue
        lines.append(f'{i} [label="{_escape(name)}"]')
    lines.append('node [fillcolor="lightblue1"]')
    next_id = len(objects)
    edge = "penwidth=6,arrowsize=1.5,weight=1.2"
    for s, p, o in triples:
        if ignore_dummies and p in HIDDEN_PREDICATES:
            continue
        lines += [f'{next_id} [label="{_escape(p)}"]', f"{int(s)}->{next_id} [{edge}]", f"{next_id}->{int(o)} [{edge}]"]
        next_id += 1
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def decode_scene_graph(objs: Tensor, triples: Tensor, vocab: dict) -> tuple[list[str], list[list]]:
    """Index tensors -> names with the vocabulary (``object_idx_to_name``, ``pred_idx_to_name``;
    the original vis.py wrongly used ``pred_name_to_idx`` here)."""
    names = [vocab["object_idx_to_name"][int(i)] for i in objs.tolist()]
    rels = [[int(s), vocab["pred_idx_to_name"][int(p)], int(o)] for s, p, o in triples.tolist()]
    return names, rels


def dot_available() -> bool:
    return shutil.which("dot") is not None


def draw_scene_graph(objects: Sequence[str] | Tensor, triples: Sequence[Sequence] | Tensor,
                     vocab: dict | None = None, orientation: str = "V", ignore_dummies: bool = True,
                     timeout: float = 60.0) -> np.ndarray:
    """Render a scene graph with Graphviz ``dot`` (RGB on white).

    ``objects`` are names and ``triples`` ``[s, predicate_name, o]``; or index tensors with
    ``vocab``.  Raises :class:`GraphvizMissing` when ``dot`` is not installed."""
    if vocab is not None and torch.is_tensor(objects):
        objects, triples = decode_scene_graph(objects, triples, vocab)
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            "Graphviz 'dot' is not installed (needed to draw scene graphs). Install it "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz) or run with "
            "--draw_scene_graphs 0."
        )
    text = scene_graph_dot(list(objects), list(triples), orientation, ignore_dummies)
    result = subprocess.run([dot, "-Tpng"], input=text.encode(), capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise Sg2imError(f"Graphviz dot failed ({result.returncode}): {result.stderr.decode(errors='replace')[:500]}")
    image = Image.open(BytesIO(result.stdout)).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image).convert("RGB"))


# --------------------------------------------------------------------------- sheets and grids
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
    font = _font(16)
    x = pad
    for c in range(n_cols):
        if titles and c < len(titles):
            draw.text((x, 4), titles[c], fill=(0, 0, 0), font=font)
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


def image_grid(images: Sequence[np.ndarray] | np.ndarray, nrow: int = 8, pad: int = 2,
               background: int = 255) -> np.ndarray:
    """Equal-sized uint8 images (N, H, W, 3) tiled ``nrow`` per row with ``pad`` pixels between."""
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"need images of shape (N, H, W, 3), got {images.shape}")
    n, h, w, c = images.shape
    cols = min(nrow, n)
    rows = (n + cols - 1) // cols
    grid = np.full((rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad, c), background, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        grid[y:y + h, x:x + w] = images[i]
    return grid
