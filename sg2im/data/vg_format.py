"""The Visual Genome format at the level of single records, shared by preprocessing and the validator."""
from __future__ import annotations

import posixpath


def image_path_from_url(url: str) -> str:
    """``.../VG_100K/2345.jpg`` -> ``VG_100K/2345.jpg`` (the original's stored path)."""
    base, filename = posixpath.split(url)
    return posixpath.join(posixpath.basename(base), filename)
