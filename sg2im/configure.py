"""Switch params.yaml between the embedded default and the paper's configurations.

    python -m sg2im.configure coco64     # COCO-Stuff 64x64, official data, the paper's settings
    python -m sg2im.configure vg64       # Visual Genome 64x64, official data, the paper's settings
    python -m sg2im.configure vg128      # Visual Genome 128x128, official data, the paper's settings
    python -m sg2im.configure embedded   # back to the embedded synthetic default (configs/embedded.yaml)
    python -m sg2im.configure tiny       # overlay configs/tiny.yaml (seconds-long runs, for tests)

The paper configurations are *generated* from the stage declarations (every ``Param``'s
original default, i.e. the original scripts' defaults: batch 32, 1,000,000 iterations, ...), so
they cannot drift from the code. Paths of the original (``datasets/...``) map to ``data/...``.
Only the stages of the dataset that is trained on get the paper's values and official data; the
other dataset keeps its embedded synthetic sections (the DAG needs both; it takes seconds and no
download). Keys that describe this machine or the pipeline's wiring (``KEEP_LOCAL``) are not
touched. Comments in params.yaml are kept (ruamel round trip); the file is written atomically.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from sg2im.atomic import atomic_write_text
from sg2im.params import REPO_ROOT, Param

STAGES = ("download_coco", "download_vg", "preprocess_vg", "train", "strip", "evaluate", "generate")

MODEL_STAGES = ("train", "strip", "evaluate", "generate")
# The stages each paper configuration sets to the original defaults, and what it sets beyond them.
PAPER_STAGES: dict[str, tuple[str, ...]] = {
    "coco64": ("download_coco", *MODEL_STAGES),
    "vg64": ("download_vg", "preprocess_vg", *MODEL_STAGES),
    "vg128": ("download_vg", "preprocess_vg", *MODEL_STAGES),
}
PAPER_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "coco64": {
        "download_coco": {"source": "official"},
        "train": {"dataset": "coco", "image_size": "64,64", "mask_loss_weight": 0.1},
    },
    "vg64": {
        "download_vg": {"source": "official"},
        "train": {"dataset": "vg", "image_size": "64,64", "mask_loss_weight": 0.0},  # VG has no masks
    },
    "vg128": {
        "download_vg": {"source": "official"},
        "train": {"dataset": "vg", "image_size": "128,128", "mask_loss_weight": 0.0},
    },
}
# Keys that describe this machine or this repository rather than the paper's settings.
KEEP_LOCAL = {"device", "output_dir", "checkpoint_name", "checkpoint", "scene_graphs_json",
              "cache_dir", "figures", "inception_weights", "inception_sha256", "nproc",
              "restore_from_checkpoint", "classifier_cache", "input_checkpoint", "output_checkpoint"}
CONFIGS_DIR = REPO_ROOT / "configs"


def stage_params(stage: str) -> list[Param]:
    """The ``PARAMS`` declared by ``stages/<stage>.py`` (empty if the stage has none yet)."""
    path = REPO_ROOT / "stages" / f"{stage}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"_sg2im_stage_{stage}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return list(getattr(module, "PARAMS", []))


def _plain(value: Any) -> Any:
    """A default in params.yaml's own style: tuples as ``64,64``, booleans as the original 1/0,
    original paths (``datasets/...``) under ``data/``."""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.startswith("datasets/"):
        return "data/" + value[len("datasets/"):]
    return value


def embedded_values() -> dict[str, dict[str, Any]]:
    """The embedded synthetic default (``configs/embedded.yaml``), section by section."""
    return YAML(typ="safe").load((CONFIGS_DIR / "embedded.yaml").read_text())


def paper_values(name: str) -> dict[str, dict[str, Any]]:
    """The trained dataset's and the model's stages at the original defaults plus the configuration's
    overrides; the other dataset's stages at the embedded default."""
    overrides = PAPER_OVERRIDES[name]
    embedded = embedded_values()
    values: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        if stage not in PAPER_STAGES[name]:
            values[stage] = {k: v for k, v in (embedded.get(stage) or {}).items() if k not in KEEP_LOCAL}
            continue
        section = {}
        for p in stage_params(stage):
            if p.name in KEEP_LOCAL:
                continue
            section[p.name] = _plain(p.paper if p.paper is not None else p.default)
        section.update(overrides.get(stage, {}))
        values[stage] = section
    return values


def apply(values: dict[str, dict[str, Any]], params_file: Path) -> list[str]:
    """Set ``values`` in ``params_file`` (keeping comments); return the ``stage.key`` changed."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    data = yaml.load(params_file.read_text())
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
    atomic_write_text(params_file, text.getvalue())
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", choices=sorted([*PAPER_OVERRIDES, "embedded", "tiny"]))
    parser.add_argument("--params", default=str(REPO_ROOT / "params.yaml"), help="The params file to rewrite.")
    args = parser.parse_args(argv)
    params_file = Path(args.params)
    if args.config == "embedded":
        atomic_write_text(params_file, (CONFIGS_DIR / "embedded.yaml").read_text())
        print(f"{params_file}: restored the embedded synthetic default from configs/embedded.yaml")
        return
    if args.config == "tiny":
        values = YAML(typ="safe").load((CONFIGS_DIR / "tiny.yaml").read_text())
    else:
        values = paper_values(args.config)
    changed = apply(values, params_file)
    print(f"{params_file}: configuration '{args.config}' set ({len(changed)} values changed).")
    if args.config in PAPER_OVERRIDES:
        print("Official data is tens of GB (see README, 'Official data'); run `dvc repro` to start.")


if __name__ == "__main__":
    main()
