"""Image loading and resizing, as in the original sg2im/data/utils.py.

Images are PIL-loaded, converted to RGB, then resized to (W, H) with BILINEAR (aspect ratio not
kept, no crop, no flip), scaled to [0, 1] and ImageNet-normalised.  ``load_resized`` returns the
resized uint8 pixels (what the cache stores); ``normalize_uint8`` turns them into the float tensor
the original ``T.Compose([Resize, ToTensor, Normalize])`` produced, bit for bit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from sg2im import imagenet
from sg2im.errors import DataError


def load_resized(path: str | Path, image_size: Sequence[int], what: str = "") -> tuple[np.ndarray, tuple[int, int]]:
    """Open ``path``, convert to RGB, resize to ``image_size`` = (H, W) with PIL BILINEAR.

    Returns ``(pixels (H, W, 3) uint8, (orig_width, orig_height))``.  A missing, truncated or
    unreadable file raises :class:`DataError` naming the file (and ``what``, e.g. the record).
    """
    height, width = int(image_size[0]), int(image_size[1])
    try:
        with Image.open(path) as image:
            orig = image.size
            image = image.convert("RGB").resize((width, height), Image.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found{' (' + what + ')' if what else ''}. "
                        "Re-run the download stage or remove the record from the annotations.") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: cannot decode image{' (' + what + ')' if what else ''}: {exc}. "
                        "The file is truncated or not an image; re-download it.") from None
    return pixels, (int(orig[0]), int(orig[1]))


def normalize_uint8(pixels: np.ndarray | torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """(H, W, 3) or (N, H, W, 3) uint8 -> (3, H, W) / (N, 3, H, W) float in [0, 1], then
    ImageNet-normalised if ``normalize`` (torchvision ToTensor + Normalize semantics)."""
    t = torch.from_numpy(np.array(pixels, dtype=np.uint8)) if isinstance(pixels, np.ndarray) else pixels  # copy: mmap is read-only
    t = t.movedim(-1, -3).float().div_(255.0)
    return (imagenet.normalize(t) if normalize else t).contiguous()
