"""Run a stage script with a fault or a probe injected from outside (the project itself has no test hooks).

    python tests/stage_wrapper.py kill-in-save N stages/train.py [flags]   # SIGKILL inside the N-th torch.save,
                                                                           # after the bytes, before the rename
    python tests/stage_wrapper.py count-events FILE stages/S.py [flags]    # write the file-system events
                                                                           # (below) to FILE at exit (JSON)
    python tests/stage_wrapper.py kill-at-event N stages/S.py [flags]      # SIGKILL just before the N-th event
    python tests/stage_wrapper.py disk-full-at-event N stages/S.py [flags] # the first write from event N on
                                                                           # fails with ENOSPC

A file-system event is what changes what another process can see on disk: opening a file for writing,
renaming, linking, removing, truncating (Python's audit events). Killing before event N leaves the disk as a
kill anywhere between events N-1 and N would, so drawing N at random covers every moment that matters for
resume (writes from C libraries that Python does not audit, HDF5's, are still bracketed by their temp file's
open and rename).

rank_hash() is also loaded into every process (torchrun's workers too) by tests/rank_hash_site/sitecustomize.py.
"""
from __future__ import annotations

import hashlib
import os
import runpy
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def kill_in_save(n: int) -> None:
    import torch

    real, calls = torch.save, [0]

    def save(obj, handle, *args, **kwargs):
        real(obj, handle, *args, **kwargs)
        calls[0] += 1
        if calls[0] == n:
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    torch.save = save


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CHANGING = {"os.rename", "os.link", "os.symlink", "os.remove", "os.rmdir", "os.truncate", "shutil.rmtree",
            "shutil.move", "shutil.copyfile", "os.mkdir"}


def _in_project(path) -> bool:
    """A path under the working directory (the project), not Python's byte-code cache."""
    if isinstance(path, int) or path is None:
        return False
    full = os.path.abspath(os.fsdecode(path))
    return full.startswith(os.getcwd() + os.sep) and "__pycache__" not in full


def is_disk_change(event: str, args: tuple) -> bool:
    """True for an audit event that changes the project's files (see the module's docstring)."""
    if event == "open":
        path, mode, flags = args
        if not _in_project(path):
            return False
        if isinstance(mode, str):
            return any(c in mode for c in "wax+")
        return bool(flags and flags & WRITE_FLAGS)
    return event in CHANGING and bool(args) and _in_project(args[0])


def on_disk_change(action) -> None:
    """Call ``action(n, event)`` before the n-th file-system event of this process (not of its children)."""
    seen, pid = [0], os.getpid()

    def hook(event: str, args: tuple) -> None:
        if os.getpid() == pid and is_disk_change(event, args):
            seen[0] += 1
            action(seen[0], event)

    sys.addaudithook(hook)
    return seen


def count_events(out: Path) -> None:
    """At exit, write ``{"events": N, "opens": [n of each file opened for writing]}`` to ``out``."""
    import atexit
    import json

    opens: list[int] = []
    seen = on_disk_change(lambda n, event: opens.append(n) if event == "open" else None)
    atexit.register(lambda: out.write_text(json.dumps({"events": seen[0], "opens": opens})))


def kill_at_event(n: int) -> None:
    def action(k: int, event: str) -> None:
        if k == n:
            os.kill(os.getpid(), signal.SIGKILL)

    on_disk_change(action)


def disk_full_at_event(n: int) -> None:
    """From the n-th file-system event on, the first file opened for writing fails as on a full disk (ENOSPC)."""
    import errno

    def hook(event: str, args: tuple) -> None:
        if os.getpid() == pid and is_disk_change(event, args):
            seen[0] += 1
            if seen[0] >= n and event == "open" and not failed[0]:
                failed[0] = True
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fsdecode(args[0]))

    seen, failed, pid = [0], [False], os.getpid()
    sys.addaudithook(hook)


def rank_hash(folder: Path) -> None:
    from sg2im.training import loop

    real = loop.train

    def write_hash(nets) -> None:
        digest, total = hashlib.sha256(), 0.0
        for name in ("model", "d_obj", "d_img"):
            module = nets.raw(name)
            for key, p in sorted(module.named_parameters()) if module is not None else []:
                data = p.detach().cpu().contiguous()
                digest.update(key.encode())
                digest.update(data.numpy().tobytes())
                total += float(data.double().sum())
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"rank{os.environ.get('RANK', '0')}.txt").write_text(f"{digest.hexdigest()} {total!r}\n")

    loop.train = lambda cfg, datasets=None, on_end=None: real(cfg, datasets, on_end=write_hash)


if __name__ == "__main__":
    mode, arg, script, *flags = sys.argv[1:]
    if mode == "kill-in-save":
        kill_in_save(int(arg))
    elif mode == "count-events":
        count_events(Path(arg).resolve())
    elif mode == "kill-at-event":
        kill_at_event(int(arg))
    elif mode == "disk-full-at-event":
        disk_full_at_event(int(arg))
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.argv = [script, *flags]
    runpy.run_path(str(REPO / script), run_name="__main__")
