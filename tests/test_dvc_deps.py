"""dvc.yaml's code deps are exactly what each stage imports (so `dvc repro` re-runs exactly what an edit
affects), and the import closure that decides it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sg2im.pipeline import dep_problems, import_closure

REPO = Path(__file__).resolve().parent.parent


def test_dvc_yaml_lists_exactly_the_code_each_stage_imports():
    problems = dep_problems()
    assert not problems, "dvc.yaml and the stages' imports differ (python -m sg2im.pipeline deps <stage> prints " \
                         "the list):\n" + "\n".join(problems)


def test_a_dropped_dependency_is_caught_with_stage_and_file(tmp_path):
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())
    spec["stages"]["evaluate"]["deps"].remove("sg2im/metrics")
    spec["stages"]["strip"]["deps"].append("sg2im/vis/sheet.py")
    edited = tmp_path / "dvc.yaml"
    edited.write_text(yaml.safe_dump(spec))
    problems = dep_problems(edited)
    assert "stage 'evaluate': imports sg2im/metrics/report.py, which dvc.yaml does not list in its deps " \
           "(an edit there would not re-run it)" in problems
    assert any(p.startswith("stage 'strip': dvc.yaml lists sg2im/vis/sheet.py, which the stage does not import")
               for p in problems)


def test_the_closure_follows_imports_inside_functions_and_relative_ones(tmp_path):
    (tmp_path / "sg2im" / "sub").mkdir(parents=True)
    (tmp_path / "stages").mkdir()
    (tmp_path / "sg2im" / "__init__.py").write_text("")
    (tmp_path / "sg2im" / "sub" / "__init__.py").write_text("")
    (tmp_path / "sg2im" / "sub" / "a.py").write_text("from .b import x\n")
    (tmp_path / "sg2im" / "sub" / "b.py").write_text("x = 1\n")
    (tmp_path / "sg2im" / "lazy.py").write_text("def f():\n    import sg2im.sub.a\n")
    (tmp_path / "sg2im" / "unused.py").write_text("")
    (tmp_path / "stages" / "s.py").write_text("import os\nfrom sg2im import lazy\n")
    assert import_closure("stages/s.py", tmp_path) == [
        "sg2im/__init__.py", "sg2im/lazy.py", "sg2im/sub/__init__.py", "sg2im/sub/a.py", "sg2im/sub/b.py",
        "stages/s.py"]


def test_each_model_depends_on_its_own_dataset_only():
    """The COCO model's stages never re-run for a Visual Genome change, nor the VG model's for a COCO one."""
    from sg2im.pipeline import declared_deps

    coco, vg = (REPO / "data/coco").resolve(), (REPO / "data/vg").resolve()
    for stage, own, other in (("train", coco, vg), ("evaluate", coco, vg), ("train_vg", vg, coco),
                              ("evaluate_vg", vg, coco)):
        data = [d for d in declared_deps(stage) if not d.is_relative_to(REPO / "sg2im")
                and not d.is_relative_to(REPO / "stages") and d.name != "sg2im.pt"]
        assert data and all(d.is_relative_to(own) for d in data), (stage, data)
        assert not any(d.is_relative_to(other) for d in data), (stage, data)


def test_a_stage_reading_data_outside_its_deps_is_refused_under_dvc(monkeypatch):
    monkeypatch.chdir(REPO)  # DVC runs every stage in the project's root
    from sg2im.config.data import DataConfig
    from sg2im.errors import ParamsError
    from sg2im.pipeline import check_reads

    vg, coco = DataConfig(dataset="vg"), DataConfig(dataset="coco")
    check_reads(vg.input_files())  # a run by hand: no dvc.yaml stage to hold it to
    monkeypatch.setenv("DVC_STAGE", "train")
    check_reads(coco.input_files())  # the COCO model's stage reading COCO data
    with pytest.raises(ParamsError, match=r"stage 'train' reads data/vg/train\.h5, which dvc\.yaml does not list"):
        check_reads(vg.input_files())
    monkeypatch.setenv("DVC_STAGE", "evaluate_vg")
    check_reads(vg.files_for(("test", "train")))
    with pytest.raises(ParamsError, match=r"stage 'evaluate_vg' reads data/coco/annotations/instances_val2017"):
        check_reads(coco.files_for(("test", "train")))
