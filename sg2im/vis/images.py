"""Generated images as pictures: uint8 conversion, grids, nearest-neighbour enlargement, PNG files."""
from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageFont
from torch import Tensor

from sg2im import imagenet
from sg2im.atomic import atomic_write


def deprocess_images(imgs: Tensor, rescale: bool = True) -> np.ndarray:
    """ImageNet-normalised (N, 3, H, W) -> uint8 (N, H, W, 3), as the original ``imagenet_deprocess_batch``
    (:func:`sg2im.imagenet.to_uint8`): un-normalise, then (``rescale``) stretch each image's own min..max to
    0..255, truncate to uint8."""
    return imagenet.to_uint8(imgs.detach().cpu(), rescale=rescale).permute(0, 2, 3, 1).contiguous().numpy()


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 array as PNG via a temporary file + rename (never a half-written file)."""
    return atomic_write(path, lambda handle: Image.fromarray(np.ascontiguousarray(image)).save(handle, format="PNG"))


def object_colors(n: int) -> np.ndarray:
    """``n`` well-separated saturated RGB colours (uint8, (n, 3)), the same for the same ``n``."""
    hues = (np.arange(n) * 0.618033988749895) % 1.0
    return np.array([[int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 0.95)] for h in hues], dtype=np.uint8).reshape(n, 3)


def font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


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


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (pixels stay square and sharp: small generated images are shown this way)."""
    factor = max(1, int(factor))
    return np.ascontiguousarray(np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1))
