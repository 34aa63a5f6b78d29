"""One image file checked: there, decodable to the end (a truncated JPEG or PNG fails here, not in training),
and of the size its record claims."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError


def check_image(path: Path, size: tuple[int, int] | None = None) -> str | None:
    """None when the image is fine, else what is wrong with it (missing, unreadable, another size)."""
    if not path.is_file():
        return "an image that is referenced but missing"
    try:
        with Image.open(path) as img:
            img.load()
            actual = img.size
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        return f"an unreadable image ({type(exc).__name__})"
    if size is not None and tuple(actual) != tuple(size):
        return "an image whose size differs from its record (the record's width/height are used for its boxes)"
    return None
