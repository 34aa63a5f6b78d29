"""The official COCO 2017 / COCO-Stuff and Visual Genome v1.4 files, and how to fetch them.

Same files and layout as the original ``download_coco.sh`` / ``download_vg.sh`` (spec §2.1), in
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
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from sg2im.data.download import (
    GB,
    check_free_space,
    download_file,
    extract_zip,
    extraction_complete,
    log,
    marker_path,
    probe_size,
)
from sg2im.atomic import atomic_write_text
from sg2im.errors import DataError
from sg2im.params import Param, bool_flag

MB = 1e6

DEFAULT_BASE_URLS: dict[str, str] = {
    "coco_base_url": "http://images.cocodataset.org/annotations",
    "coco_images_base_url": "http://images.cocodataset.org/zips",
    "vg_base_url": "https://visualgenome.org/static/data/dataset",
    "vg_images_base_url": "https://cs.stanford.edu/people/rak248/VG_100K_2",
}


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


# What each download stage writes into its out_dir (its DVC outputs, persisted: see dvc.yaml).
COCO_OUTPUTS: tuple[str, ...] = ("images", "annotations")
VG_OUTPUTS: tuple[str, ...] = ("images", "image_data.json", "objects.json", "attributes.json", "relationships.json",
                               "object_alias.txt", "relationship_alias.txt")
SOURCE_MARKER = ".sg2im_source"


def switch_source(out_dir: Path, source: str, outputs: Sequence[str]) -> None:
    """Record that ``out_dir`` now receives ``source`` data ('synthetic' or 'official').

    The download stages' outputs are persisted (a re-run must not delete tens of GB before it can
    see that nothing is missing), so data of the *other* source would stay and mix with the new
    one: when the marker names another source, its outputs are removed first. The DVC cache keeps
    the removed files (``git checkout <rev> -- dvc.lock params.yaml && dvc checkout`` brings them
    back without a download). The marker is written before any work, so a killed official fetch
    is resumed, never mistaken for other data.
    """
    out_dir = Path(out_dir)
    marker = out_dir / SOURCE_MARKER
    before = marker.read_text().strip() if marker.is_file() else None
    if before and before != source:
        removed = [name for name in outputs if (out_dir / name).exists() or (out_dir / name).is_symlink()]
        for name in removed:
            path = out_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        if removed:
            log(f"{out_dir}: held {before} data; removed {', '.join(removed)} before writing {source} data "
                f"(the DVC cache still has the old files)")
    atomic_write_text(marker, source + "\n")


# --------------------------------------------------------------------------- stage parameters
def _url(value) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text.rstrip("/")


_COMMON = [
    Param("keep_archives", False, "Keep the downloaded .zip files after a verified extraction (1) or delete "
          "them (0: the default, so the archive and the unpacked tree do not both stay on disk).", type=bool_flag),
    Param("min_free_gb", 5.0, "Disk space (GB) to leave free on top of what the download and extraction need; "
          "the stage stops up front if there is not enough.", type=float),
    Param("retries", 5, "Consecutive failed attempts (with exponential backoff: 2, 4, 8 ... s, at most 120 s) "
          "before a download gives up; a connection that drops after making progress resumes at once.", type=int),
]

COCO_PARAMS: list[Param] = [
    Param("coco_base_url", DEFAULT_BASE_URLS["coco_base_url"],
          "Where annotations_trainval2017.zip and stuff_annotations_trainval2017.zip are (source=official).",
          type=_url),
    Param("coco_images_base_url", DEFAULT_BASE_URLS["coco_images_base_url"],
          "Where train2017.zip and val2017.zip are (source=official).", type=_url),
    *_COMMON,
]
VG_PARAMS: list[Param] = [
    Param("vg_base_url", DEFAULT_BASE_URLS["vg_base_url"],
          "Where the VG v1.4 JSON zips and alias files are (source=official). If visualgenome.org moved, "
          "https://homes.cs.washington.edu/~ranjay/visualgenome/data/dataset is a known mirror.", type=_url),
    Param("vg_images_base_url", DEFAULT_BASE_URLS["vg_images_base_url"],
          "Where images.zip and images2.zip are (source=official).", type=_url),
    *_COMMON,
]
PARAMS: list[Param] = [*COCO_PARAMS[:2], *VG_PARAMS[:2], *_COMMON]


# --------------------------------------------------------------------------- fetching
def _base_urls(base_urls: Mapping[str, str] | None, files: tuple[OfficialFile, ...]) -> dict[str, str]:
    wanted = {f.base for f in files}
    merged = {k: v for k, v in DEFAULT_BASE_URLS.items() if k in wanted}
    for key, value in (base_urls or {}).items():
        if key not in wanted:
            raise ValueError(f"unknown base URL key {key!r}; expected one of {sorted(wanted)}")
        merged[key] = _url(value)
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


def fetch_from_params(dataset: str, out_dir: Path, args, **kwargs) -> dict[str, str]:
    """Call :func:`fetch_official_coco` (``dataset='coco'``) or :func:`fetch_official_vg` (``'vg'``)
    with the values of :data:`COCO_PARAMS` / :data:`VG_PARAMS` read by ``load_params``."""
    common = dict(keep_archives=args.keep_archives, min_free_gb=args.min_free_gb, retries=args.retries)
    if dataset == "coco":
        urls = {"coco_base_url": args.coco_base_url, "coco_images_base_url": args.coco_images_base_url}
        return fetch_official_coco(out_dir, urls, **common, **kwargs)
    if dataset == "vg":
        urls = {"vg_base_url": args.vg_base_url, "vg_images_base_url": args.vg_images_base_url}
        return fetch_official_vg(out_dir, urls, **common, **kwargs)
    raise ValueError(f"unknown dataset {dataset!r}; expected 'coco' or 'vg'")
