"""Progress bars and log lines for long work: one look everywhere, honest rates, no broken bars.

    for batch in progress(loader, desc="evaluate (test)", unit="batch"):
    bar = progress(total=size, desc="download x.zip", unit="B")   # bytes: scaled units (kB, MB ...)
    say("wrote metrics/train.json")                               # a line that does not break a bar
"""
from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm import tqdm


def progress(iterable: Iterable | None = None, *, desc: str, unit: str = "it", total: float | None = None,
             initial: float = 0, enabled: bool = True, leave: bool = True, min_items: int = 0) -> tqdm:
    """A tqdm bar on stderr (``unit="B"`` counts bytes with scaled units); shown only when ``enabled`` and
    the total is at least ``min_items`` (short jobs stay quiet)."""
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    show = enabled and (total is None or total >= min_items)
    scaled = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    return tqdm(iterable, desc=desc, unit=unit, total=total, initial=initial, disable=not show, leave=leave,
                mininterval=1.0, dynamic_ncols=True, file=sys.stderr, **scaled)


def say(*parts: Any, err: bool = False) -> None:
    """Print one line without breaking a progress bar being drawn (stdout, or stderr with ``err``)."""
    tqdm.write(" ".join(map(str, parts)), file=sys.stderr if err else sys.stdout)
