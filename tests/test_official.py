"""fetch_official_coco / fetch_official_vg end to end against a local HTTP server (127.0.0.1, port 0)
that serves tiny archives with the official names and layouts."""
from __future__ import annotations

import json
import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from local_http_server import Behaviour, serve
from sg2im.data.fetch.http import DownloadError
from sg2im.config.download_coco import DownloadCocoConfig
from sg2im.config.download_vg import DownloadVgConfig
from sg2im.config.loader import load_stage
from sg2im.data.fetch.coco import get_coco
from sg2im.data.fetch.official import (
    COCO_FILES,
    DEFAULT_BASE_URLS,
    VG_FILES,
    estimate_needed_bytes,
    expected_size,
    fetch_from_config,
    fetch_official_coco,
    fetch_official_vg,
)
from sg2im.data.fetch.vg import get_vg
from sg2im.errors import DataError, ParamsError

from helpers_official import JPEG, zip_bytes, coco_files, coco_urls, vg_files, vg_urls


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_fetch_official_coco_gives_the_official_layout(tmp_path):
    files = coco_files(tmp_path)
    b = Behaviour(files=files, drop_after={"/zips/train2017.zip": 300})
    out = tmp_path / "data" / "coco"
    with serve(b) as base:
        report = fetch_official_coco(out, coco_urls(base), min_free_gb=0, progress=False)
        assert set(report.values()) == {"fetched"}
        data = {p for p in _tree(out) if not p.startswith("downloads/")}
        assert data == {
            "annotations/instances_train2017.json", "annotations/instances_val2017.json",
            "annotations/captions_train2017.json", "annotations/stuff_train2017.json",
            "annotations/stuff_val2017.json", "images/train2017/000000000009.jpg",
            "images/train2017/000000000025.jpg", "images/val2017/000000000139.jpg"}
        assert (out / "images/train2017/000000000009.jpg").read_bytes() == JPEG
        assert json.loads((out / "annotations/instances_val2017.json").read_text())["split"] == "val"
        # The dropped train2017.zip download resumed with a Range request.
        assert ("/zips/train2017.zip", "bytes=300-") in b.requests
        # Archives are deleted after a verified extraction; only the small markers stay, outside the data.
        assert sorted(p.name for p in (out / "downloads").iterdir()) == sorted(
            f"{f.name}.extracted.json" for f in COCO_FILES)
        # A second run does nothing: no request at all, even though the archives are gone.
        before = len(b.requests)
        report = fetch_official_coco(out, coco_urls(base), min_free_gb=0, progress=False)
        assert set(report.values()) == {"already there"} and len(b.requests) == before


def test_fetch_official_vg_gives_the_official_layout_and_keeps_archives_on_request(tmp_path):
    files = vg_files(tmp_path)
    b = Behaviour(files=files, fail_times={"/img/images2.zip": 1})
    out = tmp_path / "vg"
    with serve(b) as base:
        fetch_official_vg(out, vg_urls(base), keep_archives=True, min_free_gb=0, progress=False, backoff=0.001)
    data = {p for p in _tree(out) if not p.startswith("downloads/")}
    assert data == {"image_data.json", "objects.json", "attributes.json", "relationships.json",
                    "object_alias.txt", "relationship_alias.txt",
                    "images/VG_100K/1.jpg", "images/VG_100K/10.jpg", "images/VG_100K_2/2.jpg"}
    assert (out / "object_alias.txt").read_bytes() == b"man,men\n"
    kept = {p.name for p in (out / "downloads").iterdir() if p.suffix == ".zip"}
    assert kept == {f.name for f in VG_FILES if f.extract_to is not None}
    assert (out / "downloads" / "images.zip").read_bytes() == files["/img/images.zip"]


def test_outputs_deleted_by_dvc_are_fetched_again(tmp_path):
    """`dvc repro` deletes a stage's outputs before running it: the marker alone must not count."""
    b = Behaviour(files=vg_files(tmp_path))
    out = tmp_path / "vg"
    with serve(b) as base:
        fetch_official_vg(out, vg_urls(base), min_free_gb=0, progress=False)
        shutil.rmtree(out / "images")
        n = len(b.requests)
        report = fetch_official_vg(out, vg_urls(base), min_free_gb=0, progress=False)
    assert report["images.zip"] == report["images2.zip"] == "fetched"
    assert report["objects.json.zip"] == "already there"
    assert sorted(p for p, _ in b.requests[n:]) == ["/img/images.zip", "/img/images2.zip"]
    assert (out / "images/VG_100K_2/2.jpg").read_bytes() == JPEG


def test_failed_run_is_resumed_by_the_next_one(tmp_path):
    files = coco_files(tmp_path)
    b = Behaviour(files=files, fail_times={"/zips/val2017.zip": 100})
    out = tmp_path / "coco"
    with serve(b) as base:
        with pytest.raises(DownloadError, match=r"val2017\.zip.*run again to resume"):
            fetch_official_coco(out, coco_urls(base), min_free_gb=0, progress=False, retries=1, backoff=0.001)
        assert (out / "annotations/stuff_train2017.json").exists()
        assert not (out / "images/val2017").exists()
        b.fail_times.clear()
        n = len(b.requests)
        report = fetch_official_coco(out, coco_urls(base), min_free_gb=0, progress=False)
    assert report["annotations_trainval2017.zip"] == "already there"
    assert sorted(p for p, _ in b.requests[n:]) == ["/zips/train2017.zip", "/zips/val2017.zip"]
    assert (out / "images/val2017/000000000139.jpg").exists()


def test_corrupt_archive_from_server_is_a_clear_error(tmp_path):
    files = coco_files(tmp_path)
    files["/zips/val2017.zip"] = b"<html>Service moved</html>"
    out = tmp_path / "coco"
    with serve(Behaviour(files=files)) as base, pytest.raises(DataError) as err:
        fetch_official_coco(out, coco_urls(base), min_free_gb=0, progress=False)
    assert "val2017.zip: not a valid zip archive" in str(err.value)
    assert not (out / "images/val2017").exists()
    assert not (out / "downloads" / "val2017.zip.extracted.json").exists()
    assert (out / "downloads" / "val2017.zip").exists()  # kept for inspection; the message says to delete it


def test_archive_with_wrong_layout_is_reported(tmp_path):
    files = coco_files(tmp_path)
    files["/zips/val2017.zip"] = zip_bytes(tmp_path, "flat", {"000000000139.jpg": JPEG})
    with serve(Behaviour(files=files)) as base, pytest.raises(DataError, match=r"images/val2017 is missing"):
        fetch_official_coco(tmp_path / "coco", coco_urls(base), min_free_gb=0, progress=False)


def test_hostile_archive_from_server_writes_nothing_outside(tmp_path):
    files = coco_files(tmp_path)
    files["/annotations/annotations_trainval2017.zip"] = zip_bytes(
        tmp_path, "evil", {"annotations/instances_train2017.json": b"{}", "../../evil.txt": b"x"})
    with serve(Behaviour(files=files)) as base, pytest.raises(DataError, match="refusing"):
        fetch_official_coco(tmp_path / "d" / "coco", coco_urls(base), min_free_gb=0, progress=False)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (tmp_path / "d" / "coco" / "annotations").exists()


# The one mock: a real full disk cannot be arranged here, so shutil.disk_usage reports 2 GB free.
def _two_gb_free(monkeypatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 2 * 10**9, 2 * 10**9))


def test_not_enough_disk_space_stops_before_any_download(tmp_path, monkeypatch):
    _two_gb_free(monkeypatch)
    b = Behaviour(files=coco_files(tmp_path))
    out = tmp_path / "coco"
    with serve(b) as base, pytest.raises(DataError) as err:
        fetch_official_coco(out, coco_urls(base), min_free_gb=5, progress=False)
    message = str(err.value)
    assert str(out) in message and "COCO 2017" in message and "2.0 GB free" in message
    assert "5 GB margin" in message and "symlink" in message
    assert b.requests == [] and not (out / "downloads").exists()  # sizes asked with HEAD, nothing fetched
    assert sorted(b.heads) == sorted(coco_files(tmp_path))


def test_disk_estimate_uses_the_sizes_a_mirror_announces(tmp_path, monkeypatch):
    # A mirror's (here: tiny) files are what must fit, not the 43 GB of the official COCO.
    _two_gb_free(monkeypatch)
    b = Behaviour(files=coco_files(tmp_path))
    with serve(b) as base:
        report = fetch_official_coco(tmp_path / "coco", coco_urls(base), min_free_gb=0, progress=False)
    assert set(report.values()) == {"fetched"}


def test_disk_estimate_falls_back_to_the_official_figures_without_head(tmp_path, monkeypatch):
    _two_gb_free(monkeypatch)
    b = Behaviour(files=coco_files(tmp_path), no_head=True)
    with serve(b) as base, pytest.raises(DataError, match=r"needs 4\d\.\d GB"):
        fetch_official_coco(tmp_path / "coco", coco_urls(base), min_free_gb=0, progress=False)
    assert b.requests == [] and len(b.heads) == 4


def test_a_file_missing_on_the_server_stops_before_any_download(tmp_path, monkeypatch):
    # 404 to HEAD is definitive: the fetch names the URL at once, whatever the disk holds, and
    # downloads nothing (with 2 GB "free", a fallback to the official 43 GB would fail differently).
    _two_gb_free(monkeypatch)
    files = coco_files(tmp_path)
    del files["/zips/val2017.zip"]
    b = Behaviour(files=files)
    with serve(b) as base, pytest.raises(DataError, match=r"val2017\.zip: HTTP 404") as err:
        fetch_official_coco(tmp_path / "coco", coco_urls(base), min_free_gb=0, progress=False)
    assert f"{base}/zips/val2017.zip" in str(err.value)
    assert b.requests == [] and not (tmp_path / "coco" / "downloads").exists()


def test_disk_estimate_matches_the_documented_figures(tmp_path):
    # Delete-after-extract: peak = everything unpacked + the largest archive; keep: all archives too.
    coco = estimate_needed_bytes(COCO_FILES, tmp_path / "c", tmp_path / "c" / "downloads", keep_archives=False)
    coco_keep = estimate_needed_bytes(COCO_FILES, tmp_path / "c", tmp_path / "c" / "downloads", keep_archives=True)
    vg = estimate_needed_bytes(VG_FILES, tmp_path / "v", tmp_path / "v" / "downloads", keep_archives=False)
    assert 40e9 < coco < 45e9 and 45e9 < coco_keep < 47e9 and 23e9 < vg < 30e9
    # Bytes already downloaded (a .part) are not needed again.
    (tmp_path / "c" / "downloads").mkdir(parents=True)
    (tmp_path / "c" / "downloads" / "val2017.zip.part").write_bytes(bytes(1000))
    assert estimate_needed_bytes(COCO_FILES, tmp_path / "c", tmp_path / "c" / "downloads", True) == coco_keep - 1000
    # Announced sizes replace the rough figures and scale the unpacked size by the same factor.
    half = {f.name: int((f.size or f.approx_size) / 2) for f in COCO_FILES}
    assert estimate_needed_bytes(COCO_FILES, tmp_path / "d", tmp_path / "d" / "downloads", True, half) == \
        pytest.approx(coco_keep / 2, rel=1e-6)


def test_known_sizes_apply_to_the_official_servers_only():
    train = next(f for f in COCO_FILES if f.name == "train2017.zip")
    assert expected_size(train, DEFAULT_BASE_URLS) == 19_336_861_798
    assert expected_size(train, {**DEFAULT_BASE_URLS, "coco_images_base_url": "http://127.0.0.1:1/zips"}) is None
    assert all(f.size is None for f in VG_FILES)  # none published: Content-Length + zip CRCs are checked
    assert [f.url(DEFAULT_BASE_URLS) for f in COCO_FILES] == [
        "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
        "http://images.cocodataset.org/annotations/stuff_annotations_trainval2017.zip",
        "http://images.cocodataset.org/zips/val2017.zip",
        "http://images.cocodataset.org/zips/train2017.zip"]
    assert VG_FILES[-1].url(DEFAULT_BASE_URLS) == "https://cs.stanford.edu/people/rak248/VG_100K_2/images2.zip"


def test_unknown_base_url_key_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="vg_base_url"):
        fetch_official_coco(tmp_path, {"vg_base_url": "http://127.0.0.1:1"}, progress=False)


def test_params_read_from_params_yaml_and_used_by_fetch_from_config(tmp_path):
    b = Behaviour(files=vg_files(tmp_path))
    with serve(b) as base:
        params = tmp_path / "params.yaml"
        params.write_text(f"download_vg:\n  vg_base_url: {base}/vg\n  vg_images_base_url: {base}/img/\n"
                          f"  keep_archives: 1\n  min_free_gb: 0\n  retries: 2\n")
        cfg = load_stage("download_vg", DownloadVgConfig, ["--params", str(params), "--retries", "3"]).config
        assert cfg.fetch.keep_archives is True and cfg.fetch.retries == 3 and cfg.vg_images_base_url == f"{base}/img"
        fetch_from_config("vg", tmp_path / "vg", cfg.base_urls, cfg.fetch, progress=False)
    assert (tmp_path / "vg" / "downloads" / "images2.zip").exists()
    assert (tmp_path / "vg" / "images/VG_100K_2/2.jpg").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("download_coco:\n  coco_base_url: images.cocodataset.org\n")
    with pytest.raises(ParamsError, match="coco_base_url.*http"):
        load_stage("download_coco", DownloadCocoConfig, ["--params", str(bad)])


class _stage:
    """What stages/download_<dataset>.py does with these flags (no params file)."""

    def __init__(self, name: str):
        self.cls, self.get = {"download_coco": (DownloadCocoConfig, get_coco),
                              "download_vg": (DownloadVgConfig, get_vg)}[name]
        self.name = name

    def main(self, argv: list[str]) -> dict:
        return self.get(load_stage(self.name, self.cls, [*argv, "--params", "/nonexistent/none.yaml"]).config)


def test_download_coco_stage_official_replaces_synthetic_data_and_reruns_offline(tmp_path):
    """source=official through the stage: synthetic files of an earlier run never mix with the official ones,
    and a re-run (DVC re-runs a persisted stage when its code or parameters change) makes no request."""
    stage = _stage("download_coco")
    out = tmp_path / "data" / "coco"
    stage.main(["--source", "synthetic", "--out_dir", str(out), "--num_train_images", "3", "--num_val_images", "2",
                "--image_size", "32", "--workers", "1"])
    synthetic = {p.name for p in (out / "images" / "train2017").iterdir()}
    assert (out / ".sg2im_source").read_text().strip() == "synthetic"
    b = Behaviour(files=coco_files(tmp_path))
    with serve(b) as base:
        flags = ["--source", "official", "--out_dir", str(out), "--coco_base_url", f"{base}/annotations",
                 "--coco_images_base_url", f"{base}/zips", "--min_free_gb", "0", "--retries", "2"]
        stage.main(flags)
        assert {p.name for p in (out / "images" / "train2017").iterdir()} == {"000000000009.jpg", "000000000025.jpg"}
        assert not synthetic & {p.name for p in (out / "images" / "val2017").iterdir()}
        assert json.loads((out / "annotations/instances_val2017.json").read_text())["split"] == "val"
        assert (out / ".sg2im_source").read_text().strip() == "official"
        n = len(b.requests)
        report = stage.main(flags + ["--retries", "3"])
        assert report.pop("card").endswith("CARD.md")  # every download writes the dataset's card
        assert set(report.values()) == {"already there"} and len(b.requests) == n
    # And back: the synthetic writer replaces the official trees (the DVC cache keeps them).
    stage.main(["--source", "synthetic", "--out_dir", str(out), "--num_train_images", "3", "--num_val_images", "2",
                "--image_size", "32", "--workers", "1"])
    assert {p.name for p in (out / "images" / "train2017").iterdir()} == synthetic


def test_download_vg_stage_official_and_clear_failure(tmp_path):
    import subprocess
    import sys

    stage = _stage("download_vg")
    out = tmp_path / "vg"
    b = Behaviour(files=vg_files(tmp_path))
    with serve(b) as base:
        stage.main(["--source", "official", "--out_dir", str(out), "--vg_base_url", f"{base}/vg",
                    "--vg_images_base_url", f"{base}/img", "--min_free_gb", "0"])
    assert (out / "images/VG_100K_2/2.jpg").read_bytes() == JPEG
    assert json.loads((out / "objects.json").read_text()) == [{"image_id": 1}]
    # A server that answers 404: a non-zero exit and a message that names the URL; nothing is half-written.
    repo = Path(__file__).resolve().parent.parent
    with serve(Behaviour(files={})) as base:
        result = subprocess.run([sys.executable, str(repo / "stages" / "download_vg.py"), "--source", "official",
                                 "--out_dir", str(tmp_path / "vg2"), "--vg_base_url", f"{base}/vg",
                                 "--vg_images_base_url", f"{base}/img", "--min_free_gb", "0", "--retries", "1"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"{base}/vg/image_data.json.zip" in result.stderr and "404" in result.stderr
    assert "Traceback" not in result.stderr
    assert not [p for p in (tmp_path / "vg2").rglob("*") if p.is_file() and p.name != ".sg2im_source"]
