"""Resumable HTTP downloads and safe, restartable zip extraction for the official datasets.

Downloads stream to ``<dest>.part`` (never held in memory) and resume with HTTP Range requests
after a dropped connection; transient failures are retried with exponential backoff; the size is
checked against the server's Content-Length and, where known, the published size (and a SHA-256
where one is given: the official servers publish none).  Only a complete, checked file is renamed
to ``dest``.

Extraction checks every member name first (absolute paths, ``..`` and symlinks are refused before
anything is written), writes each member to a temporary file and renames it (so a file under its
final name is always complete), skips members already extracted with the right size, and ends
with a marker (``<archive>.extracted.json``, the member list with sizes) so that a finished
extraction is not redone, even after the archive itself has been deleted.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import stat
import sys
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from tqdm import tqdm

from sg2im.atomic import atomic_write_json
from sg2im.errors import DataError

GB = 1e9
CHUNK = 1 << 20
USER_AGENT = "sg2im-download/1.0 (+https://github.com/google/sg2im reimplementation)"


class DownloadError(DataError):
    """A download failed for good (after retries, or for a reason a retry cannot fix)."""


def log(message: str) -> None:
    """One line on stderr that does not break a progress bar being drawn."""
    tqdm.write(message, file=sys.stderr)


# --------------------------------------------------------------------------- disk space
def _existing_ancestor(folder: Path) -> Path:
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system that holds ``folder`` (or its nearest existing parent)."""
    return shutil.disk_usage(_existing_ancestor(folder)).free


def check_free_space(folder: Path, needed: int, what: str, min_free_gb: float = 0.0) -> None:
    """Raise :class:`DataError` unless ``needed`` bytes plus a ``min_free_gb`` margin fit in ``folder``."""
    free = free_bytes(folder)
    margin = int(min_free_gb * GB)
    if needed + margin > free:
        raise DataError(
            f"{Path(folder).absolute()}: not enough free disk space for {what}: needs "
            f"{needed / GB:.1f} GB + {min_free_gb:g} GB margin (min_free_gb), "
            f"{free / GB:.1f} GB free. Free up space there, or make that folder a symlink to a "
            f"disk with room (keep the DVC cache on the same disk: `dvc cache dir <disk>/dvc-cache`), "
            f"or lower min_free_gb if you accept the risk."
        )


# --------------------------------------------------------------------------- download
@dataclass
class _Attempt:
    """What one HTTP request told us."""

    offset: int           # where this response's body starts in the file
    total: int | None     # total file size announced by the server (None: unknown)


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _parse_response(resp, offset: int, url: str) -> _Attempt:
    length = resp.headers.get("Content-Length")
    length = int(length) if length is not None and length.strip().isdigit() else None
    if resp.status == 206:
        crange = resp.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
        try:
            span, total_text = crange.split(" ", 1)[1].split("/")
            start = int(span.split("-")[0])
        except (IndexError, ValueError):
            raise DownloadError(f"{url}: malformed Content-Range header {crange!r} in a 206 response.") from None
        if start != offset:
            raise DownloadError(f"{url}: asked to resume at byte {offset}, server answered from byte {start}.")
        total = int(total_text) if total_text.strip().isdigit() else (offset + length if length is not None else None)
        return _Attempt(offset=offset, total=total)
    # 200: the whole file (the server ignored or does not support Range).
    return _Attempt(offset=0, total=length)


def probe_size(url: str, timeout: float = 10.0) -> int | None:
    """The server's Content-Length for ``url`` from a HEAD request; None if it will not say.

    Used for up-front disk-space estimates. A server that says the file does not exist (404, 410)
    raises :class:`DownloadError` at once, before anything is downloaded or the disk is checked;
    any other failure (no HEAD support, no header, a network error) returns None and the caller
    falls back to its own estimate (the GET then reports the real problem).
    """
    request = urllib.request.Request(url, method="HEAD",
                                     headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise DownloadError(
                f"{url}: HTTP {exc.code} {exc.reason} (asked before downloading anything). Check the URL "
                f"(the base-URL parameters of the download stage) or use a mirror."
            ) from None
        return None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    return int(length) if length is not None and length.strip().isdigit() else None


def _retryable_status(code: int) -> bool:
    return code in (408, 425, 429) or code >= 500


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK * 8), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    retries: int = 5,
    backoff: float = 2.0,
    max_backoff: float = 120.0,
    timeout: float = 60.0,
    min_free_gb: float = 0.0,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous ``dest.part`` when the server supports Range.

    ``retries`` counts consecutive failed attempts that brought no new bytes (a connection that
    drops after making progress resumes at once without using a retry); the n-th retry waits
    ``min(max_backoff, backoff * 2**(n-1))`` seconds.  Raises :class:`DownloadError` naming the
    URL, the file and the fix.  Returns ``dest``; an existing ``dest`` is taken as complete (it is
    only ever created by renaming a checked ``.part``) once its size/checksum check passes.
    """
    dest = Path(dest)
    if dest.exists():
        _verify_complete(dest, url, expected_size, sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures = 0
    started = time.monotonic()
    first_offset = part.stat().st_size if part.exists() else 0
    bar = None
    try:
        while True:
            offset = part.stat().st_size if part.exists() else 0
            if expected_size is not None and offset > expected_size:
                log(f"{part}: {offset} bytes is more than the expected {expected_size}; starting again from 0")
                part.unlink()
                offset = 0
            received = 0
            try:
                try:
                    resp = _open(url, offset, timeout)
                except urllib.error.HTTPError as exc:
                    if exc.code == 416 and offset > 0:
                        # Range not satisfiable: the .part is complete already, or longer than the file.
                        total = _total_from_416(exc)
                        if total is not None and total == offset and expected_size in (None, offset):
                            break
                        log(f"{url}: server refused to resume at byte {offset} (416); starting again from 0")
                        part.unlink()
                        continue
                    if _retryable_status(exc.code):
                        raise
                    raise DownloadError(
                        f"{url}: HTTP {exc.code} {exc.reason} while downloading {dest.name}. Check the URL "
                        f"(the base-URL parameters of the download stage) or use a mirror."
                    ) from None
                with resp:
                    attempt = _parse_response(resp, offset, url)
                    if attempt.offset == 0 and offset > 0:
                        log(f"{url}: server ignored the Range request (no resume support); "
                            f"restarting {dest.name} from byte 0")
                    total = attempt.total
                    if expected_size is not None and total is not None and total != expected_size:
                        raise DownloadError(
                            f"{url}: the server announces {total} bytes for {dest.name}, expected {expected_size}. "
                            f"The file on the server changed or the URL points at a different file; check "
                            f"the URL/mirror (the known size is recorded in sg2im/data/official.py)."
                        )
                    size = total if total is not None else expected_size
                    if size is not None:
                        check_free_space(dest.parent, size - attempt.offset, f"downloading {dest.name}", min_free_gb)
                    if progress and (bar is None or bar.n != attempt.offset or bar.total != size):
                        # A fresh bar whose `initial` is the resumed offset: the rate counts only new bytes.
                        if bar is not None:
                            bar.close()
                        bar = tqdm(total=size, initial=attempt.offset, unit="B", unit_scale=True,
                                   unit_divisor=1024, desc=dest.name, file=sys.stderr, dynamic_ncols=True)
                    mode = "ab" if attempt.offset > 0 else "wb"
                    with open(part, mode) as out:
                        while True:
                            chunk = resp.read(CHUNK)
                            if not chunk:
                                break
                            out.write(chunk)
                            received += len(chunk)
                            if bar is not None:
                                bar.update(len(chunk))
                    done = attempt.offset + received
                    if size is not None and done < size:
                        raise ConnectionError(f"connection closed after {done} of {size} bytes")
                    if size is not None and done > size:
                        raise DownloadError(
                            f"{url}: received {done} bytes for {dest.name}, more than the announced {size}. "
                            f"Delete {part} and run again; if it repeats, the server or mirror is broken."
                        )
                    break
            except (OSError, http.client.HTTPException) as exc:
                failures = 0 if received > 0 else failures + 1
                if failures > retries:
                    raise DownloadError(
                        f"{url}: download of {dest.name} failed {failures} times in a row ({exc}). The partial "
                        f"file {part} is kept: run again to resume, or raise `retries`."
                    ) from None
                delay = 0.0 if received > 0 else min(max_backoff, backoff * 2 ** (failures - 1))
                have = part.stat().st_size if part.exists() else 0
                log(f"{url}: {exc.__class__.__name__}: {exc}; have {have} bytes, "
                    f"{'resuming now' if delay == 0 else f'retry {failures}/{retries} in {delay:g} s'}")
                if delay:
                    sleep(delay)
    finally:
        if bar is not None:
            bar.close()
    final = part.stat().st_size
    _verify_complete(part, url, expected_size, sha256, final_name=dest.name)
    os.replace(part, dest)
    elapsed = max(time.monotonic() - started, 1e-9)
    fetched = final - first_offset
    log(f"downloaded {dest} ({final / 1e6:.1f} MB; {fetched / 1e6:.1f} MB this run in {elapsed:.1f} s, "
        f"{fetched / 1e6 / elapsed:.1f} MB/s{'; resumed from byte ' + str(first_offset) if first_offset else ''})")
    return dest


def _total_from_416(exc: urllib.error.HTTPError) -> int | None:
    crange = exc.headers.get("Content-Range", "") if exc.headers else ""  # "bytes */TOTAL"
    tail = crange.rsplit("/", 1)[-1].strip()
    return int(tail) if tail.isdigit() else None


def _verify_complete(path: Path, url: str, expected_size: int | None, sha256: str | None,
                     final_name: str | None = None) -> None:
    name = final_name or path.name
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise DownloadError(
            f"{path}: {size} bytes, expected {expected_size} for {name} (from {url}). "
            f"Delete it and run again to download it afresh."
        )
    if sha256 is not None:
        actual = sha256_of(path)
        if actual.lower() != sha256.lower():
            raise DownloadError(
                f"{path}: SHA-256 {actual} does not match the expected {sha256} for {name} (from {url}). "
                f"Delete it and run again; if it repeats, the server's file changed."
            )


# --------------------------------------------------------------------------- extraction
def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def member_target(target: Path, name: str, archive: Path) -> Path | None:
    """Where member ``name`` goes under ``target``; None for a directory entry.

    Raises :class:`DataError` for names that would land outside ``target``.
    """
    unix = name.replace("\\", "/")
    path = PurePosixPath(unix)
    if unix.startswith("/") or (len(unix) > 1 and unix[1] == ":") or ".." in path.parts:
        raise DataError(
            f"{archive}: refusing to extract member {name!r}: its path would land outside {target} "
            f"(absolute path or '..'). The archive is not the official one or was tampered with; "
            f"delete it and download it again from the official URL."
        )
    # Lexical checks suffice: symlink members are refused, so no link inside `target` can come
    # from an archive, and links the user made on purpose (images -> another disk) keep working.
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or unix.endswith("/"):
        return None
    return target.joinpath(*parts)


def marker_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".extracted.json")


def read_marker(marker: Path) -> dict | None:
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("members"), dict) else None


def extraction_complete(marker: Path, target: Path) -> bool:
    """True when ``marker`` exists and every member it lists is present under ``target`` with its size."""
    data = read_marker(marker)
    if data is None:
        return False
    for rel, size in data["members"].items():
        try:
            if (Path(target) / rel).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def extract_zip(
    archive: Path,
    target: Path,
    *,
    marker: Path | None = None,
    min_free_gb: float = 0.0,
    progress: bool = True,
) -> dict[str, int]:
    """Extract ``archive`` into ``target`` safely and restartably; return {relative path: size}.

    All member names are checked before anything is written. Members already present with the
    right size are skipped; the others are written to a temporary file and renamed. A CRC error
    (corrupt archive) raises :class:`DataError` naming the archive and member, leaves no partial
    file and no marker. On success the marker (default ``<archive>.extracted.json``) lists the
    members, so :func:`extraction_complete` can tell later that nothing needs doing.
    """
    archive, target = Path(archive), Path(target)
    marker = marker or marker_path(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(
            f"{archive}: not a valid zip archive ({exc}). The download is damaged or is not the expected "
            f"file: delete {archive} and run again."
        ) from None
    with zf:
        infos = zf.infolist()
        plan: list[tuple[zipfile.ZipInfo, Path]] = []
        target.mkdir(parents=True, exist_ok=True)
        for info in infos:
            if _is_symlink(info):
                raise DataError(
                    f"{archive}: refusing to extract member {info.filename!r}: it is a symbolic link, "
                    f"which could point outside {target}. Delete the archive and download the official one."
                )
            dest = member_target(target, info.filename, archive)
            if dest is not None:
                plan.append((info, dest))
        members = {d.relative_to(target).as_posix(): i.file_size for i, d in plan}
        todo = [(i, d) for i, d in plan if not (d.is_file() and d.stat().st_size == i.file_size)]
        needed = sum(i.file_size for i, _ in todo)
        if todo:
            check_free_space(target, needed, f"extracting {archive.name}", min_free_gb)
            log(f"extracting {archive.name} into {target}: {len(todo)} of {len(plan)} files "
                f"({needed / 1e6:.1f} MB; {len(plan) - len(todo)} already there)")
        bar = tqdm(total=needed, unit="B", unit_scale=True, unit_divisor=1024, desc=f"unzip {archive.name}",
                   file=sys.stderr, disable=not progress or not todo, dynamic_ncols=True)
        with bar:
            for info, dest in todo:
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(f".{dest.name}.part")
                try:
                    with zf.open(info) as src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                except OSError:  # disk full, permissions: not the archive's fault
                    tmp.unlink(missing_ok=True)
                    raise
                except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
                    tmp.unlink(missing_ok=True)
                    raise DataError(
                        f"{archive}: member {info.filename!r} is corrupt ({exc}). Delete {archive} and run "
                        f"again to download it afresh; members extracted so far are kept and checked by size."
                    ) from None
                os.replace(tmp, dest)
                bar.update(info.file_size)
    atomic_write_json(marker, {"archive": archive.name, "target": str(target.absolute()),
                                "members": members})
    return members

