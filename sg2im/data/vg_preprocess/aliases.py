"""The VG alias files: each comma-separated line maps every (stripped) entry to the line's first entry."""
from __future__ import annotations

import os

from sg2im.errors import DataError


def load_aliases(path: str | os.PathLike) -> dict[str, str]:
    """``{alias: canonical name}`` of an alias file (``object_alias.txt`` / ``relationship_alias.txt``)."""
    aliases: dict[str, str] = {}
    try:
        with open(path, "r") as f:
            for line in f:
                names = [s.strip() for s in line.split(",")]
                for name in names:
                    aliases[name] = names[0]
    except FileNotFoundError:
        raise DataError(f"{path}: alias file not found. Run the download_vg stage or fix the path parameter.") from None
    return aliases
