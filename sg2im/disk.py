"""Free disk space: checked before large writes, with a message that says where and how much."""
from __future__ import annotations

import shutil
from pathlib import Path

from sg2im.errors import DataError

GB = 1e9


def _existing_ancestor(folder: Path) -> Path:
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system that holds ``folder`` (or its nearest existing parent)."""
    return shutil.disk_usage(_existing_ancestor(folder)).free


def check_free_space(folder: Path, needed: int, what: str, min_free_gb: float = 0.0) -> None:
    """Raise :class:`DataError` unless ``needed`` bytes plus a ``min_free_gb`` margin fit in ``folder``."""
    free = free_bytes(folder)
    margin = int(min_free_gb * GB)
    if needed + margin > free:
        raise DataError(
            f"{Path(folder).absolute()}: not enough free disk space for {what}: needs "
            f"{needed / GB:.1f} GB + {min_free_gb:g} GB margin (min_free_gb), "
            f"{free / GB:.1f} GB free. Free up space there, or make that folder a symlink to a "
            f"disk with room (keep the DVC cache on the same disk: `dvc cache dir <disk>/dvc-cache`), "
            f"or lower min_free_gb if you accept the risk."
        )
