"""What a training run is: its parameters, the code it runs and the data it reads.

A checkpoint is resumed only when all three match the current ones; otherwise training starts afresh and
says, one line per kind, what differed::

    code: sg2im/model/crn.py changed
    params: learning_rate 0.001 -> 0.0005
    data: data/coco/annotations/instances_train2017.json changed

- params: every train setting that shapes the trajectory (those declared with ``identity=False``, such
  as ``num_iterations`` or ``print_every``, may change on resume), plus the world size;
- code: the SHA-256 of every project file the train stage imports (:func:`sg2im.pipeline.import_closure`,
  the same files as its ``deps`` in dvc.yaml);
- data: per input file or folder (:meth:`DataConfig.input_files`), its size and modification time, and
  a content hash that is compared only when those differ (a ``dvc checkout`` that rewrites the files
  with the same bytes keeps the identity).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sg2im.config.schema import flat_fields, flatten, plain
from sg2im.config.train import TrainConfig
from sg2im.pipeline import REPO_ROOT, import_closure

KINDS = ("params", "code", "data")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def stat_fingerprint(path: Path) -> dict[str, Any]:
    """Cheap: size and mtime of a file, or count, total size and a digest of (name, size, mtime) of a folder."""
    if path.is_dir():
        files = _files_under(path)
        stats = [(f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
        return {"kind": "dir", "files": len(files), "bytes": sum(s[1] for s in stats), "stat": _digest(stats)}
    if path.is_file():
        st = path.stat()
        return {"kind": "file", "bytes": st.st_size, "stat": _digest([st.st_size, st.st_mtime_ns])}
    return {"kind": "missing"}


def content_hash(path: Path) -> str | None:
    """SHA-256 of a file, or of the names and contents of every file in a folder; None when missing."""
    if path.is_file():
        return _sha256(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for f in _files_under(path):
            digest.update(f.relative_to(path).as_posix().encode() + b"\0" + _sha256(f).encode())
        return digest.hexdigest()
    return None


def trajectory_params(config: TrainConfig, world_size: int) -> dict[str, Any]:
    """The settings that shape the run (plain JSON values, sorted), plus the world size."""
    same_run = {i.name for i in flat_fields(TrainConfig) if not i.meta.identity}
    values = {k: plain(v) for k, v in sorted(flatten(config).items()) if k not in same_run}
    if config.optim.lr_decay != "none":
        values["num_iterations"] = config.optim.num_iterations  # the decay's horizon shapes the run
    values["world_size"] = int(world_size)
    return values


@dataclass
class RunIdentity:
    params: dict[str, Any]
    code: dict[str, str]  # repository-relative path -> sha256
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> fingerprint (with "sha" once known)

    def digests(self) -> dict[str, str]:
        return {"params": _digest(self.params), "code": _digest(self.code),
                "data": _digest({p: f.get("sha") or f.get("stat") for p, f in sorted(self.data.items())})}

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "code": self.code, "data": self.data, "digests": self.digests()}

    def complete(self) -> "RunIdentity":
        """Add the content hash of every data input (before the identity is first written)."""
        for path, fp in self.data.items():
            if "sha" not in fp:
                fp["sha"] = content_hash(Path(path))
        return self


def current_identity(config: TrainConfig, world_size: int, root: Path = REPO_ROOT) -> RunIdentity:
    code = {rel: _sha256(root / rel) for rel in import_closure("stages/train.py", root)}
    data = {str(p): stat_fingerprint(Path(p)) for p in config.data.input_files()}
    return RunIdentity(trajectory_params(config, world_size), code, data)


def differences(saved: Mapping[str, Any] | None, now: RunIdentity) -> list[str]:
    """One line per difference, ``<kind>: ...``; [] when the checkpoint's identity is the current one.
    A data input whose size/mtime changed is compared by content (its hash is then added to ``now``)."""
    if not isinstance(saved, Mapping) or not all(isinstance(saved.get(k), Mapping) for k in KINDS):
        return ["identity: the checkpoint records no run identity (written by an older version of this code, or "
                "not by this training code), so it cannot be told to be the same run"]
    lines = [f"params: {k} {_show(saved['params'].get(k, '<absent>'))} -> {_show(now.params.get(k, '<absent>'))}"
             for k in sorted(set(saved["params"]) | set(now.params))
             if json.dumps(saved["params"].get(k, "<absent>"), default=str)
             != json.dumps(now.params.get(k, "<absent>"), default=str)]
    old_code = saved["code"]
    changed = sorted(p for p in set(old_code) | set(now.code) if old_code.get(p) != now.code.get(p))
    for path in changed[:8]:
        what = "added" if path not in old_code else ("no longer used" if path not in now.code else "changed")
        lines.append(f"code: {path} {what}")
    if len(changed) > 8:
        lines.append(f"code: ... and {len(changed) - 8} more files")
    for path in sorted(set(saved["data"]) | set(now.data)):
        old, new = saved["data"].get(path), now.data.get(path)
        if old is None or new is None:
            lines.append(f"data: {path} {'is a new input' if old is None else 'is no longer an input'}")
        elif old.get("stat") != new.get("stat"):
            new.setdefault("sha", content_hash(Path(path)))
            if new["sha"] != old.get("sha"):
                lines.append(f"data: {path} changed")
        elif old.get("sha"):
            new.setdefault("sha", old["sha"])  # unchanged: the resumed run reports the same data digest
    return lines


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def git_state(paths: list[str], root: Path = REPO_ROOT) -> dict[str, Any]:
    """The commit the code comes from, whether ``paths`` (the run's code and settings) differ from it, and a
    hash of that difference (files DVC itself rewrites, such as dvc.lock, do not count)."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.decode(errors="replace") if out.returncode == 0 else None

    commit = (git("rev-parse", "HEAD") or "").strip() or None
    if commit is None:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    diff = git("diff", "HEAD", "--binary", "--", *paths) or ""
    untracked = (git("ls-files", "--others", "--exclude-standard", "--", *paths) or "").splitlines()
    blob = diff + "".join(f"\n{p}\0{_sha256(root / p)}" for p in untracked if (root / p).is_file())
    dirty = bool(blob.strip())
    return {"commit": commit, "dirty": dirty, "diff_sha256": hashlib.sha256(blob.encode()).hexdigest() if dirty else None}
