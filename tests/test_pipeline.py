"""The researcher's loop through real DVC, in a fresh copy of the project with the tiny configuration:
`dvc repro` runs every stage once and a second one nothing; an edit re-runs exactly the stages whose code
changed (a model file: train from iteration 0 and what follows; a file only evaluate imports: evaluate; a
file no stage imports: nothing); runs by hand never touch the pipeline; a killed `dvc repro` resumes;
experiments (in the workspace on top of an uncommitted edit, and queued ones that DVC runs in a temporary
copy) are listed by `dvc exp show`, applied with `dvc exp apply`, and land as runs in the project's MLflow
store with their parameters, metrics, commit and dirty state.

The tests of this module run in order on one project (each builds on the state the previous one left).
Real DVC, real git, real MLflow (sqlite), real subprocesses: nothing is mocked.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers_pipeline import BIN, dvc, git, make_project, project_env, ran_stages, run

COCO_MODEL = ["train", "strip", "evaluate", "generate"]
VG_MODEL = ["train_vg", "strip_vg", "evaluate_vg", "generate_vg"]
STAGES = ["download_coco", "download_vg", "preprocess_vg", *COCO_MODEL, *VG_MODEL]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    root = make_project(tmp_path_factory.mktemp("pipeline") / "sg2im")
    first = dvc(root, "repro")
    return {"root": root, "first": first.stdout}


def _client(root: Path):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{root}/mlflow.db")


def _mlflow_runs(root: Path) -> list:
    client = _client(root)
    experiment = client.get_experiment_by_name("sg2im")
    assert experiment is not None, "no 'sg2im' experiment in the project's mlflow.db"
    return client.search_runs([experiment.experiment_id])


def _train_json(root: Path) -> dict:
    return json.loads((root / "metrics/train.json").read_text())


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line)


def _commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def _clean(root: Path) -> None:
    assert dvc(root, "status").stdout.strip().endswith("Data and pipelines are up to date."), dvc(root, "status").stdout
    assert git(root, "status", "--porcelain").stdout == ""


def test_repro_runs_every_stage_once_with_its_outputs(project):
    root = project["root"]
    assert sorted(ran_stages(project["first"])) == sorted(STAGES)
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    assert sorted(lock["stages"]) == sorted(STAGES)
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["num_iterations"] == 4
    assert lock["stages"]["train"]["cmd"] == "python stages/train.py"
    assert lock["stages"]["train_vg"]["cmd"] == "python stages/train.py --section train_vg"
    for path in ("data/coco/annotations/instances_train2017.json", "data/vg/train.h5", "data/vg/vocab.json",
                 "models/checkpoint_with_model.pt", "models/checkpoint_no_model.pt", "models/sg2im.pt",
                 "models/crop_classifier.pt", "plots/train_losses.csv", "plots/train_losses.png",
                 "plots/train_samples.png", "outputs/generate/figures/figure_5_coco.png",
                 "outputs/generate/figures/README.txt", "models/vg/checkpoint_with_model.pt", "models/vg/sg2im.pt",
                 "models/vg/crop_classifier.pt", "metrics/train_vg.json", "metrics/evaluate_vg.json",
                 "plots/vg/train_samples.png", "outputs/generate_vg/figures/figure_5_vg.png",
                 "outputs/generate_vg/figures/figure_6_sheep.png", "outputs/generate_vg/figures/figure_6_street.png"):
        assert (root / path).is_file(), path
    assert len(list((root / "data/coco/images/train2017").glob("*.jpg"))) == 48
    # Cached outputs share their inode with the DVC cache (cache.type hardlink): no second copy on disk.
    image = next((root / "data/coco/images/val2017").glob("*.jpg"))
    assert image.stat().st_nlink >= 2
    # Generated data and models are ignored by git (DVC wrote the .gitignore files); metrics and plots are not.
    status = git(root, "status", "--porcelain", "--untracked-files=all").stdout
    assert "data/coco/images" not in status and "models/sg2im.pt" not in status
    assert "metrics/train.json" in status and "plots/train_losses.csv" in status
    _commit(root, "pipeline results")


def test_metrics_show_and_mlflow_run(project):
    root = project["root"]
    shown = json.loads(dvc(root, "metrics", "show", "--json").stdout)
    metrics = next(iter(shown.values()))["data"]
    train = metrics["metrics/train.json"]["data"]
    evaluate = metrics["metrics/evaluate.json"]["data"]
    assert train["iterations"] == 4 and 0.0 <= train["val_avg_iou"] <= 1.0
    assert set(train["identity"]) == {"params", "code", "data"}
    assert "R@0.5" in evaluate["headline"] and evaluate["protocol"]["split"] == "test"
    # `dvc plots show` (offline form): the declared loss plots hold every logged iteration.
    plots = json.loads(dvc(root, "plots", "show", "--json").stdout)["data"]
    assert {"Generator losses (weighted)", "Discriminator losses", "plots/train_losses.png"} <= set(plots)
    values = plots["Generator losses (weighted)"][0]["content"]["data"]["values"]
    assert sorted({int(row["t"]) for row in values if row.get("total_loss")}) == [1, 2, 3, 4]
    vg = metrics["metrics/train_vg.json"]["data"]
    assert vg["iterations"] == 4 and "R@0.5" in metrics["metrics/evaluate_vg.json"]["data"]["headline"]
    runs = {r.info.run_id: r for r in _mlflow_runs(root)}
    assert set(runs) == {train["mlflow_run_id"], vg["mlflow_run_id"]}  # one run per model
    assert runs[vg["mlflow_run_id"]].data.tags["dataset"] == "vg"
    assert runs[vg["mlflow_run_id"]].data.tags["dvc.stage"] == "train_vg"
    run_ = runs[train["mlflow_run_id"]]
    # The training run holds its generator-only checkpoint (logged by train) and strip's models/sg2im.pt;
    # evaluate attached its metrics file.
    client = _client(root)
    assert sorted(a.path for a in client.list_artifacts(run_.info.run_id, "checkpoints")) == [
        "checkpoints/checkpoint_stripped.pt", "checkpoints/sg2im.pt"]
    assert "evaluate/evaluate.json" in [a.path for a in client.list_artifacts(run_.info.run_id, "evaluate")]
    assert run_.info.status == "FINISHED"
    assert run_.data.params["num_iterations"] == "4" and run_.data.params["learning_rate"] == "0.001"
    tags = run_.data.tags
    assert tags["dvc.stage"] == "train" and tags["dataset"] == "coco" and tags["sg2im.run_kind"] == "pipeline"
    assert tags["sg2im.identity.code"] == train["identity"]["code"] and tags["git.dirty"] == "False"
    assert "loss/G/total_loss" in run_.data.metrics and "loss/val/avg_iou" in run_.data.metrics
    assert run_.data.metrics["test/R_at_0.5"] == pytest.approx(evaluate["headline"]["R@0.5"])
    inputs = client.get_run(run_.info.run_id).inputs.dataset_inputs
    assert [d.dataset.digest for d in inputs] == [train["identity"]["data"]]
    # The last words of `make repro`: where everything is, with the numbers and the run.
    summary = run(root, sys.executable, "-m", "sg2im.summary").stdout
    assert "iterations 4" in summary and "R@0.5 pred boxes" in summary and run_.info.run_id in summary
    assert "figure_5_coco.png" in summary and "figure_6_sheep.png" in summary and "make ui" in summary
    assert vg["mlflow_run_id"] in summary


def test_second_repro_runs_nothing(project):
    out = dvc(project["root"], "repro").stdout
    assert ran_stages(out) == [] and "up to date" in out
    _clean(project["root"])


def test_hand_runs_leave_the_pipeline_untouched(project, tmp_path):
    """train and evaluate by hand with other output paths, generate on a user's file, strip with its defaults:
    their files go where they were told (or under runs/), their MLflow runs are their own."""
    root = project["root"]
    pipeline_run = _train_json(root)["mlflow_run_id"]
    before = {p: (root / p).read_bytes() for p in ("metrics/train.json", "metrics/evaluate.json",
                                                   "plots/train_losses.csv")}
    py = os.path.join(BIN, "python")
    run(root, py, "stages/train.py", "--output_dir", "runs/lr2e-3", "--learning_rate", "0.002")
    assert json.loads((root / "runs/lr2e-3/train.json").read_text())["iterations"] == 4
    assert (root / "runs/lr2e-3/plots/train_samples.png").is_file()
    run(root, py, "stages/evaluate.py", "--checkpoint", "models/sg2im.pt", "--output", str(tmp_path / "ev.json"))
    assert json.loads((tmp_path / "ev.json").read_text())["headline"]
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"objects": ["sky-other", "grass", "sheep"],
                                "relationships": [[0, "above", 1], [2, "above", 1]]}))
    run(root, py, "stages/generate.py", "--scene_graphs_json", str(mine), "--output_dir", str(tmp_path / "gen"),
        "--draw_scene_graphs", "0")
    assert sorted(p.name for p in (tmp_path / "gen").iterdir()) == ["img000000.png", "layout000000.png"]
    strip = run(root, py, "stages/strip.py")
    assert "runs/strip/models/sg2im.pt" in strip.stdout
    refused = run(root, py, "stages/train.py", "--metrics_json", "metrics/train.json", check=False)
    assert refused.returncode == 2 and "output of stage 'train'" in refused.stderr
    _clean(root)
    assert all((root / p).read_bytes() == data for p, data in before.items())
    vg_run = json.loads((root / "metrics/train_vg.json").read_text())["mlflow_run_id"]
    hand = [r for r in _mlflow_runs(root) if r.info.run_id not in (pipeline_run, vg_run)]
    assert hand and all(r.data.tags["sg2im.run_kind"] == "hand" for r in hand)
    assert {r.data.tags.get("sg2im.of_run") for r in hand} >= {pipeline_run}
    pipeline = _client(root).get_run(pipeline_run)
    assert pipeline.data.params["learning_rate"] == "0.001"
    assert pipeline.data.tags["evaluate.output"] == "metrics/evaluate.json"  # the pipeline's, not the hand run's
    assert [a.path for a in _client(root).list_artifacts(pipeline_run, "checkpoints")] == [
        "checkpoints/checkpoint_stripped.pt", "checkpoints/sg2im.pt"]


def test_a_comment_in_a_file_no_stage_imports_reruns_nothing(project):
    root = project["root"]
    _append(root / "sg2im/summary.py", "# an edit no stage sees\n")
    out = dvc(root, "repro").stdout
    assert ran_stages(out) == []
    _commit(root, "comment in summary.py")


def test_a_file_only_evaluate_imports_reruns_evaluate_only(project):
    root = project["root"]
    _append(root / "sg2im/metrics/report.py", "# an edit only evaluate sees\n")
    assert sorted(ran_stages(dvc(root, "repro").stdout)) == ["evaluate", "evaluate_vg"]
    _commit(root, "comment in report.py")
    _clean(root)


def test_a_model_edit_reruns_train_from_iteration_zero_and_what_follows(project):
    root = project["root"]
    _append(root / "sg2im/model/crn.py", "# an edit of the model\n")
    out = dvc(root, "repro").stdout
    assert sorted(ran_stages(out)) == sorted(COCO_MODEL + VG_MODEL)  # both models run the model code
    assert out.count("code: sg2im/model/crn.py changed") == 2 and "STARTING A FRESH RUN" in out
    train = _train_json(root)
    assert train["start"] == "fresh" and train["iterations_this_session"] == 4
    _commit(root, "model edit")
    _clean(root)


def test_a_killed_repro_resumes_and_completes(project):
    root = project["root"]
    params = yaml.safe_load((root / "params.yaml").read_text())
    text = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(text.replace("num_iterations: 4", "num_iterations: 60", 1)
                                      .replace("checkpoint_every: 2", "checkpoint_every: 3", 1))
    assert params["train"]["checkpoint_every"] == 2
    ckpt = root / "models/checkpoint_with_model.pt"
    proc = subprocess.Popen([os.path.join(BIN, "dvc"), "repro"], cwd=root, env=project_env(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    from sg2im.checkpoint import read_checkpoint

    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        try:
            saved = read_checkpoint(ckpt)
            if saved["args"]["num_iterations"] == 60 and saved["counters"]["t"] >= 3:
                break
        except Exception:  # noqa: BLE001 - being replaced this very moment
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = read_checkpoint(ckpt)["counters"]["t"]
    assert 3 <= killed_at < 60, f"the kill came at t={killed_at}: too late to test resume"
    out = dvc(root, "repro").stdout
    assert ran_stages(out) == COCO_MODEL  # the VG model's settings did not change
    assert f"resuming {ckpt.relative_to(root)} at t={killed_at}" in out, out[-3000:]
    train = _train_json(root)
    assert train["iterations"] == 60 and train["start"] == "resume"
    _commit(root, "60 iterations")
    _clean(root)


def test_an_experiment_on_an_uncommitted_edit_records_the_dirty_tree(project):
    root = project["root"]
    head = git(root, "rev-parse", "HEAD").stdout.strip()
    _append(root / "sg2im/model/layout.py", "# an uncommitted edit\n")
    out = dvc(root, "exp", "run", "-n", "exp-lr", "-S", "train.learning_rate=0.002").stdout
    assert sorted(ran_stages(out)) == sorted(COCO_MODEL + VG_MODEL)  # the edit is in both models' code
    run_ = _client(root).get_run(_train_json(root)["mlflow_run_id"])
    assert run_.data.tags["dvc.exp_name"] == "exp-lr" and run_.info.run_name == "exp-lr"
    vg_run = _client(root).get_run(json.loads((root / "metrics/train_vg.json").read_text())["mlflow_run_id"])
    assert vg_run.info.run_name == "exp-lr-vg" and vg_run.data.params["learning_rate"] == "0.001"
    assert run_.data.tags["mlflow.source.git.commit"] == head and run_.data.tags["git.dirty"] == "True"
    assert len(run_.data.tags["git.diff_sha256"]) == 64 and run_.data.params["learning_rate"] == "0.002"
    git(root, "checkout", "--", ".")
    dvc(root, "checkout", "--force")
    _clean(root)


def test_queued_experiments_are_shown_tracked_and_applied(project):
    root = project["root"]
    before = {r.info.run_id for r in _mlflow_runs(root)}
    dvc(root, "exp", "run", "--queue", "-n", "exp-q1", "-S", "train.learning_rate=0.0007")
    dvc(root, "exp", "run", "--queue", "-n", "exp-q2", "-S", "train.mask_loss_weight=0.2")
    dvc(root, "queue", "start")
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
    assert exps["exp-q2"]["params"]["params.yaml"]["data"]["train"]["mask_loss_weight"] == 0.2
    new = {r.data.tags.get("dvc.exp_name"): r for r in _mlflow_runs(root) if r.info.run_id not in before}
    assert {"exp-q1", "exp-q2"} <= set(new)
    for name, key, value in (("exp-q1", "learning_rate", "0.0007"), ("exp-q2", "mask_loss_weight", "0.2")):
        data = exps[name]["metrics"]
        train, headline = data["metrics/train.json"]["data"], data["metrics/evaluate.json"]["data"]["headline"]
        r = new[name]
        assert r.info.run_name == name and r.data.params[key] == value and train["mlflow_run_id"] == r.info.run_id
        assert r.data.metrics["test/R_at_0.5"] == pytest.approx(headline["R@0.5"])
        assert str(root) in r.info.artifact_uri  # in the project, not in DVC's deleted temporary copy
    # `dvc metrics diff` / `dvc params diff` between the two, and `dvc exp apply` of one
    assert "learning_rate" in dvc(root, "params", "diff", "exp-q1", "exp-q2").stdout
    dvc(root, "metrics", "diff", "exp-q1", "exp-q2")
    dvc(root, "exp", "apply", "exp-q1")
    assert yaml.safe_load((root / "params.yaml").read_text())["train"]["learning_rate"] == 0.0007
    assert _train_json(root)["mlflow_run_id"] == new["exp-q1"].info.run_id
    assert dvc(root, "status").stdout.strip().endswith("Data and pipelines are up to date.")


def test_official_data_is_stored_once_and_not_fetched_again(tmp_path):
    """source=official through `dvc repro` against a local server: the unpacked files and the DVC cache are one
    copy on disk (hard links), and a re-run after a change that does not touch the data makes no request."""
    from local_http_server import Behaviour, serve
    from test_official import coco_files, coco_urls

    root = make_project(tmp_path / "project", config=None)
    behaviour = Behaviour(files=coco_files(tmp_path))
    params_file = root / "params.yaml"
    with serve(behaviour) as base:
        params = yaml.safe_load(params_file.read_text())
        params["download_coco"].update(source="official", min_free_gb=0, **coco_urls(base))
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert ran_stages(dvc(root, "repro", "download_coco").stdout) == ["download_coco"]
        files = [p for p in (root / "data/coco").rglob("*") if p.is_file() and "downloads" not in p.parts
                 and p.name != ".sg2im_source" and p.name != ".gitignore"]
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
