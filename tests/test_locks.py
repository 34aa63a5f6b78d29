"""One run per output (issue 17 item 7): a second run writing the same files is refused with the lock file and
the running process named; a lock left by a dead process is taken over; a recycled pid is not the owner."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sg2im import locks
from sg2im.process import proc_stat
from sg2im.errors import ParamsError

REPO = Path(__file__).resolve().parent.parent


def holding(out: Path) -> subprocess.Popen:
    """Another process that holds the lock of ``out`` (until killed)."""
    holder = subprocess.Popen([sys.executable, "-c", "import time; from sg2im.locks import hold; "
                               f"hold([{str(out)!r}]); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_run_on_the_same_outputs_is_refused_and_a_dead_owner_is_taken_over(tmp_path):
    out = tmp_path / "models" / "sg2im.pt"
    holder = holding(out)
    try:
        lock = locks.lock_path(out)
        assert json.loads(lock.read_text())["pid"] == holder.pid
        with pytest.raises(ParamsError, match=rf"process {holder.pid} .* holds {lock}"):
            locks.acquire(out)
        # the same through a stage: strip writing that file by hand is refused, exit code 2, nothing written
        done = subprocess.run([sys.executable, str(REPO / "stages" / "strip.py"), "--input_checkpoint",
                               str(tmp_path / "none.pt"), "--output_checkpoint", str(out), "--track", "0"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 2 and f"process {holder.pid}" in done.stderr and str(lock) in done.stderr
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    taken = locks.acquire(out)  # its owner is dead: taken over
    assert taken == lock and json.loads(lock.read_text())["pid"] == os.getpid()
    locks.release([lock])
    assert not lock.exists()


def test_a_recycled_pid_is_not_the_owner(tmp_path):
    out = tmp_path / "x.json"
    lock = locks.lock_path(out)
    parent = os.getppid()  # alive, but started at another time than the lock says
    lock.write_text(json.dumps({"pid": parent, "started": "1", "host": locks.socket.gethostname(), "command": "old"}))
    assert locks.acquire(out) == lock and json.loads(lock.read_text())["pid"] == os.getpid()
    locks.release([lock])


def test_locks_are_released_when_the_stage_ends(tmp_path):
    out = tmp_path / "gen"
    start = time.time()
    done = subprocess.run([sys.executable, "-c", "from sg2im.locks import hold, _held; hold(['%s']); "
                           "import sys; sys.exit(0)" % out], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not locks.lock_path(out).exists() and time.time() - start < 60


def test_a_killed_owner_not_yet_reaped_is_gone(tmp_path):
    """A SIGKILLed holder whose parent has not reaped it (a zombie: a container's init may never) is dead."""
    out = tmp_path / "metrics" / "train.json"
    holder = holding(out)
    holder.kill()
    deadline = time.time() + 10
    while proc_stat(holder.pid)[:1] != ["Z"] and time.time() < deadline:
        time.sleep(0.01)
    assert proc_stat(holder.pid)[0] == "Z", "the holder should be a zombie until waited for"
    try:
        assert locks.acquire(out) == locks.lock_path(out)  # taken over, not refused
        assert json.loads(locks.lock_path(out).read_text())["pid"] == os.getpid()
    finally:
        holder.wait()
        locks.release([locks.lock_path(out)])
