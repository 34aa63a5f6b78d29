"""Where a download stage's data comes from: the synthetic world drawn here, or the official files.

The download stages' outputs are persisted (a re-run must not delete tens of GB before it can see that
nothing is missing), so each ``out_dir`` holds a marker naming its source; switching sources removes the
other source's files first (the DVC cache keeps them).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from sg2im.atomic import atomic_write_text
from sg2im.data.fetch.http import log

# What each download stage writes into its out_dir (its DVC outputs, persisted: see dvc.yaml).
COCO_OUTPUTS: tuple[str, ...] = ("images", "annotations")
VG_OUTPUTS: tuple[str, ...] = ("images", "image_data.json", "objects.json", "attributes.json", "relationships.json",
                               "object_alias.txt", "relationship_alias.txt")
SOURCE_MARKER = ".sg2im_source"


def switch_source(out_dir: Path, source: str, outputs: Sequence[str]) -> None:
    """Record that ``out_dir`` now receives ``source`` data ('synthetic' or 'official').

    The download stages' outputs are persisted (a re-run must not delete tens of GB before it can
    see that nothing is missing), so data of the *other* source would stay and mix with the new
    one: when the marker names another source, its outputs are removed first. The DVC cache keeps
    the removed files (``git checkout <rev> -- dvc.lock params.yaml && dvc checkout`` brings them
    back without a download). The marker is written before any work, so a killed official fetch
    is resumed, never mistaken for other data.
    """
    out_dir = Path(out_dir)
    marker = out_dir / SOURCE_MARKER
    before = marker.read_text().strip() if marker.is_file() else None
    if before and before != source:
        removed = [name for name in outputs if (out_dir / name).exists() or (out_dir / name).is_symlink()]
        for name in removed:
            path = out_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        if removed:
            log(f"{out_dir}: held {before} data; removed {', '.join(removed)} before writing {source} data "
                f"(the DVC cache still has the old files)")
    atomic_write_text(marker, source + "\n")
