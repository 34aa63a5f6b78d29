"""Experiments through real DVC, in a fresh copy of the project with the tiny configuration: one in the
workspace on top of an uncommitted code edit, and queued ones that DVC runs in a temporary copy; both are
listed by `dvc exp show`, compared with `dvc metrics diff` / `dvc params diff`, applied with `dvc exp apply`,
and land as runs in the project's MLflow store with their parameters, metrics, commit and dirty state. An
experiment on datasets of one's own (source local, COCO and VG formats). And official data fetched through
`dvc repro` is stored once and not fetched again.

Real DVC, real git, real MLflow (sqlite), a real local HTTP server: nothing is mocked. The tests of this
module run in order on one project.
"""
from __future__ import annotations

import json
import os
import time

import pytest
import yaml

from helpers_pipeline import (BIN, COCO_MODEL, STAGES, append_line, assert_clean, dvc, git, make_project,
                              mlflow_client, mlflow_runs, ran_stages, repro_project, run, train_json)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    return repro_project(tmp_path_factory, "experiments", commit_results=True)


def test_an_experiment_on_an_uncommitted_edit_records_the_dirty_tree(project):
    root = project["root"]
    head = git(root, "rev-parse", "HEAD").stdout.strip()
    append_line(root / "sg2im/metrics/report.py", "# an uncommitted edit\n")
    out = dvc(root, "exp", "run", "-n", "exp-lr", "-S", "train.learning_rate=0.004").stdout
    # the COCO model (its parameter changed) and both evaluations (the code they import changed)
    assert sorted(ran_stages(out)) == sorted(COCO_MODEL + ["evaluate_vg"])
    run_ = mlflow_client(root).get_run(train_json(root)["mlflow_run_id"])
    assert run_.data.tags["dvc.exp_name"] == "exp-lr" and run_.info.run_name == "exp-lr"
    assert run_.data.tags["mlflow.source.git.commit"] == head and run_.data.tags["git.dirty"] == "True"
    assert len(run_.data.tags["git.diff_sha256"]) == 64 and run_.data.params["learning_rate"] == "0.004"
    git(root, "checkout", "--", ".")
    dvc(root, "checkout", "--force")
    assert_clean(root)


def test_queued_experiments_are_shown_tracked_and_applied(project):
    root = project["root"]
    before = {r.info.run_id for r in mlflow_runs(root)}
    dvc(root, "exp", "run", "--queue", "-n", "exp-q1", "-S", "train.learning_rate=0.0007")
    dvc(root, "exp", "run", "--queue", "-n", "exp-q2", "-S", "train_vg.learning_rate=0.0007")  # the VG model
    dvc(root, "queue", "start", "-j", "2")  # two workers: the experiments run side by side
    deadline = time.time() + 480
    while True:
        status = dvc(root, "queue", "status").stdout
        if "exp-q2" in status and not any(s in status for s in ("Queued", "Running")):
            break
        assert time.time() < deadline, f"queued experiments did not finish:\n{status}"
        time.sleep(3)
    assert status.count("Success") >= 2, status + dvc(root, "queue", "logs", "exp-q1", check=False).stdout
    shown = json.loads(dvc(root, "exp", "show", "--json").stdout)
    exps = {rev.get("name"): rev["data"] for baseline in shown for exp in baseline.get("experiments") or []
            for rev in exp.get("revs", [])}
    assert {"exp-q1", "exp-q2"} <= set(exps)
    assert exps["exp-q1"]["params"]["params.yaml"]["data"]["train"]["learning_rate"] == 0.0007
    assert exps["exp-q2"]["params"]["params.yaml"]["data"]["train_vg"]["learning_rate"] == 0.0007
    new = {r.data.tags.get("dvc.exp_name"): r for r in mlflow_runs(root) if r.info.run_id not in before}
    assert {"exp-q1", "exp-q2"} <= set(new)
    for name, model in (("exp-q1", ""), ("exp-q2", "vg")):
        data, suffix = exps[name]["metrics"], f"_{model}" if model else ""
        train = data[f"metrics/train{suffix}.json"]["data"]
        headline = data[f"metrics/evaluate{suffix}.json"]["data"]["headline"]
        r = new[name]
        assert r.info.run_name == name + (f"-{model}" if model else "")  # the VG model's run: exp-q2-vg
        assert r.data.params["learning_rate"] == "0.0007" and train["mlflow_run_id"] == r.info.run_id
        assert r.data.tags["dataset"] == (model or "coco")
        assert r.data.metrics["test/R_at_0.5"] == pytest.approx(headline["R@0.5"])
        assert str(root) in r.info.artifact_uri  # in the project, not in DVC's deleted temporary copy
    # `dvc metrics diff` / `dvc params diff` between the two, and `dvc exp apply` of one
    assert "learning_rate" in dvc(root, "params", "diff", "exp-q1", "exp-q2").stdout
    dvc(root, "metrics", "diff", "exp-q1", "exp-q2")
    dvc(root, "exp", "apply", "exp-q1")
    assert yaml.safe_load((root / "params.yaml").read_text())["train"]["learning_rate"] == 0.0007
    assert train_json(root)["mlflow_run_id"] == new["exp-q1"].info.run_id
    assert dvc(root, "status").stdout.strip().endswith("Data and pipelines are up to date.")


def test_your_own_data_in_both_formats_through_an_experiment(project, tmp_path):
    """`dvc exp run -S download_coco.source=local -S download_coco.local_dir=...` (and the same for VG) trains,
    evaluates and generates both models on hand-made datasets with their own vocabularies."""
    from helpers_data import OWN_COCO_CATEGORIES, OWN_VG_NAMES, own_coco, own_vg

    root = project["root"]
    coco, vg = own_coco(tmp_path / "my_coco"), own_vg(tmp_path / "my_vg")
    out = dvc(root, "exp", "run", "-n", "own-data", "-S", "download_coco.source=local",
              "-S", f"download_coco.local_dir={coco}", "-S", "download_vg.source=local",
              "-S", f"download_vg.local_dir={vg}").stdout
    assert set(ran_stages(out)) == set(STAGES) - {"download_models"}
    from sg2im.checkpoint import read_checkpoint

    coco_vocab = read_checkpoint(root / "models/sg2im.pt")["model_kwargs"]["vocab"]
    assert {n for n in coco_vocab["object_idx_to_name"] if n not in ("NONE", "__image__")} == {
        name for _, name, _ in OWN_COCO_CATEGORIES}
    assert coco_vocab["object_name_to_idx"]["robot"] == 40  # categories keep their own ids
    vg_vocab = read_checkpoint(root / "models/vg/sg2im.pt")["model_kwargs"]["vocab"]
    assert set(vg_vocab["object_idx_to_name"]) - {"__image__"} == set(OWN_VG_NAMES)
    assert set(vg_vocab["pred_idx_to_name"]) == {"__in_image__", "on", "next to", "under"}
    for name in ("evaluate", "evaluate_vg"):
        assert json.loads((root / f"metrics/{name}.json").read_text())["protocol"]["num_images"] > 0
    assert "no graph of this figure is covered" in (root / "outputs/generate/figures/README.txt").read_text()
    card = (root / "data/coco/CARD.md").read_text()
    assert f"local ({coco})" in card and "| crate |" in card
    mine = tmp_path / "mine.json"  # a scene graph in the dataset's own vocabulary
    mine.write_text(json.dumps({"objects": ["robot", "crate", "lamp"], "relationships": [[0, "left of", 1]]}))
    run(root, os.path.join(BIN, "python"), "stages/generate.py", "--scene_graphs_json", str(mine), "--output_dir",
        str(tmp_path / "gen"), "--draw_scene_graphs", "0")
    assert (tmp_path / "gen" / "img000000.png").is_file()
    assert dvc(root, "status").stdout.strip().endswith("Data and pipelines are up to date.")


def test_official_data_is_stored_once_and_not_fetched_again(tmp_path):
    """source=official through `dvc repro` against a local server: the unpacked files and the DVC cache are one
    copy on disk (hard links), and a re-run after a change that does not touch the data makes no request."""
    from local_http_server import Behaviour, serve
    from helpers_official import coco_files, coco_urls

    root = make_project(tmp_path / "project", config=None)
    behaviour = Behaviour(files=coco_files(tmp_path))
    params_file = root / "params.yaml"
    with serve(behaviour) as base:
        params = yaml.safe_load(params_file.read_text())
        params["download_coco"].update(source="official", min_free_gb=0, **coco_urls(base))
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert ran_stages(dvc(root, "repro", "download_coco").stdout) == ["download_coco"]
        files = [p for p in (root / "data/coco").rglob("*") if p.is_file() and "downloads" not in p.parts
                 and p.name not in (".sg2im_source", ".gitignore", "CARD.md", "card.png", "validation.json")]
        assert {p.relative_to(root / "data/coco").as_posix() for p in files} >= {
            "annotations/instances_val2017.json", "annotations/stuff_train2017.json",
            "images/train2017/000000000009.jpg", "images/val2017/000000000139.jpg"}
        cache_inodes = {p.stat().st_ino for p in (root / ".dvc/cache").rglob("*") if p.is_file()}
        for p in files:
            assert p.stat().st_nlink >= 2 and p.stat().st_ino in cache_inodes, p
        assert not [p for p in (root / "data/coco/downloads").iterdir() if p.suffix == ".zip"]  # archives deleted
        requests = len(behaviour.requests)
        params["download_coco"]["retries"] = 7  # the stage re-runs (its parameters changed) ...
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        out = dvc(root, "repro", "download_coco").stdout
        assert ran_stages(out) == ["download_coco"]
        assert len(behaviour.requests) == requests  # ... and finds everything already there
        assert (root / "data/coco/images/val2017/000000000139.jpg").is_file()
        assert ran_stages(dvc(root, "repro", "download_coco").stdout) == []
