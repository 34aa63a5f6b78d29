"""One run per output: a stage holds a lock file beside each path it writes (``.<name>.sg2im-lock``) for as long as
it runs, so a second run by hand (or a second ``dvc repro``) writing the same files is refused with the lock
file and the running process named, instead of interleaving checkpoints. A lock left by a process that died
(killed, power cut) is taken over, with a line saying so. The lock records the process id, its start time
(so a recycled pid is not mistaken for the owner), the host and the command.

Processes launched by ``torchrun`` for a run (``LOCAL_RANK`` set) do not lock: the launching process does.
"""
from __future__ import annotations

import atexit
import json
import os
import socket
import sys
from pathlib import Path
from typing import Iterable

from sg2im.errors import ParamsError
from sg2im.process import alive, start_time

SUFFIX = ".sg2im-lock"
_held: list[Path] = []


def lock_path(output: str | os.PathLike) -> Path:
    path = Path(output)
    return path.parent / f".{path.name}{SUFFIX}"


def _alive(owner: dict) -> bool:
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname():
        return True  # another machine's lock (a shared file system): not ours to judge
    if not isinstance(pid, int) or not alive(pid):
        return False
    started = owner.get("started")
    return started is None or start_time(pid) in (None, started)


def _me() -> dict:
    return {"pid": os.getpid(), "started": start_time(os.getpid()), "host": socket.gethostname(),
            "command": " ".join(sys.argv)[:300]}


def acquire(output: str | os.PathLike) -> Path:
    """Take the lock of ``output`` (created atomically); refuse when a live process holds it, take it over when
    its process is gone."""
    lock = lock_path(output)
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = json.loads(lock.read_text() or "{}")
            except (OSError, json.JSONDecodeError):
                owner = {}
            if owner.get("pid") == os.getpid():
                return lock
            if owner and _alive(owner):
                raise ParamsError(f"{output} is being written by another run: process {owner.get('pid')} on "
                                  f"{owner.get('host')} ({owner.get('command', '?')}) holds {lock}. Wait for it, or "
                                  "give this run other output paths; if that process is gone, delete the lock file.")
            print(f"note: taking over {lock}: its process {owner.get('pid', '?')} is gone", flush=True)
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(_me(), f)
        return lock
    raise ParamsError(f"{lock}: could not be taken (another run keeps recreating it)")


def release(locks: Iterable[Path] | None = None) -> None:
    """Give back ``locks`` (default: every lock this process holds)."""
    for lock in list(_held if locks is None else locks):
        try:
            if json.loads(lock.read_text()).get("pid") == os.getpid():
                lock.unlink()
        except (OSError, json.JSONDecodeError):
            pass
        if lock in _held:
            _held.remove(lock)


def hold(outputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Lock every output for the rest of this process (released at exit); all or none."""
    if os.environ.get("LOCAL_RANK") is not None:
        return []
    taken: list[Path] = []
    try:
        for output in sorted({str(o) for o in outputs if o}):
            taken.append(acquire(output))
    except BaseException:
        release(taken)
        raise
    if not _held:
        atexit.register(release)
    _held.extend(taken)
    return taken
