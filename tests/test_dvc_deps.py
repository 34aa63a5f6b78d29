"""dvc.yaml's code deps are exactly what each stage imports (so `dvc repro` re-runs exactly what an edit
affects), and the import closure that decides it."""
from __future__ import annotations

from pathlib import Path

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
