"""The official COCO 2017 / COCO-Stuff and Visual Genome v1.4 files, and how to fetch them.

Same files and layout as the original ``scripts/download_coco.sh`` / ``download_vg.sh`` (github.com/google/sg2im), in
``data/`` instead of ``datasets/``:

- COCO: ``annotations_trainval2017.zip`` and ``stuff_annotations_trainval2017.zip`` unzip into
  ``data/coco`` (giving ``annotations/{instances,stuff}_{train,val}2017.json``); ``train2017.zip``
  and ``val2017.zip`` unzip into ``data/coco/images`` (giving ``images/{train2017,val2017}/``).
- VG: ``{objects,attributes,relationships,image_data}.json.zip`` unzip into ``data/vg``,
  ``{object,relationship}_alias.txt`` are stored as they are, ``images.zip`` and ``images2.zip``
  unzip into ``data/vg/images`` (giving ``VG_100K/`` and ``VG_100K_2/``).

Archives are downloaded to ``<out_dir>/downloads/`` (not a DVC output, so a re-run of the stage,
which deletes the outputs first, still finds partial downloads to resume), extracted, and
deleted after a verified extraction unless ``keep_archives``.  The servers publish no checksums;
exact sizes are recorded where public sources agree on them, otherwise the server's
Content-Length and the zip's CRCs are what is checked.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from sg2im.config.download import OFFICIAL_URLS as DEFAULT_BASE_URLS
from sg2im.config.download import FetchConfig
from sg2im.data.fetch.archives import extract_zip, extraction_complete, marker_path
from sg2im.data.fetch.http import download_file, log, probe_size
from sg2im.disk import GB, check_free_space
from sg2im.errors import DataError

MB = 1e6

@dataclass(frozen=True)
class OfficialFile:
    """One file on an official server.

    ``size`` is the exact byte count where public sources agree on it (checked), else None.
    ``approx_size`` / ``approx_unpacked`` are rough figures used only for the up-front disk-space
    estimate, and only when the server does not announce the size in answer to a HEAD request
    (the exact checks use the server's Content-Length and the zip's member sizes).
    ``extract_to`` is the folder (relative to out_dir) the archive unzips into; None for a plain
    file stored as ``out_dir/name``. ``expect`` lists paths that must exist afterwards.
    """

    name: str
    base: str
    extract_to: str | None
    size: int | None
    approx_size: float
    approx_unpacked: float
    expect: tuple[str, ...]

    def url(self, base_urls: Mapping[str, str]) -> str:
        return base_urls[self.base].rstrip("/") + "/" + self.name


# Exact sizes: the servers' Content-Length as quoted in public download logs/scripts
# (e.g. wget logs of val2017.zip: 815585330; annotations_trainval2017.zip: 252907541;
# train2017.zip: 19336861798; stuff_annotations_trainval2017.zip: 1148688564).
COCO_FILES: tuple[OfficialFile, ...] = (
    OfficialFile("annotations_trainval2017.zip", "coco_base_url", ".", 252_907_541, 0.25 * GB, 0.85 * GB,
                 ("annotations/instances_train2017.json", "annotations/instances_val2017.json")),
    OfficialFile("stuff_annotations_trainval2017.zip", "coco_base_url", ".", 1_148_688_564, 1.15 * GB, 3.0 * GB,
                 ("annotations/stuff_train2017.json", "annotations/stuff_val2017.json")),
    OfficialFile("val2017.zip", "coco_images_base_url", "images", 815_585_330, 0.82 * GB, 0.82 * GB,
                 ("images/val2017",)),
    OfficialFile("train2017.zip", "coco_images_base_url", "images", 19_336_861_798, 19.4 * GB, 19.4 * GB,
                 ("images/train2017",)),
)

# No exact sizes for VG: none found that public sources agree on; READMEs quote ~9 GB and ~5 GB
# for the two image zips.
VG_FILES: tuple[OfficialFile, ...] = (
    OfficialFile("image_data.json.zip", "vg_base_url", ".", None, 0.02 * GB, 0.05 * GB, ("image_data.json",)),
    OfficialFile("objects.json.zip", "vg_base_url", ".", None, 0.5 * GB, 2.5 * GB, ("objects.json",)),
    OfficialFile("attributes.json.zip", "vg_base_url", ".", None, 0.5 * GB, 2.5 * GB, ("attributes.json",)),
    OfficialFile("relationships.json.zip", "vg_base_url", ".", None, 0.5 * GB, 2.5 * GB, ("relationships.json",)),
    OfficialFile("object_alias.txt", "vg_base_url", None, None, 0.001 * GB, 0.0, ("object_alias.txt",)),
    OfficialFile("relationship_alias.txt", "vg_base_url", None, None, 0.001 * GB, 0.0, ("relationship_alias.txt",)),
    OfficialFile("images.zip", "vg_images_base_url", "images", None, 9.8 * GB, 9.8 * GB, ("images/VG_100K",)),
    OfficialFile("images2.zip", "vg_images_base_url", "images", None, 5.5 * GB, 5.5 * GB, ("images/VG_100K_2",)),
)


# --------------------------------------------------------------------------- fetching
def _base_urls(base_urls: Mapping[str, str] | None, files: tuple[OfficialFile, ...]) -> dict[str, str]:
    wanted = {f.base for f in files}
    merged = {k: v for k, v in DEFAULT_BASE_URLS.items() if k in wanted}
    for key, value in (base_urls or {}).items():
        if key not in wanted:
            raise ValueError(f"unknown base URL key {key!r}; expected one of {sorted(wanted)}")
        merged[key] = str(value).rstrip("/")
    return merged


def _is_done(f: OfficialFile, out_dir: Path, download_dir: Path) -> bool:
    if f.extract_to is None:
        return (out_dir / f.name).is_file()
    return extraction_complete(marker_path(download_dir / f.name), out_dir / f.extract_to)


def _partial_bytes(path: Path) -> int:
    for p in (path, path.with_name(path.name + ".part")):
        if p.exists():
            return p.stat().st_size
    return 0


def estimate_needed_bytes(files: tuple[OfficialFile, ...], out_dir: Path, download_dir: Path,
                          keep_archives: bool, sizes: Mapping[str, int | None] | None = None) -> int:
    """Peak extra disk use of fetching ``files`` one after the other (estimate; see OfficialFile).

    ``sizes`` maps file names to the byte counts the server announced (a mirror's or a test
    server's files may be smaller than the official ones); the unpacked size is then scaled by the
    same factor. Files without an entry use the recorded official figures.
    """
    sizes = sizes or {}
    peak = held = 0.0
    for f in files:
        if _is_done(f, out_dir, download_dir):
            continue
        size = f.size if f.size is not None else f.approx_size
        unpacked = f.approx_unpacked if f.extract_to is not None else 0.0
        announced = sizes.get(f.name)
        if announced is not None:
            unpacked *= announced / size if size else 1.0
            size = announced
        where = out_dir / f.name if f.extract_to is None else download_dir / f.name
        already = _partial_bytes(where)
        to_fetch = max(0.0, size - already)
        peak = max(peak, held + to_fetch + unpacked)  # while extracting, archive and tree both exist
        if keep_archives or f.extract_to is None:
            held += to_fetch + unpacked
        else:  # the archive (including the part that was already on disk) is deleted afterwards
            held += unpacked - already
    return int(max(peak, 0.0))


def announced_sizes(files: tuple[OfficialFile, ...], base_urls: Mapping[str, str], out_dir: Path,
                    download_dir: Path, timeout: float) -> dict[str, int | None]:
    """Content-Length (HEAD request) of the files still to fetch whose size is not recorded.

    A mirror's files may be repackaged (or, in tests, tiny) and VG's sizes are not recorded, so
    the official rough figures could overstate (or understate) the need; a server that does not
    answer HEAD leaves the rough figure in place (None).
    """
    return {f.name: probe_size(f.url(base_urls), timeout) for f in files
            if expected_size(f, base_urls) is None and not _is_done(f, out_dir, download_dir)}


def expected_size(f: OfficialFile, base_urls: Mapping[str, str]) -> int | None:
    """The recorded size applies to the official server's file only: a mirror (or a test server)
    may repackage, so there only the Content-Length and the zip CRCs are checked."""
    official = base_urls[f.base].rstrip("/") == DEFAULT_BASE_URLS[f.base]
    return f.size if official else None


def fetch_official(
    files: tuple[OfficialFile, ...],
    out_dir: Path,
    base_urls: Mapping[str, str] | None = None,
    keep_archives: bool = False,
    *,
    min_free_gb: float = 5.0,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    download_dir: Path | None = None,
    progress: bool = True,
    what: str = "official data",
) -> dict[str, str]:
    """Download and unpack ``files`` into ``out_dir``; return {file name: 'fetched'|'already there'}.

    Restartable: finished files (checked by marker + member sizes) are skipped, partial downloads
    resume, half-done extractions continue. Archives go to ``download_dir`` (default
    ``out_dir/downloads``) and are deleted after a verified extraction unless ``keep_archives``.
    """
    out_dir = Path(out_dir)
    download_dir = Path(download_dir) if download_dir is not None else out_dir / "downloads"
    urls = _base_urls(base_urls, files)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = announced_sizes(files, urls, out_dir, download_dir, min(timeout, 10.0))
    needed = estimate_needed_bytes(files, out_dir, download_dir, keep_archives, sizes)
    if needed:
        check_free_space(out_dir, needed, f"{what} (estimated peak use)", min_free_gb)
        log(f"{what}: about {needed / GB:.1f} GB more disk needed in {out_dir} (peak estimate)")
    report: dict[str, str] = {}
    for f in files:
        url = f.url(urls)
        if f.extract_to is None:
            dest = out_dir / f.name
            state = "already there" if dest.is_file() else "fetched"
            download_file(url, dest, expected_size=expected_size(f, urls), retries=retries, backoff=backoff,
                          timeout=timeout, min_free_gb=min_free_gb, progress=progress)
            report[f.name] = state
            continue
        archive = download_dir / f.name
        target = out_dir / f.extract_to
        marker = marker_path(archive)
        if extraction_complete(marker, target):
            log(f"{f.name}: already extracted into {target} (marker {marker})")
            report[f.name] = "already there"
        else:
            marker.unlink(missing_ok=True)
            download_file(url, archive, expected_size=expected_size(f, urls), retries=retries, backoff=backoff,
                          timeout=timeout, min_free_gb=min_free_gb, progress=progress)
            extract_zip(archive, target, marker=marker, min_free_gb=min_free_gb, progress=progress)
            report[f.name] = "fetched"
        if archive.exists() and not keep_archives:
            os.remove(archive)
            log(f"{f.name}: extraction verified; deleted the archive {archive} (keep_archives=0)")
    missing = [e for f in files for e in f.expect if not (out_dir / e).exists()]
    if missing:
        raise DataError(
            f"{out_dir}: after unpacking, {', '.join(missing)} is missing: the archives do not have the official "
            f"layout (check the base-URL parameters point at the official files or a faithful mirror)."
        )
    log(f"{what}: complete in {out_dir} ({', '.join(f'{k}: {v}' for k, v in report.items())})")
    return report


def fetch_official_coco(out_dir: Path, base_urls: Mapping[str, str] | None = None,
                        keep_archives: bool = False, **kwargs) -> dict[str, str]:
    """COCO 2017 + COCO-Stuff 2017 into ``out_dir`` (``data/coco``): annotations/ and images/{train,val}2017/.

    ``base_urls`` may override ``coco_base_url`` and ``coco_images_base_url``; ``kwargs`` go to
    :func:`fetch_official` (min_free_gb, retries, backoff, timeout, download_dir, progress).
    """
    return fetch_official(COCO_FILES, out_dir, base_urls, keep_archives, what="COCO 2017", **kwargs)


def fetch_official_vg(out_dir: Path, base_urls: Mapping[str, str] | None = None,
                      keep_archives: bool = False, **kwargs) -> dict[str, str]:
    """Visual Genome v1.4 into ``out_dir`` (``data/vg``): the JSON files, alias files and images/VG_100K{,_2}/.

    ``base_urls`` may override ``vg_base_url`` and ``vg_images_base_url``.
    """
    return fetch_official(VG_FILES, out_dir, base_urls, keep_archives, what="Visual Genome v1.4", **kwargs)


def fetch_from_config(dataset: str, out_dir: Path, urls: Mapping[str, str], fetch: FetchConfig,
                      **kwargs) -> dict[str, str]:
    """:func:`fetch_official_coco` (``dataset='coco'``) or :func:`fetch_official_vg` (``'vg'``) with a
    download stage's base URLs and fetch settings."""
    common = dict(keep_archives=fetch.keep_archives, min_free_gb=fetch.min_free_gb, retries=fetch.retries)
    if dataset == "coco":
        return fetch_official_coco(out_dir, urls, **common, **kwargs)
    if dataset == "vg":
        return fetch_official_vg(out_dir, urls, **common, **kwargs)
    raise ValueError(f"unknown dataset {dataset!r}; expected 'coco' or 'vg'")
