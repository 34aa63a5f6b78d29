"""Switch params.yaml between the embedded default and the paper's configurations.

    python -m sg2im.configure coco64     # the COCO model: COCO-Stuff 64x64, official data, the paper's settings
    python -m sg2im.configure vg64       # the VG model: Visual Genome 64x64, official data, the paper's settings
    python -m sg2im.configure vg128      # the VG model: Visual Genome 128x128, official data, the paper's settings
    python -m sg2im.configure tiny       # overlay configs/tiny.yaml (seconds-long runs, for tests)
    python -m sg2im.configure embedded   # back to the embedded synthetic default

A preset is a small YAML file of overrides, ``configs/<name>.yaml``: ``reset`` lists the sections that take
the declared original values (every setting's default in ``sg2im/config``, the paper's where declared),
``set`` the values on top. The COCO presets set the COCO model's sections (train, ...), the VG ones the VG
model's (train_vg, ...), so ``coco64`` then ``vg64`` configures both of the paper's models. Settings that describe this machine or the pipeline's wiring (declared
``local``) are left as they are. The embedded default lives in params.yaml alone: ``embedded`` restores
the newest committed params.yaml that no preset wrote (presets mark the file's first line). Comments in
params.yaml are kept (ruamel round trip); the file is written atomically.
"""
from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from sg2im.atomic import atomic_write_text
from sg2im.config.schema import flat_fields, plain
from sg2im.config.stages import STAGE_CONFIGS, stage_of
from sg2im.errors import ParamsError
from sg2im.pipeline import REPO_ROOT

CONFIGS_DIR = REPO_ROOT / "configs"
MARKER = "# sg2im preset: "


def presets() -> list[str]:
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))


def original_section(section: str) -> dict[str, Any]:
    """A section's settings (``train`` or a second model's ``train_vg``) at their declared original (or paper)
    values, local ones left out."""
    return {i.name: plain(i.paper_value) for i in flat_fields(STAGE_CONFIGS[stage_of(section)]) if not i.meta.local}


def preset_values(name: str) -> dict[str, dict[str, Any]]:
    """``{stage: {key: value}}`` that preset ``name`` sets."""
    path = CONFIGS_DIR / f"{name}.yaml"
    spec = YAML(typ="safe").load(path.read_text()) or {}
    unknown = set(spec) - {"reset", "set"}
    if unknown:
        raise ParamsError(f"{path}: unknown keys {sorted(unknown)}; a preset has 'reset' and 'set'")
    values: dict[str, dict[str, Any]] = {stage: original_section(stage) for stage in spec.get("reset") or []}
    for stage, section in (spec.get("set") or {}).items():
        values.setdefault(stage, {}).update(section)
    return values


def apply(values: dict[str, dict[str, Any]], params_file: Path, preset: str) -> list[str]:
    """Set ``values`` in ``params_file`` (keeping comments, marking the preset); return the keys changed."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    lines = params_file.read_text().splitlines(keepends=True)
    data = yaml.load("".join(line for line in lines if not line.startswith(MARKER)))
    changed = []
    for stage, section in values.items():
        if data.get(stage) is None:
            data[stage] = {}
        for key, value in section.items():
            if data[stage].get(key) != value:
                data[stage][key] = value
                changed.append(f"{stage}.{key}")
    text = io.StringIO()
    yaml.dump(data, text)
    atomic_write_text(params_file, f"{MARKER}{preset} (python -m sg2im.configure embedded goes back)\n"
                      + text.getvalue())
    return changed


def committed_embedded(root: Path = REPO_ROOT) -> str:
    """The newest committed params.yaml that no preset wrote."""
    try:
        revs = subprocess.run(["git", "log", "--format=%H", "--", "params.yaml"], cwd=root, capture_output=True,
                              text=True, timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        revs = []
    for rev in revs:
        shown = subprocess.run(["git", "show", f"{rev}:params.yaml"], cwd=root, capture_output=True, text=True)
        if shown.returncode == 0 and not shown.stdout.startswith(MARKER):
            return shown.stdout
    raise ParamsError(f"{root}: no committed params.yaml without a preset in the git history; restore the embedded "
                      "default with `git checkout <commit> -- params.yaml`.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", choices=[*presets(), "embedded"])
    parser.add_argument("--params", default=str(REPO_ROOT / "params.yaml"), help="The params file to rewrite.")
    args = parser.parse_args(argv)
    params_file = Path(args.params)
    if args.config == "embedded":
        atomic_write_text(params_file, committed_embedded())
        print(f"{params_file}: restored the embedded synthetic default (the committed params.yaml)")
        return
    changed = apply(preset_values(args.config), params_file, args.config)
    print(f"{params_file}: configuration '{args.config}' set ({len(changed)} values changed).")
    if args.config != "tiny":
        print("Official data is tens of GB (see README, 'Official data'); run `dvc repro` to start.")


if __name__ == "__main__":
    main()
