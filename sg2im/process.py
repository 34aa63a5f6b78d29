"""Is a process alive? (Linux ``/proc`` where there is one): for lock files and temp files left by dead runs."""
from __future__ import annotations

import os
from pathlib import Path


def proc_stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (state first); [] where unknown (not Linux)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, None where unknown."""
    fields = proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def alive(pid: int) -> bool:
    """True while ``pid`` runs; False once it is gone or killed and not yet reaped (a zombie: a container's init
    may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = proc_stat(pid)
    return not (fields and fields[0] in ("Z", "X"))
