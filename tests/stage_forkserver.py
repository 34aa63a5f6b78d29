"""Run many stage processes cheaply: import the project once, then fork one child per run.

    python tests/stage_forkserver.py        (started by a test, in the project's folder)

Each line on stdin is a run, as JSON: ``{"argv": ["stages/S.py", ...], "env": {...}, "log": PATH,
"kill_at": N or 0, "disk_full_at": N or 0, "count": PATH or ""}``. The server forks; the child takes the environment, sends its output to
``log``, counts the file-system events of tests/stage_wrapper.py (writing them to ``count`` at exit) or
SIGKILLs itself just before event ``kill_at`` (or fails its first write from event ``disk_full_at`` on with
ENOSPC), and runs the stage script as ``__main__``. The server answers
one line per run, ``{"exit": CODE}`` (a negative code: killed by that signal). A child is a real process,
killed for real; only the two seconds of imports are shared, which is what makes five kills per stage
affordable in the test suite.
"""
from __future__ import annotations

import atexit
import json
import os
import runpy
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def warm_up() -> None:
    """Import what the stages import (nothing runs: no thread pool starts before a fork)."""
    sys.path.insert(0, os.getcwd())  # the project copy's own sg2im package
    sys.path.insert(1, str(HERE))
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for module in ("h5py", "matplotlib.pyplot", "torch", "sg2im.data.card", "sg2im.generate",
                   "sg2im.metrics.evaluation", "sg2im.strip", "sg2im.training.loop"):
        importlib.import_module(module)


def child(request: dict) -> None:
    """The forked run: never returns."""
    code = 1
    try:
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        import stage_wrapper

        if request.get("count"):
            stage_wrapper.count_events(Path(request["count"]))
        if request.get("kill_at"):
            stage_wrapper.kill_at_event(int(request["kill_at"]))
        if request.get("disk_full_at"):
            stage_wrapper.disk_full_at_event(int(request["disk_full_at"]))
        sys.argv = list(request["argv"])
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            if not isinstance(stop.code, int) and stop.code is not None:
                print(stop.code, file=sys.stderr)
    except BaseException:  # the stage's traceback, as the interpreter would print it
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main() -> None:
    warm_up()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(request)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
