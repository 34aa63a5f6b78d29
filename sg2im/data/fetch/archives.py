"""Safe, restartable zip extraction.

Extraction checks every member name first (absolute paths, ``..`` and symlinks are refused before
anything is written), writes each member to a temporary file and renames it (so a file under its
final name is always complete), skips members already extracted with the right size, and ends
with a marker (``<archive>.extracted.json``, the member list with sizes) so that a finished
extraction is not redone, even after the archive itself has been deleted.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath


from sg2im.atomic import atomic_write_json
from sg2im.data.fetch.http import CHUNK, log
from sg2im.disk import check_free_space
from sg2im.errors import DataError
from sg2im.progress import progress as progress_bar


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
        bar = progress_bar(total=needed, unit="B", desc=f"unzip {archive.name}", enabled=progress and bool(todo))
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
