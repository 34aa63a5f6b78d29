"""Atomic file writes: a reader, or a process killed mid-write, never sees half a file.

Every writer in the project goes through :func:`atomic_write`: the bytes go to
``<folder>/.tmp-<pid>-<name>``, are fsynced, and the temp file is renamed over ``path`` (atomic on
POSIX). A failure removes the temp file; a SIGKILL leaves it behind, named with the dead
process's id, for :func:`remove_stale_temps` to clean up. A full disk (ENOSPC, EDQUOT) is a
:class:`~sg2im.errors.DataError` naming the file, how much was written and how much is free; the
previous file is untouched.
"""
from __future__ import annotations

import errno
import glob
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Callable

from sg2im.process import alive

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
    except OSError as exc:
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(path, written) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def is_disk_full(exc: BaseException) -> bool:
    """True for the error of a write that met a full disk or quota (ENOSPC, EDQUOT)."""
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)


def disk_full(path: Path, written: int):
    """The error of a write that met a full disk: the file, what was written, what is free, the fix."""
    from sg2im.disk import free_bytes
    from sg2im.errors import DataError

    previous = "the previous version of it is untouched" if path.exists() else "nothing was written there"
    need = f"at least {size_text(written)} more" if written else "space"
    return DataError(f"{path}: the disk is full (no space left on device) after {size_text(written)} of it; "
                     f"{previous}. Free {need} there ({size_text(free_bytes(path.parent))} free now) "
                     "and run again.")


def size_text(n: int) -> str:
    """Bytes as people read them: 512 bytes, 10.0 kB, 3.2 MB, 1.5 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


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


def remove_stale_temps(folder: str | os.PathLike, recursive: bool = False) -> list[str]:
    """Delete temp files left in ``folder`` (and its subfolders, when ``recursive``) by processes killed
    mid-write (never finished files)."""
    removed = []
    pattern = os.path.join(glob.escape(str(folder)), "**" if recursive else "", f"{TEMP_PREFIX}*")
    for tmp in glob.glob(pattern, recursive=recursive, include_hidden=True):
        try:
            pid = int(os.path.basename(tmp)[len(TEMP_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not alive(pid):
            os.unlink(tmp)
            removed.append(tmp)
    return removed
