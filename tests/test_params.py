"""Settings: declared once (sg2im/config), read from a params.yaml section < command-line flags; errors; --help."""
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sg2im.config.loader import load_stage
from sg2im.config.schema import group, parse_value, setting
from sg2im.errors import ParamsError

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Opt:
    learning_rate: float = setting(1e-4, "Adam learning rate.")
    timing: bool = setting(False, "Print per-component times.")


@dataclass(frozen=True)
class Cfg:
    batch_size: int = setting(32, "Images per minibatch.", paper=32)
    image_size: tuple[int, ...] = setting((64, 64), "Output size H,W.")
    dataset: str = setting("coco", "Dataset.", choices=("coco", "vg"))
    d_clip: float | None = setting(None, "Clip value.")
    instance_whitelist: tuple[str, ...] | None = setting(None, "Names.")
    optim: Opt = group(Opt)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_yaml_values_then_flags_override(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  batch_size: 8\n  image_size: [32, 32]\n  timing: 1\n")))
    run = load_stage("train", Cfg, [])
    c = run.config
    assert (c.batch_size, c.image_size, c.optim.timing, c.optim.learning_rate) == (8, (32, 32), True, 1e-4)
    assert run.explicit == frozenset()
    run = load_stage("train", Cfg, ["--batch_size", "4", "--image_size", "16,16", "--dataset", "vg"])
    assert (run.config.batch_size, run.config.image_size, run.config.dataset) == (4, (16, 16), "vg")
    assert run.explicit == {"batch_size", "image_size", "dataset"}


def test_defaults_when_section_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "other:\n  x: 1\n")))
    c = load_stage("train", Cfg, []).config
    assert c.batch_size == 32 and c.d_clip is None and c.instance_whitelist is None


def test_unknown_key_names_file_and_suggests(tmp_path, monkeypatch):
    path = write(tmp_path, "train:\n  batch_sise: 8\n")
    monkeypatch.setenv("SG2IM_PARAMS", str(path))
    with pytest.raises(ParamsError, match=r"params.yaml.*'batch_sise'.*did you mean 'batch_size'"):
        load_stage("train", Cfg, [])


def test_bad_values_name_the_key_value_and_type(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  batch_size: many\n")))
    with pytest.raises(ParamsError, match=r"\[train.batch_size\]: 'many' is not a valid value.*expected integer"):
        load_stage("train", Cfg, [])
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  batch_size: 2.5\n")))
    with pytest.raises(ParamsError, match=r"batch_size.*expected integer"):
        load_stage("train", Cfg, [])
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  dataset: imagenet\n")))
    with pytest.raises(ParamsError, match="must be one of"):
        load_stage("train", Cfg, [])
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  dataset: vg\n")))
    with pytest.raises(ParamsError, match="--timing"):
        load_stage("train", Cfg, ["--timing", "maybe"])


def test_parsers():
    assert parse_value("1", bool) is True and parse_value(0, bool) is False and parse_value("false", bool) is False
    with pytest.raises(ValueError):
        parse_value("2", bool)
    with pytest.raises(ValueError):
        parse_value(True, int)
    assert parse_value("1024,512,256", tuple[int, ...]) == (1024, 512, 256) and parse_value([3], tuple[int, ...]) == (3,)
    assert parse_value("cat, dog", tuple[str, ...] | None) == ("cat", "dog")
    assert parse_value("", tuple[str, ...] | None) is None
    assert parse_value("none", float | None) is None and parse_value("0.5", float | None) == 0.5


def test_every_stage_help_lists_its_params_with_values():
    """`python stages/<stage>.py --help` works for every stage and shows, per setting, the value in effect
    (params.yaml), the original's value and the paper's where it differs."""
    stages = sorted(p for p in (REPO / "stages").glob("*.py"))
    assert stages, "no stage scripts"
    import re

    params = yaml.safe_load((REPO / "params.yaml").read_text())

    def shown(value) -> str:
        if value is None:
            return "null"
        return ",".join(map(str, value)) if isinstance(value, list) else str(value).lower() if isinstance(
            value, bool) else str(value)

    for script in stages:
        out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert out.returncode == 0, f"{script.name} --help failed: {out.stderr[-2000:]}"
        assert "params.yaml" in out.stdout and "original:" in out.stdout, script.name
        flat = re.sub(r"\s+", " ", out.stdout)
        section = params[script.stem]
        assert section, script.name
        for key, value in section.items():  # every setting of the section, with the value params.yaml gives it
            block = re.search(rf" --{key} {key.upper()} (.*?)(?= --\w+ [A-Z_]+ |$)", flat)
            assert block, f"{script.name} --help does not list --{key}"
            assert f"[params.yaml: {shown(value)};" in block.group(1), (script.name, key, block.group(1))
    train = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"), "--help"], capture_output=True,
                           text=True, cwd=REPO, timeout=120).stdout.replace("\n", " ")
    flat = re.sub(r"\s+", " ", train)
    assert "Mask BCE weight (0: masks weakly supervised). [params.yaml: 0.1; original: 0.0; paper: 0.1]" in flat
    lr = yaml.safe_load((REPO / "params.yaml").read_text())["train"]["learning_rate"]
    assert f"Adam learning rate of G, D_obj and D_img. [params.yaml: {lr}; original: 0.0001]" in flat
    assert "[params.yaml: 64,32,16; original: 1024,512,256,128,64]" in flat
