"""``source: local``: a dataset of your own, in the COCO or the Visual Genome format, brought into the
pipeline's layout without copying its images, after it passed validation (:mod:`sg2im.data.validate`).

Every file is hard-linked where the file system allows (no second copy on disk; DVC's cache then shares the
same file, and as it marks cached files read-only, your originals become read-only too: ``chmod u+w`` to edit
them), else symbolically linked (another file system: DVC's cache then holds one copy), else copied after a
disk-space check; the log says which. Everything is linked into a staging folder first and moved into place
only when complete, so a fatal validation error or a kill leaves the pipeline's layout as it was.
"""
from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

from sg2im.atomic import atomic_write_text
from sg2im.disk import check_free_space
from sg2im.errors import DataError
from sg2im.progress import progress, say

STAGING = ".incoming"


def link_file(src: Path, dst: Path) -> str:
    """Link ``src`` at ``dst``: 'hardlink', else 'symlink', else 'copy' (the caller checked the disk)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return "hardlink"
    except OSError:
        pass
    try:
        os.symlink(src.resolve(), dst)
        return "symlink"
    except OSError:
        shutil.copy2(src, dst)
        return "copy"


def link_tree(src: Path, dst: Path, desc: str) -> Counter:
    """Every file under ``src`` linked at the same place under ``dst``; returns how many of each kind."""
    files = [p for p in sorted(src.rglob("*")) if p.is_file()]
    if files:
        try:
            os.link(files[0], dst.parent / ".link_probe")  # same file system: nothing to copy
            (dst.parent / ".link_probe").unlink()
        except OSError:
            check_free_space(dst.parent, sum(p.stat().st_size for p in files), f"copying {src}")
    kinds: Counter = Counter()
    for path in progress(files, desc=desc, unit="file"):
        kinds[link_file(path, dst / path.relative_to(src))] += 1
    return kinds


def describe(kinds: Counter, what: str, src: Path) -> str:
    how = {"hardlink": "hard links (no copy)", "symlink": "symbolic links (another file system; DVC's cache "
           "keeps one copy)", "copy": "copies (links were refused)"}
    return f"{what}: {sum(kinds.values())} files from {src} as " + ", ".join(
        f"{n} {how[k]}" for k, n in kinds.items())


def bring_in(local_dir: str | Path, out_dir: str | Path, fmt: str, plan: list[tuple[str, str | None]],
             report) -> list[str]:
    """Link ``plan`` (``(name in out_dir, path in local_dir or None for an empty stand-in)``) into ``out_dir``
    through a staging folder, after ``report`` (the validation) found no error."""
    local_dir, out_dir = Path(local_dir), Path(out_dir)
    if report.errors:
        raise DataError(f"{local_dir} is not a usable {fmt.upper()}-format dataset ({len(report.errors)} kinds of "
                        "error, listed above); nothing was written into " + str(out_dir) + ". Fix them and run "
                        f"again (python -m sg2im.data.validate {local_dir} --format {fmt} checks it alone).")
    staging = out_dir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    lines = []
    for name, rel in plan:
        target = staging / name
        if rel is None:
            atomic_write_text(target, "[]\n" if name.endswith(".json") else "")
            lines.append(f"{name}: not in {local_dir}; an empty one written (the dataset has none)")
            continue
        src = local_dir / rel
        if src.is_dir():
            lines.append(describe(link_tree(src, target, name), name, src))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            lines.append(f"{name}: {link_file(src, target)} of {src}")
    for name, _ in plan:
        top = name.split("/")[0]
        final, staged = out_dir / top, staging / top
        if not staged.exists():
            continue
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        elif final.exists() or final.is_symlink():
            final.unlink()
        os.replace(staged, final)
    shutil.rmtree(staging, ignore_errors=True)
    for line in lines:
        say(line)
    return lines


def coco_plan(local_dir: Path) -> list[tuple[str, str | None]]:
    """What a COCO-format folder brings: both splits' images and instances, COCO-Stuff where it has it."""
    from sg2im.data.validate.coco import SPLITS, coco_files

    plan: list[tuple[str, str | None]] = []
    for split in SPLITS:
        files = coco_files(local_dir, split)
        plan.append((f"images/{split}2017", str(files["images"].relative_to(local_dir))))
        plan.append((f"annotations/instances_{split}2017.json", str(files["instances"].relative_to(local_dir))))
        if files["stuff"].exists():
            plan.append((f"annotations/stuff_{split}2017.json", str(files["stuff"].relative_to(local_dir))))
    return plan


def vg_plan(local_dir: Path) -> list[tuple[str, str | None]]:
    """What a VG-format folder brings: images/ and the JSON files; optional ones it lacks become empty."""
    from sg2im.data.validate.vg import OPTIONAL, REQUIRED

    return ([("images", "images")] + [(name, name) for name in REQUIRED]
            + [(name, name if (local_dir / name).exists() else None) for name in OPTIONAL])


def import_local(local_dir: str | Path, out_dir: str | Path, fmt: str) -> dict:
    """The download stage's work for ``source: local``: validate, then link the dataset into ``out_dir``."""
    from sg2im.data.fetch.sources import COCO_OUTPUTS, VG_OUTPUTS, switch_source
    from sg2im.data.validate import check_dataset

    local_dir, out_dir = Path(local_dir).resolve(), Path(out_dir)
    if not local_dir.is_dir():
        raise DataError(f"local_dir {local_dir} is not a folder: give your dataset's folder")
    report = check_dataset(local_dir, fmt)
    for line in report.lines():
        say(line)
    if not report.errors:
        switch_source(out_dir, f"local:{local_dir}", COCO_OUTPUTS if fmt == "coco" else VG_OUTPUTS)
    bring_in(local_dir, out_dir, fmt, coco_plan(local_dir) if fmt == "coco" else vg_plan(local_dir), report)
    from sg2im.data.card import describe_dataset

    card = describe_dataset(out_dir, fmt, f"local ({local_dir})", report)
    return {"local_dir": str(local_dir), "warnings": len(report.warnings), "card": str(card)}
