"""Atomic file writes: a reader, or a process killed mid-write, never sees half a file.

Every writer in the project goes through :func:`atomic_write`: the bytes go to
``<folder>/.tmp-<pid>-<name>``, are fsynced, and the temp file is renamed over ``path`` (atomic on
POSIX). A failure removes the temp file; a SIGKILL leaves it behind, named with the dead
process's id, for :func:`remove_stale_temps` to clean up.
"""
from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Callable

TEMP_PREFIX = ".tmp-"


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(handle)`` on a temp file beside ``path``, fsync, rename it to ``path``; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, data: Any, **dumps: Any) -> Path:
    """Write ``json.dumps(data, **dumps)`` and a newline to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(data, **dumps) + "\n")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: str | os.PathLike) -> list[str]:
    """Delete temp files left in ``folder`` by processes killed mid-write (never finished files)."""
    removed = []
    for tmp in glob.glob(os.path.join(str(folder), f"{TEMP_PREFIX}*")):
        try:
            pid = int(os.path.basename(tmp)[len(TEMP_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            os.unlink(tmp)
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
