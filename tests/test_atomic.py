"""The one atomic-write helper every writer uses: all or nothing, temp files cleaned up."""
import json
import os
import subprocess
import sys

import pytest

from sg2im.atomic import TEMP_PREFIX, atomic_write, atomic_write_json, atomic_write_text, remove_stale_temps


def test_text_and_json_round_trip_into_new_folders(tmp_path):
    text = atomic_write_text(tmp_path / "a" / "b.txt", "héllo\n")
    assert text.read_text(encoding="utf-8") == "héllo\n"
    data = atomic_write_json(tmp_path / "c" / "d.json", {"x": [1, 2]}, indent=2)
    assert json.loads(data.read_text()) == {"x": [1, 2]} and data.read_text().endswith("\n")
    assert not list(tmp_path.rglob(f"{TEMP_PREFIX}*"))


def test_a_failing_writer_keeps_the_old_file_and_no_temp(tmp_path):
    target = atomic_write_text(tmp_path / "f.txt", "old")

    def broken(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_stale_temps_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that process has exited
    stale = tmp_path / f"{TEMP_PREFIX}{dead_pid}-x.pt"
    mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-y.pt"
    other = tmp_path / f"{TEMP_PREFIX}notapid-z.pt"
    for p in (stale, mine, other):
        p.write_bytes(b"1")
    assert remove_stale_temps(tmp_path) == [str(stale)]
    assert not stale.exists() and mine.exists() and other.exists()


def test_a_temp_of_another_live_process_is_kept_until_that_process_dies(tmp_path):
    """Another process writing beside this one (a hand run, a second worker): its temp file is in use."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / "sub" / f"{TEMP_PREFIX}{other.pid}-w.pt"
        busy.parent.mkdir()
        busy.write_bytes(b"1")
        assert remove_stale_temps(tmp_path, recursive=True) == [] and busy.exists()
    finally:
        other.kill()
        other.wait()
    assert remove_stale_temps(tmp_path) == [] and busy.exists()  # not recursive: the subfolder is not looked at
    assert remove_stale_temps(tmp_path, recursive=True) == [str(busy)] and not busy.exists()
