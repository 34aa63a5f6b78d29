"""A full disk (issue 17 item 2), simulated: the Nth atomic write fails with ENOSPC. The stage stops with the file,
what was written and the free space named; the previous outputs stay intact and readable; no temp file is
left; and training checks the free space before each checkpoint."""
from __future__ import annotations

import errno
import os

import pytest
import torch

from helpers_train import tiny_args
from sg2im import atomic
from sg2im.checkpoint import read_checkpoint
from sg2im.errors import DataError
from sg2im.training.loop import train


def fail_nth_replace(monkeypatch, n: int, name: str = "") -> None:
    """os.replace of the Nth atomic write (to a file whose name has ``name``) fails as a full disk does, after the
    bytes went to the temp file."""
    calls = {"n": 0}
    real = os.replace

    def replace(src, dst):
        if name not in os.path.basename(dst):
            return real(src, dst)
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)


def test_a_full_disk_keeps_the_previous_file_and_says_what_is_needed(tmp_path, monkeypatch):
    path = atomic.atomic_write_text(tmp_path / "report.json", '{"old": 1}')
    fail_nth_replace(monkeypatch, 1)
    with pytest.raises(DataError, match=r"report\.json: the disk is full .* after 10\.0 kB of it; the previous "
                                        r"version of it is untouched\. Free at least 10\.0 kB more there \(.* free now\)"):
        atomic.atomic_write_text(path, '{"new": 2}' * 1000)
    assert path.read_text() == '{"old": 1}' and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_training_stopped_by_a_full_disk_keeps_its_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_TRACKING", "0")
    cfg = tiny_args(tmp_path, num_iterations=4, checkpoint_every=2)
    fail_nth_replace(monkeypatch, 2, "checkpoint_with_model")  # t=2 is written; t=4 meets the full disk
    with pytest.raises(DataError, match="checkpoint_with_model.pt: the disk is full"):
        train(cfg)
    saved = read_checkpoint(tmp_path / "models" / "checkpoint_with_model.pt")
    assert saved["counters"]["t"] == 2  # the checkpoint of t=2, whole and readable
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(atomic.TEMP_PREFIX)]


def test_training_checks_the_free_space_before_each_checkpoint(tmp_path, monkeypatch):
    from sg2im import disk

    monkeypatch.setenv("SG2IM_TRACKING", "0")
    monkeypatch.setattr(disk, "free_bytes", lambda folder: 1000)  # 1 kB left
    with pytest.raises(DataError, match=r"not enough free disk space for the checkpoint checkpoint_with_model\.pt"):
        train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=2))
    assert not (tmp_path / "models" / "checkpoint_with_model.pt").exists()


def test_tensor_bytes_measures_a_checkpoint():
    from sg2im.checkpoint import tensor_bytes

    assert tensor_bytes({"a": torch.zeros(10), "b": [torch.zeros(2, 2, dtype=torch.float64)], "c": 3}) == 40 + 32
