"""The one parameter mechanism: params.yaml section < command-line flags, errors, --help."""
import subprocess
import sys
from pathlib import Path

import pytest

from sg2im.params import Param, ParamsError, bool_flag, int_tuple, load_params, optional, str_tuple

PARAMS = [
    Param("batch_size", 32, "Images per minibatch.", type=int, paper=32),
    Param("image_size", (64, 64), "Output size H,W.", type=int_tuple),
    Param("learning_rate", 1e-4, "Adam learning rate.", type=float),
    Param("timing", False, "Print per-component times.", type=bool_flag),
    Param("dataset", "coco", "Dataset.", choices=("coco", "vg")),
    Param("d_clip", None, "Clip value.", type=optional(float)),
    Param("instance_whitelist", None, "Names.", type=str_tuple),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_yaml_values_then_flags_override(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  batch_size: 8\n  image_size: [32, 32]\n  timing: 1\n")))
    args = load_params("train", PARAMS, [])
    assert (args.batch_size, args.image_size, args.timing, args.learning_rate) == (8, (32, 32), True, 1e-4)
    args = load_params("train", PARAMS, ["--batch_size", "4", "--image_size", "16,16", "--dataset", "vg"])
    assert (args.batch_size, args.image_size, args.dataset) == (4, (16, 16), "vg")


def test_defaults_when_section_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "other:\n  x: 1\n")))
    args = load_params("train", PARAMS, [])
    assert args.batch_size == 32 and args.d_clip is None and args.instance_whitelist is None


def test_unknown_key_names_file_and_suggests(tmp_path, monkeypatch):
    path = write(tmp_path, "train:\n  batch_sise: 8\n")
    monkeypatch.setenv("SG2IM_PARAMS", str(path))
    with pytest.raises(ParamsError, match=r"params.yaml.*'batch_sise'.*did you mean 'batch_size'"):
        load_params("train", PARAMS, [])


def test_bad_values_name_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  batch_size: many\n")))
    with pytest.raises(ParamsError, match=r"\[train.batch_size\]"):
        load_params("train", PARAMS, [])
    monkeypatch.setenv("SG2IM_PARAMS", str(write(tmp_path, "train:\n  dataset: imagenet\n")))
    with pytest.raises(ParamsError, match="must be one of"):
        load_params("train", PARAMS, [])
    with pytest.raises(ParamsError, match="--timing"):
        load_params("train", PARAMS, ["--timing", "maybe"])


def test_parsers():
    assert bool_flag("1") is True and bool_flag(0) is False and bool_flag("false") is False
    with pytest.raises(ValueError):
        bool_flag("2")
    assert int_tuple("1024,512,256") == (1024, 512, 256) and int_tuple([3]) == (3,)
    assert str_tuple("cat, dog") == ("cat", "dog") and str_tuple("") is None
    assert optional(float)("none") is None and optional(float)("0.5") == 0.5


def test_every_stage_help_lists_its_params_with_values():
    """`python stages/<stage>.py --help` works for every stage and shows params.yaml values."""
    root = Path(__file__).resolve().parent.parent
    stages = sorted(p for p in (root / "stages").glob("*.py"))
    assert stages, "no stage scripts"
    for script in stages:
        out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=root, timeout=120)
        assert out.returncode == 0, f"{script.name} --help failed: {out.stderr[-2000:]}"
        assert "params.yaml" in out.stdout and "original:" in out.stdout, script.name
