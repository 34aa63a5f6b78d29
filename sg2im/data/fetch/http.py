"""Resumable HTTP downloads for the official datasets and the released models.

Downloads stream to ``<dest>.part`` (never held in memory) and resume with HTTP Range requests
after a dropped connection; transient failures are retried with exponential backoff; the size is
checked against the server's Content-Length and, where known, the published size (and a SHA-256
where one is given: the official servers publish none).  Only a complete, checked file is renamed
to ``dest``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from sg2im.atomic import disk_full, is_disk_full
from sg2im.disk import check_free_space
from sg2im.errors import DataError
from sg2im.progress import progress as progress_bar
from sg2im.progress import say

CHUNK = 1 << 20
USER_AGENT = "sg2im-download/1.0 (+https://github.com/google/sg2im reimplementation)"


class DownloadError(DataError):
    """A download failed for good (after retries, or for a reason a retry cannot fix)."""


def log(message: str) -> None:
    """One line on stderr that does not break a progress bar being drawn."""
    say(message, err=True)


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
                        bar = progress_bar(total=size, initial=attempt.offset, unit="B", desc=dest.name, enabled=progress)
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
                if is_disk_full(exc):  # this disk, not the network
                    raise disk_full(part, part.stat().st_size if part.exists() else 0) from None
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
