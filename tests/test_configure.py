"""`python -m sg2im.configure`: the paper's configurations, the tiny overlay and the way back to the embedded default."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sg2im.config.loader import load_stage
from sg2im.config.schema import flatten
from sg2im.config.stages import STAGE_CONFIGS, STAGES, stage_of
from sg2im.configure import MARKER, committed_embedded, main

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = REPO / "params.yaml"


def _load_every_stage(params_file: Path) -> dict:
    """Every section of ``params_file`` resolves (unknown keys or bad values would raise): each stage's and the
    second model's (``train_vg``, ...), by section."""
    sections = yaml.safe_load(params_file.read_text())
    return {section: flatten(load_stage(stage_of(section), STAGE_CONFIGS[stage_of(section)],
                                        ["--params", str(params_file), "--section", section]).config)
            for section in sections}


def _embedded_text() -> str:
    try:
        return committed_embedded()
    except Exception:  # noqa: BLE001
        pytest.skip("not a git checkout with params.yaml committed")


@pytest.mark.parametrize("name, trained, other", [("coco64", "coco", "vg"), ("vg64", "vg", "coco"),
                                                  ("vg128", "vg", "coco")])
def test_paper_configuration_and_back(tmp_path, name, trained, other):
    params = tmp_path / "params.yaml"
    params.write_text(_embedded_text())
    main([name, "--params", str(params)])
    text = params.read_text()
    assert text.startswith(MARKER + name) and "# paper: 1000000" in text  # comments survive the rewrite
    v = _load_every_stage(params)
    embedded = _load_every_stage(EMBEDDED)
    size = 128 if name == "vg128" else 64
    model = "" if trained == "coco" else "_vg"  # the COCO presets set the COCO model, the VG ones the VG model
    t = v[f"train{model}"]
    assert (t["dataset"], t["image_size"], t["batch_size"], t["num_iterations"]) == (trained, (size, size), 32, 1_000_000)
    assert (t["learning_rate"], t["embedding_dim"], t["gconv_hidden_dim"]) == (1e-4, 128, 512)
    assert t["refinement_network_dims"] == (1024, 512, 256, 128, 64)
    assert t["d_obj_arch"] == t["d_img_arch"] == "C4-64-2,C4-128-2,C4-256-2"
    assert t["mask_loss_weight"] == (0.1 if trained == "coco" else 0.0)
    assert t["box_activation"] == "relu" and t["bbox_pred_loss_weight"] == 10.0
    # The pipeline's wiring and this machine's settings are kept.
    assert (t["restore_from_checkpoint"], t["device"]) == (True, "auto")
    assert t["output_dir"] == embedded[f"train{model}"]["output_dir"]
    assert v[f"generate{model}"]["checkpoint"] == embedded[f"generate{model}"]["checkpoint"]
    assert v[f"generate{model}"]["figures"] == "scene_graphs"
    # The other model is left as it is.
    for stage in ("train", "strip", "evaluate", "generate"):
        untouched = f"{stage}_vg" if trained == "coco" else stage
        assert v[untouched] == embedded[untouched], untouched
    assert v[f"download_{trained}"]["source"] == "official"
    # The other dataset stays the embedded synthetic one (no download, no paper thresholds on toy data).
    assert v[f"download_{other}"] == embedded[f"download_{other}"]
    if trained == "vg":
        assert v["preprocess_vg"]["splits_json"] == "sg2im/data/vg_splits.json"
        assert v["preprocess_vg"]["min_object_instances"] == 2000
    else:
        assert v["preprocess_vg"] == embedded["preprocess_vg"]
    main(["embedded", "--params", str(params)])
    assert params.read_text() == _embedded_text()


def test_tiny_overlay_changes_only_its_keys(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(EMBEDDED.read_text())
    result = subprocess.run([sys.executable, "-m", "sg2im.configure", "tiny", "--params", str(params)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())["set"]
    after, before = yaml.safe_load(params.read_text()), yaml.safe_load(EMBEDDED.read_text())
    assert set(after) == set(before) and set(STAGES) <= set(after)
    for section in after:
        for key, value in after[section].items():
            assert value == tiny.get(section, {}).get(key, before[section][key]), f"{section}.{key}"
    loaded = _load_every_stage(params)
    assert loaded["train"]["num_iterations"] == loaded["train_vg"]["num_iterations"] == 4
    assert oct(params.stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def test_committed_params_yaml_is_the_embedded_default():
    """No preset marker in the committed params.yaml: `configure embedded` restores exactly it."""
    head = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=REPO, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout with params.yaml committed")
    assert not head.stdout.startswith(MARKER)
    assert committed_embedded() == head.stdout


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
