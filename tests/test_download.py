"""sg2im.data.fetch.http against a real HTTP server on 127.0.0.1: resume, retry, size checks, disk
space, and safe, restartable zip extraction."""
from __future__ import annotations

import io
import os
import shutil
import stat
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest

from local_http_server import Behaviour, serve
from sg2im.data.fetch.archives import extract_zip, extraction_complete, marker_path
from sg2im.data.fetch.http import DownloadError, download_file
from sg2im.disk import check_free_space
from sg2im.errors import DataError

PAYLOAD = os.urandom(300_000)


def _sleeps():
    delays: list[float] = []

    def sleep(d: float) -> None:
        delays.append(d)
        time.sleep(d)

    return delays, sleep


def test_resume_after_connection_dropped_mid_file(tmp_path):
    b = Behaviour(files={"/f.bin": PAYLOAD}, drop_after={"/f.bin": 100_000})
    with serve(b) as base:
        out = download_file(f"{base}/f.bin", tmp_path / "f.bin", expected_size=len(PAYLOAD), progress=False)
    assert out.read_bytes() == PAYLOAD
    assert b.requests == [("/f.bin", None), ("/f.bin", "bytes=100000-")]
    assert not (tmp_path / "f.bin.part").exists()


def test_drops_that_make_progress_do_not_use_up_retries(tmp_path):
    b = Behaviour(files={"/f.bin": PAYLOAD}, drop_after={"/f.bin": [60_000, 60_000, 60_000, 60_000]})
    delays, sleep = _sleeps()
    with serve(b) as base:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", retries=0, progress=False, sleep=sleep)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert [r for _, r in b.requests] == [None] + [f"bytes={n}-" for n in (60_000, 120_000, 180_000, 240_000)]
    assert delays == []


def test_resume_from_part_left_by_an_earlier_run(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:123_456])
    b = Behaviour(files={"/f.bin": PAYLOAD})
    with serve(b) as base:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert b.requests == [("/f.bin", "bytes=123456-")]


def test_part_already_complete_gets_416_and_is_accepted(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)
    b = Behaviour(files={"/f.bin": PAYLOAD})
    with serve(b) as base:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", expected_size=len(PAYLOAD), progress=False)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_server_without_range_support_restarts_from_zero(tmp_path, capsys):
    b = Behaviour(files={"/f.bin": PAYLOAD}, drop_after={"/f.bin": 50_000}, no_range={"/f.bin"})
    with serve(b) as base:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD  # not 50,000 bytes + the whole file again
    assert b.requests[1] == ("/f.bin", "bytes=50000-")
    assert "restarting f.bin from byte 0" in capsys.readouterr().err


def test_retry_with_exponential_backoff(tmp_path):
    b = Behaviour(files={"/f.bin": PAYLOAD}, fail_times={"/f.bin": 3})
    delays, sleep = _sleeps()
    with serve(b) as base:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", retries=3, backoff=0.01, progress=False, sleep=sleep)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert delays == [0.01, 0.02, 0.04]
    assert len(b.requests) == 4


def test_gives_up_after_retries_with_clear_error(tmp_path):
    b = Behaviour(files={"/f.bin": PAYLOAD}, fail_times={"/f.bin": 100})
    delays, sleep = _sleeps()
    with serve(b) as base, pytest.raises(DownloadError) as err:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", retries=2, backoff=0.001, progress=False, sleep=sleep)
    assert "/f.bin" in str(err.value) and "failed 3 times" in str(err.value) and "retries" in str(err.value)
    assert len(b.requests) == 3 and len(delays) == 2
    assert not (tmp_path / "f.bin").exists()


def test_http_404_is_not_retried(tmp_path):
    b = Behaviour()
    with serve(b) as base, pytest.raises(DownloadError, match=r"HTTP 404.*missing\.zip.*URL"):
        download_file(f"{base}/missing.zip", tmp_path / "missing.zip", retries=5, progress=False)
    assert len(b.requests) == 1


def test_size_mismatch_is_refused(tmp_path):
    b = Behaviour(files={"/f.bin": PAYLOAD})
    with serve(b) as base, pytest.raises(DownloadError) as err:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", expected_size=len(PAYLOAD) + 1, progress=False)
    assert f"announces {len(PAYLOAD)} bytes" in str(err.value) and str(len(PAYLOAD) + 1) in str(err.value)
    assert not (tmp_path / "f.bin").exists()


def test_existing_file_of_wrong_size_is_reported(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"short")
    with pytest.raises(DownloadError, match=r"5 bytes, expected 10.*Delete it"):
        download_file("http://127.0.0.1:9/f.bin", tmp_path / "f.bin", expected_size=10, progress=False)


def test_sha256_checked_when_given(tmp_path):
    b = Behaviour(files={"/f.bin": PAYLOAD})
    with serve(b) as base, pytest.raises(DownloadError, match="SHA-256"):
        download_file(f"{base}/f.bin", tmp_path / "f.bin", sha256="0" * 64, progress=False)
    assert not (tmp_path / "f.bin").exists()


# The one mock in these tests: filling a real disk to test "not enough space" is not possible here,
# so shutil.disk_usage is replaced by one that reports a nearly full disk.
def _full_disk(monkeypatch, free: int = 1000):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - free, free))


def test_insufficient_disk_space_stops_before_writing(tmp_path, monkeypatch):
    _full_disk(monkeypatch)
    b = Behaviour(files={"/f.bin": PAYLOAD})
    with serve(b) as base, pytest.raises(DataError) as err:
        download_file(f"{base}/f.bin", tmp_path / "f.bin", progress=False)
    message = str(err.value)
    assert str(tmp_path) in message and "not enough free disk space" in message
    assert "needs 0.0 GB" in message and "GB free" in message and "min_free_gb" in message
    assert not (tmp_path / "f.bin.part").exists() or (tmp_path / "f.bin.part").stat().st_size == 0


def test_check_free_space_counts_the_margin(tmp_path, monkeypatch):
    _full_disk(monkeypatch, free=int(3e9))
    check_free_space(tmp_path, int(2e9), "x", min_free_gb=0.5)
    with pytest.raises(DataError, match=r"needs 2\.0 GB \+ 1\.5 GB margin.*3\.0 GB free"):
        check_free_space(tmp_path / "not" / "yet", int(2e9), "x", min_free_gb=1.5)


# --------------------------------------------------------------------------- extraction
def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


MEMBERS = {"train2017/000000000009.jpg": b"\xff\xd8jpeg-9" * 100, "train2017/000000000025.jpg": b"\xff\xd8jpeg-25"}


def test_extract_writes_files_marker_and_is_idempotent(tmp_path):
    archive = _zip(tmp_path / "train2017.zip", MEMBERS)
    target = tmp_path / "images"
    members = extract_zip(archive, target, progress=False)
    assert members == {k: len(v) for k, v in MEMBERS.items()}
    for name, data in MEMBERS.items():
        assert (target / name).read_bytes() == data
    assert extraction_complete(marker_path(archive), target)
    first = (target / "train2017/000000000009.jpg").stat()
    # A second extraction skips members already there with the right size (same inode, same mtime).
    extract_zip(archive, target, progress=False)
    again = (target / "train2017/000000000009.jpg").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    # A missing member (or one of the wrong size) makes the marker check fail, and is redone alone.
    (target / "train2017/000000000025.jpg").unlink()
    assert not extraction_complete(marker_path(archive), target)
    extract_zip(archive, target, progress=False)
    assert (target / "train2017/000000000025.jpg").read_bytes() == MEMBERS["train2017/000000000025.jpg"]
    assert (target / "train2017/000000000009.jpg").stat().st_ino == first.st_ino
    assert not list(target.rglob(".*.part"))


@pytest.mark.parametrize("evil", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt", "..\\evil.txt"])
def test_hostile_member_paths_are_refused(tmp_path, evil):
    archive = _zip(tmp_path / "bad.zip", {"annotations/fine.json": b"{}", evil: b"owned"})
    target = tmp_path / "sub" / "coco"
    with pytest.raises(DataError) as err:
        extract_zip(archive, target, progress=False)
    assert "bad.zip" in str(err.value) and "refusing" in str(err.value) and repr(evil) in str(err.value)
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"bad.zip"}  # nothing outside the target, and nothing inside either
    assert not Path("/abs/evil.txt").exists()
    assert not marker_path(archive).exists()


def test_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("images/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        extract_zip(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "images").exists()


def test_not_a_zip_is_a_clear_error(tmp_path):
    archive = tmp_path / "val2017.zip"
    archive.write_bytes(b"<html>mirror error page</html>")
    with pytest.raises(DataError, match=r"val2017\.zip: not a valid zip archive.*delete"):
        extract_zip(archive, tmp_path / "images", progress=False)
    assert not marker_path(archive).exists()


def test_corrupt_member_crc_error_leaves_nothing_half_extracted(tmp_path):
    good, bad = b"G" * 5000, b"B" * 5000
    archive = _zip(tmp_path / "images.zip", {"VG_100K/1.jpg": good, "VG_100K/2.jpg": bad}, zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    at = raw.index(bad)
    raw[at + 2500] ^= 0xFF  # flip one byte inside the stored data of the second member
    archive.write_bytes(bytes(raw))
    target = tmp_path / "images"
    with pytest.raises(DataError) as err:
        extract_zip(archive, target, progress=False)
    assert "images.zip" in str(err.value) and "'VG_100K/2.jpg' is corrupt" in str(err.value)
    assert not (target / "VG_100K/2.jpg").exists()
    assert not list(target.rglob(".*.part"))
    assert not marker_path(archive).exists() and not extraction_complete(marker_path(archive), target)
    assert (target / "VG_100K/1.jpg").read_bytes() == good  # complete and CRC-checked: kept


def test_extraction_checks_space_from_member_sizes(tmp_path, monkeypatch):
    archive = _zip(tmp_path / "a.zip", {"x/big.bin": bytes(200_000)})
    _full_disk(monkeypatch, free=1000)
    with pytest.raises(DataError, match=r"extracting a\.zip"):
        extract_zip(archive, tmp_path / "t", progress=False)
    assert not (tmp_path / "t" / "x").exists()


def test_zip_bytes_helper_roundtrip():
    # Sanity check of the fixture builder itself: ZipInfo keeps hostile names verbatim.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("/abs/evil.txt"), b"x")
    assert zipfile.ZipFile(buf).namelist() == ["/abs/evil.txt"]
