"""tools/mutation.py (`make mutation`): the per-group mutmut configuration and the score arithmetic."""
from __future__ import annotations

import importlib.util
import math
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("mutation_tool", REPO / "tools" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_group_mutates_its_modules_against_its_own_in_process_tests(tmp_path, monkeypatch):
    tool = _tool()
    monkeypatch.setattr(tool, "OUT", tmp_path)
    work = tool.prepare("layout")
    config = tomllib.loads((work / "pyproject.toml").read_text())
    assert config["tool"]["mutmut"]["only_mutate"] == ["sg2im/model/layout.py"]
    assert config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"] == ["tests/test_model_layout.py"]
    assert config["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]  # the project's pytest settings
    assert (work / "sg2im" / "model" / "layout.py").read_text() == (REPO / "sg2im/model/layout.py").read_text()
    for group, (modules, tests) in tool.GROUPS.items():
        files = [p for m in modules for p in REPO.glob(m)]
        assert files, group
        packages = {p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                    for p in files}
        for test in tests:  # each test file imports what its group mutates (in-process: mutants are seen)
            text = (REPO / test).read_text()
            assert any(f"from {m} import" in text or f"import {m}" in text or f"from {m.rsplit('.', 1)[0]} import "
                       f"{m.rsplit('.', 1)[1]}" in text for m in packages), (group, test)


def test_score_counts_timeouts_as_killed_and_untested_as_survivors():
    tool = _tool()
    status = {"sg2im.a.x_f__mutmut_1": "killed", "sg2im.a.x_f__mutmut_2": "timeout",
              "sg2im.a.x_f__mutmut_3": "survived", "sg2im.a.x_f__mutmut_4": "no tests",
              "sg2im.a.x_f__mutmut_5": "skipped"}
    s = tool.summarise({"group": "g", "finished": True, "seconds": 1.0, "status": status, "exit_code": 0},
                       {"sg2im.a.x_f__mutmut_3": "equivalent: reason"})
    assert (s["mutants"], s["tested"], s["killed"]) == (5, 4, 2)
    assert s["score"] == 0.5 and s["score_without_equivalent"] == round(2 / 3, 4)
    assert s["equivalent"] == ["sg2im.a.x_f__mutmut_3"] and s["unexplained_survivors"] == ["sg2im.a.x_f__mutmut_4"]
    empty = tool.summarise({"group": "g", "finished": False, "seconds": 0.0, "status": {}, "exit_code": 1}, {})
    assert math.isnan(empty["score"])


def test_every_listed_equivalent_mutant_names_a_reason():
    listed = tomllib.loads((REPO / "tools" / "mutation_equivalent.toml").read_text())["equivalent"]
    assert listed and all(name.startswith("sg2im.") and "__mutmut_" in name for name in listed)
    assert all(len(reason) > 20 for reason in listed.values())
