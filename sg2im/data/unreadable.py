"""Images that cannot be decoded (truncated, zero bytes, not an image): skipped and counted, not fatal, while
they are a small part of a split; above ``max_unreadable_fraction`` the data is too broken to train on.

A dataset's decoded-image cache (:mod:`sg2im.data.cache`) finds them when it is built; the dataset then serves
only the readable rows, and ``dataset.unreadable`` names every skipped file (training and evaluation write the
list into their metrics JSON and say so in the log).
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from sg2im.errors import DataError

SHOWN = 10  # files named in the log; the metrics JSON lists them all


def check_fraction(errors: Mapping[int, str], total: int, max_fraction: float, what: str) -> None:
    """Raise when more than ``max_fraction`` of ``total`` images of ``what`` could not be read."""
    if errors and len(errors) > max_fraction * total:
        shown = "\n  ".join(sorted(errors.values())[:SHOWN])
        raise DataError(f"{len(errors)} of {total} {what} images could not be read ({len(errors) / total:.1%}, more "
                        f"than max_unreadable_fraction={max_fraction:g}). Re-download them, or "
                        f"check the data with python -m sg2im.data.validate:\n  {shown}")


def readable_rows(total: int, unreadable: Iterable[int]) -> np.ndarray:
    """The row indices left when the unreadable ones are taken out (all rows when none is)."""
    keep = np.ones(total, dtype=bool)
    keep[np.asarray(list(unreadable), dtype=np.int64)] = False
    return np.flatnonzero(keep).astype(np.int64)


def report(datasets: Mapping[str, object], say=print) -> dict[str, list[str]]:
    """``{split: [skipped files]}`` of the splits that skipped any, each said once in the log."""
    out = {}
    for split, ds in datasets.items():
        files = list(getattr(ds, "unreadable", []) or [])
        if files:
            out[split] = files
            more = f" (and {len(files) - SHOWN} more)" if len(files) > SHOWN else ""
            say(f"WARNING: {split} split: {len(files)} unreadable images skipped: {', '.join(files[:SHOWN])}{more}")
    return out
