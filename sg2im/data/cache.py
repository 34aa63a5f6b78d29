"""Derived-data caches (decoded + resized images, rasterised masks) under ``data/cache``.

A cache is a folder ``<cache_dir>/<kind>-<key>/`` of ``.npy`` arrays plus ``meta.json``.  The key
is a hash of every parameter that shapes the content (image size, mask size, filters, ...) and of
the identity of every source file (resolved path, size, mtime), so changing a parameter or
touching a source file selects a new folder.  Image folders enter by their mtime, which changes
when files are added, removed or renamed into place (as the download stages do); overwriting a
JPEG in place without renaming is not detected: delete ``data/cache`` after doing that.  A cache is written
into a temporary folder next to its final place and renamed when complete, so a crash never
leaves a half-written cache; arrays are memory-mapped read-only when loaded (cheap to share
with DataLoader workers).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from sg2im.errors import DataError

CACHE_FORMAT = 1  # bump when the layout of any cache changes


def source_identity(paths: Iterable[str | os.PathLike | None]) -> list[dict[str, Any]]:
    """(resolved path, size, mtime_ns) of each existing source file; None entries are skipped."""
    out = []
    for p in paths:
        if p is None:
            continue
        path = Path(p).resolve()
        try:
            st = path.stat()
        except FileNotFoundError:
            raise DataError(f"{path}: file not found. Check the path parameter or run the download stage.") from None
        out.append({"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def cache_key(kind: str, params: dict[str, Any], sources: Iterable[str | os.PathLike | None]) -> str:
    """A short stable hash of ``kind``, the shaping ``params`` and the source files' identity."""
    blob = json.dumps({"format": CACHE_FORMAT, "kind": kind, "params": params,
                       "sources": source_identity(sources)}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def cache_path(cache_dir: str | os.PathLike, kind: str, key: str) -> Path:
    return Path(cache_dir) / f"{kind}-{key}"


def load_cache(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Memory-map every array of a complete cache folder; None if there is none (or it is unreadable)."""
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in meta["arrays"]}
    except (OSError, ValueError, KeyError):
        return None
    return arrays, meta


class CacheWriter:
    """Fill a new cache folder, then :meth:`commit` it atomically.

    ``array(name, shape, dtype)`` gives a writable memory-mapped array (large image stacks never
    need to fit in RAM); ``save(name, array)`` stores a small array.  Without ``commit`` (an
    exception), the temporary folder is removed.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent))
        self.names: list[str] = []
        self._maps: list[np.memmap] = []

    def array(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        self.names.append(name)
        arr = np.lib.format.open_memmap(self.tmp / f"{name}.npy", mode="w+", dtype=dtype, shape=tuple(shape))
        self._maps.append(arr)
        return arr

    def save(self, name: str, array: np.ndarray) -> None:
        self.names.append(name)
        np.save(self.tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)

    def commit(self, meta: dict[str, Any]) -> Path:
        for arr in self._maps:
            arr.flush()
        self._maps.clear()
        meta = dict(meta, arrays=self.names, format=CACHE_FORMAT)
        (self.tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o777 & ~umask)  # mkdtemp made it 0700
        try:
            os.replace(self.tmp, self.path)
        except OSError:
            # Another process committed the same cache first: its content is identical; keep it.
            if not (self.path / "meta.json").is_file():
                raise
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        self._maps.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "CacheWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp.exists():  # not committed (an error, or no commit call)
            self.abort()


class MappedCacheMixin:
    """For datasets whose arrays are memory-mapped from ``self.cache_path`` into ``self._cache``:
    pickling (DataLoader workers started by spawn) re-maps the cache instead of copying it."""

    cache_path: Any
    _cache: Any

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if state.get("_cache") is not None:
            state["_cache"] = None
            state["_remap"] = True
        return state

    def __setstate__(self, state: dict) -> None:
        remap = state.pop("_remap", False)
        self.__dict__.update(state)
        if remap:
            hit = load_cache(self.cache_path)
            if hit is None:
                raise DataError(f"{self.cache_path}: the dataset cache disappeared while in use.")
            self._cache = hit[0]
