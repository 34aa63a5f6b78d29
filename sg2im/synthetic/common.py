"""Plumbing shared by the COCO and VG writers: per-image seeds, an ordered worker pool,
streamed JSON lists and atomic replacement of output paths."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np


def image_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """The random generator of one image: depends only on (seed, stream, index), never on the
    worker that draws it, so a dataset is the same bytes whatever ``workers`` is."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), int(index)]))


def ordered_map(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int, chunksize: int = 16,
                batch: int = 4096) -> Iterator[Any]:
    """``map(fn, jobs)`` in order, on ``workers`` processes when workers > 1.  Jobs go to the pool
    ``batch`` at a time, so results waiting for a slow consumer never exceed one batch in memory."""
    if workers <= 1 or len(jobs) < 2 * chunksize:
        yield from map(fn, jobs)
        return
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(workers) as pool:
        for start in range(0, len(jobs), batch):
            yield from pool.imap(fn, jobs[start:start + batch], chunksize=chunksize)


class JsonListWriter:
    """Writes a JSON list one item at a time (constant memory for millions of records)."""

    def __init__(self, path: Path, head: str = "[", tail: str = "]"):
        self.f = open(path, "w", encoding="utf-8")
        self.f.write(head)
        self.tail = tail
        self.first = True

    def write(self, item: Any) -> None:
        if not self.first:
            self.f.write(", ")
        self.f.write(json.dumps(item))
        self.first = False

    def write_raw_file(self, path: Path) -> None:
        """Append items previously streamed (comma separated, no brackets) to ``path``."""
        with open(path, encoding="utf-8") as src:
            first = src.read(1)
            if not first:
                return
            if not self.first:
                self.f.write(", ")
            self.f.write(first)
            shutil.copyfileobj(src, self.f, 1 << 20)
            self.first = False

    def close(self) -> None:
        self.f.write(self.tail)
        self.f.close()


def fresh_tmp_dir(target_parent: Path, name: str) -> Path:
    """An empty temporary folder next to the outputs (same file system, so renames are atomic)."""
    tmp = target_parent / f".{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


@contextmanager
def staging_dir(target_parent: Path, name: str) -> Iterator[Path]:
    """:func:`fresh_tmp_dir`, removed again when the block fails (a full disk, a bad value): a failed run leaves
    the previous outputs and nothing else. The block ends with :func:`move_into_place`."""
    tmp = fresh_tmp_dir(target_parent, name)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def move_into_place(tmp: Path, dest_parent: Path, names: Iterable[str]) -> None:
    """Replace ``dest_parent/name`` with ``tmp/name`` for each name, then remove ``tmp``.
    Until this runs, a killed generation leaves the previous outputs untouched."""
    dest_parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        src, dst = tmp / name, dest_parent / name
        if dst.is_dir() and not dst.is_symlink():
            old = dest_parent / f".{name}.old"
            if old.exists():
                shutil.rmtree(old)
            os.replace(dst, old)
            os.replace(src, dst)
            shutil.rmtree(old)
        else:
            os.replace(src, dst)
    shutil.rmtree(tmp)
