"""The project as a DVC pipeline: what code a stage runs, which files the pipeline owns, and whether
this process is DVC's or a run by hand.

- :func:`import_closure`: the project files a stage script imports, transitively (every ``import`` of
  ``sg2im`` anywhere in a file counts, also inside functions). ``dvc.yaml``'s ``deps`` of each stage are
  exactly these (``tests/test_dvc_deps.py``), and training records their hashes in its identity.
- :func:`pipeline_outputs`: every path ``dvc.yaml`` declares as an output (``${...}`` filled from
  ``params.yaml``), so that a run by hand never writes one (:func:`redirect_hand_run`).
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from sg2im.config.schema import flat_fields, with_values
from sg2im.errors import ParamsError

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sg2im"
HAND_RUNS_DIR = "runs"


def by_dvc() -> bool:
    """True when DVC runs this process as a stage (``dvc repro``, ``dvc exp run``, queued experiments)."""
    return bool(os.environ.get("DVC_STAGE"))


# --------------------------------------------------------------------------- code
def _module_file(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, root: Path) -> set[str]:
    """Project modules named by the imports of ``path`` (with their parent packages)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = path.relative_to(root).with_suffix("").parts
    package = here[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    out = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != PACKAGE:
            continue
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))
    return out


def import_closure(script: str | os.PathLike, root: Path = REPO_ROOT) -> list[str]:
    """Repository-relative paths of ``script`` and every project file it imports, transitively, sorted."""
    root = Path(root)
    start = (root / script) if not Path(script).is_absolute() else Path(script)
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path, root):
            found = _module_file(module, root)
            if found is not None and found not in seen:
                todo.append(found)
    return sorted(p.relative_to(root).as_posix() for p in seen)


def python_files(folder: Path) -> set[str]:
    """Repository-relative paths of the .py files under ``folder`` (what a folder dep in dvc.yaml covers)."""
    return {p.relative_to(REPO_ROOT).as_posix() for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts}


def compress(files: list[str], root: Path = REPO_ROOT) -> list[str]:
    """``files`` with every folder whose .py files are all among them written as the folder (the deps list
    of dvc.yaml: a folder dep covers the .py files under it; other files there are in .dvcignore)."""
    chosen = set(files)
    out: list[str] = []
    folders = sorted({str(Path(f).parent) for f in files if "/" in f}, key=lambda d: (d.count("/"), d))
    covered: set[str] = set()
    for folder in folders:
        if any(folder == c or folder.startswith(c + "/") for c in covered):
            continue
        inside = {p.relative_to(root).as_posix() for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts}
        if folder not in ("sg2im", "stages") and inside and inside <= chosen:
            covered.add(folder)
    out = sorted(covered) + [f for f in files if not any(f.startswith(c + "/") for c in covered)]
    return sorted(out)


_SCRIPT = re.compile(r"\bstages/\w+\.py\b")


def stage_script(stage: str, root: Path = REPO_ROOT) -> str:
    """The script a stage of ``dvc.yaml`` runs (the ``stages/*.py`` of its ``cmd``: ``train_vg`` runs
    ``stages/train.py --section train_vg``); ``stages/<stage>.py`` where dvc.yaml does not say."""
    dvc_file = Path(root) / "dvc.yaml"
    spec = yaml.safe_load(dvc_file.read_text()) if dvc_file.is_file() else {}
    body = ((spec or {}).get("stages") or {}).get(stage.split("@")[0]) or {}
    found = _SCRIPT.search(str(body.get("do", body).get("cmd", "")))
    return found.group(0) if found else f"stages/{stage.split('@')[0]}.py"


def model_name(stage: str) -> str:
    """The model a stage of a second model works on: ``train_vg`` -> ``vg``; '' for the stages of the first."""
    base, _, model = stage.partition("_")
    return model if base in ("train", "strip", "evaluate", "generate") else ""


# --------------------------------------------------------------------------- outputs
_TEMPLATE = re.compile(r"\$\{([^}]+)\}")


def _lookup(params: dict, dotted: str) -> Any:
    value: Any = params
    for part in dotted.strip().split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def _fill(text: str, params: dict) -> str:
    return _TEMPLATE.sub(lambda m: str(_lookup(params, m.group(1))), text)


def _stage_entries(keys: tuple[str, ...], root: Path) -> Iterable[tuple[str, Path]]:
    """``(stage, absolute path)`` of every entry under ``keys`` of every stage of ``dvc.yaml`` (``foreach``
    stages included), ``${...}`` filled from ``params.yaml``; entries that cannot be filled are skipped."""
    root = Path(root)
    dvc_file = root / "dvc.yaml"
    if not dvc_file.is_file():
        return
    spec = yaml.safe_load(dvc_file.read_text()) or {}
    params_file = root / "params.yaml"
    params = yaml.safe_load(params_file.read_text()) if params_file.is_file() else {}
    for name, stage in (spec.get("stages") or {}).items():
        for item_name, item in _expand(name, stage, params):
            for key in keys:
                for entry in item.get(key) or []:
                    path = next(iter(entry)) if isinstance(entry, dict) else entry
                    try:
                        filled = _fill(str(path), {**params, "item": item.get("_item"), "key": item.get("_key")})
                    except KeyError:
                        continue
                    yield item_name, (root / filled).resolve()


def pipeline_outputs(root: Path = REPO_ROOT) -> dict[Path, str]:
    """``{absolute output path: stage}`` of every ``outs``/``metrics``/``plots`` entry of ``dvc.yaml``;
    {} where there is no dvc.yaml."""
    return {path: stage for stage, path in _stage_entries(("outs", "metrics", "plots"), root)}


def declared_deps(stage: str, root: Path = REPO_ROOT) -> list[Path]:
    """The absolute paths ``dvc.yaml`` lists as ``stage``'s deps."""
    return [path for name, path in _stage_entries(("deps",), root) if name == stage]


def check_reads(paths: Iterable[str], what: str = "reads", root: Path | None = None) -> None:
    """Under DVC, refuse a stage that reads a file its ``deps`` in dvc.yaml do not cover (DVC would not re-run
    it when that file changes): e.g. ``train.dataset: vg`` in the COCO model's stage. No-op for a run by hand.
    ``root``: the project DVC runs (default: the working directory, where DVC starts every stage)."""
    stage = os.environ.get("DVC_STAGE", "")
    if not by_dvc() or not stage:
        return
    root = Path.cwd() if root is None else Path(root)
    deps = declared_deps(stage, root)
    if not deps:
        return  # a stage of another dvc.yaml (or none): nothing to hold it to
    for rel in paths:
        path = (Path(root) / rel).resolve()
        if not any(path == dep or dep in path.parents for dep in deps):
            raise ParamsError(
                f"stage '{stage}' {what} {rel}, which dvc.yaml does not list in its deps: DVC would not re-run it "
                f"when that changes. The pipeline trains one model per dataset (train: COCO, train_vg: Visual "
                f"Genome); change the dataset of the stage that trains it, or add the path to the stage's deps.")


def _expand(name: str, stage: dict, params: dict) -> Iterable[tuple[str, dict]]:
    if "foreach" not in stage:
        yield name, stage
        return
    items = stage["foreach"]
    if isinstance(items, str):
        items = _lookup(params, items.strip("${} "))
    pairs = items.items() if isinstance(items, dict) else ((str(v), v) for v in items)
    for key, value in pairs:
        yield f"{name}@{key}", {**stage["do"], "_item": value, "_key": key}


def _overlap(path: Path, owned: dict[Path, str]) -> str | None:
    """The stage owning ``path`` (the path itself, a folder above it, or a file below it), else None."""
    path = path.resolve()
    for out, stage in owned.items():
        if path == out or out in path.parents or path in out.parents:
            return stage
    return None


@dataclass(frozen=True)
class Redirect:
    config: Any
    moved: dict[str, tuple[str, str]]  # setting -> (pipeline path, where it goes instead)


def redirect_hand_run(stage: str, config: Any, explicit: frozenset[str], root: Path = REPO_ROOT) -> Redirect:
    """For a run by hand (not DVC's): output settings that point at files of the pipeline are refused when
    given on the command line, and moved under the run's folder when they came from params.yaml: the run's
    home setting (``HOME``: e.g. train's output_dir) when given, else ``runs/<stage>/``."""
    if by_dvc():
        return Redirect(config, {})
    owned = pipeline_outputs(root)
    if not owned:
        return Redirect(config, {})
    infos = [i for i in flat_fields(type(config)) if i.meta.output]
    values = {i.name: _get(config, i.path) for i in infos}
    home_name = getattr(type(config), "HOME", None)
    for name in sorted(explicit & set(values)):
        value = values[name]
        owner = value and _overlap(Path(value), owned)
        if owner:
            raise ParamsError(f"--{name} {value}: that is an output of stage '{owner}' of dvc.yaml; a run by hand "
                              f"must not overwrite the pipeline's files (`dvc repro {owner}` runs the pipeline). "
                              f"Choose another path, e.g. --{name} {HAND_RUNS_DIR}/{stage}/{Path(value).name}.")
    base = Path(values[home_name]) if home_name in explicit and values.get(home_name) else Path(HAND_RUNS_DIR) / stage
    moved: dict[str, tuple[str, str]] = {}
    for name, value in values.items():
        if name in explicit or not value or not _overlap(Path(value), owned):
            continue
        if name == home_name:
            new = Path(HAND_RUNS_DIR) / stage / Path(value)
        elif home_name in explicit:
            new = base / Path(value).name
        else:
            new = base / Path(value)
        moved[name] = (str(value), str(new))
    if not moved:
        return Redirect(config, {})
    return Redirect(with_values(config, **{k: v for k, (_, v) in moved.items()}), moved)


def _get(config: Any, path: tuple[str, ...]) -> Any:
    value = config
    for part in path:
        value = getattr(value, part)
    return value


def describe(redirect: Redirect) -> list[str]:
    return [f"a run by hand does not write the pipeline's {old} ({name}): writing {new} instead"
            for name, (old, new) in redirect.moved.items()]


def settle_outputs(loaded: Any) -> Any:
    """A stage's config (a :class:`~sg2im.config.loader.Loaded`) with its outputs settled: as given under DVC;
    for a run by hand, moved off the pipeline's own files (:func:`redirect_hand_run`), saying where they go;
    and locked for this run (:mod:`sg2im.locks`: a second run writing them is refused); temp files that a
    killed run left among them are removed."""
    redirect = redirect_hand_run(loaded.section, loaded.config, loaded.explicit)
    for line in describe(redirect):
        print(f"note: {line}", flush=True)
    from sg2im.atomic import remove_stale_temps
    from sg2im.locks import hold

    outputs = [_get(redirect.config, info.path) for info in flat_fields(type(redirect.config)) if info.meta.output]
    hold(outputs)
    for output in filter(None, outputs):  # what a killed run of this stage left half-written
        path = Path(output)
        for stale in remove_stale_temps(path, recursive=True) if path.is_dir() else []:
            print(f"note: removed {stale}, left by a run that was killed mid-write", flush=True)
        for stale in remove_stale_temps(path.parent):
            print(f"note: removed {stale}, left by a run that was killed mid-write", flush=True)
    return redirect.config


def _is_code(dep: str) -> bool:
    return dep.startswith(("sg2im/", "stages/")) and (dep.endswith(".py") or "." not in Path(dep).name)


def dep_problems(dvc_yaml: Path | None = None, root: Path = REPO_ROOT) -> list[str]:
    """Where the code deps of dvc.yaml differ from what each stage imports: one line per stage and file."""
    spec = yaml.safe_load(Path(dvc_yaml or root / "dvc.yaml").read_text()) or {}
    problems = []
    for stage, body in (spec.get("stages") or {}).items():
        body = body.get("do", body)
        declared = [d for d in (body.get("deps") or []) if _is_code(str(d))]
        covered: set[str] = set()
        for dep in declared:
            path = root / dep
            if path.is_dir():
                covered |= {p.relative_to(root).as_posix() for p in path.rglob("*.py") if "__pycache__" not in p.parts}
            else:
                covered.add(dep)
        closure = set(import_closure(stage_script(stage, root), root))
        for missing in sorted(closure - covered):
            problems.append(f"stage '{stage}': imports {missing}, which dvc.yaml does not list in its deps "
                            "(an edit there would not re-run it)")
        for extra in sorted(covered - closure):
            problems.append(f"stage '{stage}': dvc.yaml lists {extra}, which the stage does not import (an edit "
                            "there would re-run it for nothing)")
    return problems


def fixed_dvc_yaml(text: str, root: Path = REPO_ROOT) -> str:
    """``dvc.yaml``'s text with every stage's code deps replaced by its import closure (data deps, comments and
    everything else kept as written)."""
    out, stage, in_deps = [], None, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if re.match(r"^  [A-Za-z_][\w-]*:\s*$", line):
            stage, in_deps = stripped[:-1], False
        elif stage and stripped == "deps:":
            out.append(line)
            out += [f"      - {dep}\n" for dep in compress(import_closure(stage_script(stage, root), root), root)]
            in_deps = True
            continue
        elif in_deps and not stripped.startswith("- "):
            in_deps = False
        if in_deps and _is_code(stripped[2:].strip()):
            continue
        out.append(line)
    return "".join(out)


def main(argv: list[str] | None = None) -> None:
    """``python -m sg2im.pipeline deps STAGE``: the code deps dvc.yaml must list for a stage;
    ``python -m sg2im.pipeline check``: where dvc.yaml and the stages' imports differ;
    ``python -m sg2im.pipeline fix``: rewrite dvc.yaml's code deps from the imports."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("what", choices=["deps", "check", "fix"])
    parser.add_argument("stage", nargs="?")
    args = parser.parse_args(argv)
    if args.what == "fix":
        path = REPO_ROOT / "dvc.yaml"
        path.write_text(fixed_dvc_yaml(path.read_text()))
        args.what = "check"
    if args.what == "check":
        problems = dep_problems()
        print("\n".join(problems) or "dvc.yaml lists exactly the code every stage imports")
        raise SystemExit(1 if problems else 0)
    for path in compress(import_closure(stage_script(args.stage))):
        print(f"      - {path}")


if __name__ == "__main__":
    main()
