"""The researcher's loop through real DVC, in a fresh copy of the project with the tiny configuration:
`dvc repro` runs every stage once and a second one nothing; an edit re-runs exactly the stages whose code
changed (a model file: both trainings from iteration 0 and what follows; a file only evaluate imports: the
two evaluate stages; a file no stage imports: nothing); runs by hand never touch the pipeline; a killed
`dvc repro` resumes. Experiments are in test_experiments.py (their own project, so the two run in parallel).

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

import pytest
import yaml

from helpers_pipeline import (BIN, COCO_MODEL, STAGES, VG_MODEL, append_line, assert_clean, commit, dvc, git,
                              mlflow_client, mlflow_runs, project_env, ran_stages, repro_project, run, train_json)

pytestmark = pytest.mark.slow


def _train_param(root, key: str):
    """The COCO model's training setting as the project's params.yaml holds it."""
    return yaml.safe_load((root / "params.yaml").read_text())["train"][key]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    return repro_project(tmp_path_factory, "pipeline")


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
    commit(root, "pipeline results")


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
    runs = {r.info.run_id: r for r in mlflow_runs(root)}
    assert set(runs) == {train["mlflow_run_id"], vg["mlflow_run_id"]}  # one run per model
    assert runs[vg["mlflow_run_id"]].data.tags["dataset"] == "vg"
    assert runs[vg["mlflow_run_id"]].data.tags["dvc.stage"] == "train_vg"
    run_ = runs[train["mlflow_run_id"]]
    # The training run holds its generator-only checkpoint (logged by train) and strip's models/sg2im.pt;
    # evaluate attached its metrics file.
    client = mlflow_client(root)
    assert sorted(a.path for a in client.list_artifacts(run_.info.run_id, "checkpoints")) == [
        "checkpoints/checkpoint_stripped.pt", "checkpoints/sg2im.pt"]
    assert "evaluate/evaluate.json" in [a.path for a in client.list_artifacts(run_.info.run_id, "evaluate")]
    assert run_.info.status == "FINISHED"
    assert run_.data.params["num_iterations"] == "4" and run_.data.params["learning_rate"] == str(_train_param(root, "learning_rate"))
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
    assert_clean(project["root"])


def test_hand_runs_leave_the_pipeline_untouched(project, tmp_path):
    """train and evaluate by hand with other output paths, generate on a user's file, strip with its defaults:
    their files go where they were told (or under runs/), their MLflow runs are their own."""
    root = project["root"]
    pipeline_run = train_json(root)["mlflow_run_id"]
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
    assert_clean(root)
    assert all((root / p).read_bytes() == data for p, data in before.items())
    vg_run = json.loads((root / "metrics/train_vg.json").read_text())["mlflow_run_id"]
    hand = [r for r in mlflow_runs(root) if r.info.run_id not in (pipeline_run, vg_run)]
    assert hand and all(r.data.tags["sg2im.run_kind"] == "hand" for r in hand)
    assert {r.data.tags.get("sg2im.of_run") for r in hand} >= {pipeline_run}
    pipeline = mlflow_client(root).get_run(pipeline_run)
    assert pipeline.data.params["learning_rate"] == str(_train_param(root, "learning_rate"))
    assert pipeline.data.tags["evaluate.output"] == "metrics/evaluate.json"  # the pipeline's, not the hand run's
    assert [a.path for a in mlflow_client(root).list_artifacts(pipeline_run, "checkpoints")] == [
        "checkpoints/checkpoint_stripped.pt", "checkpoints/sg2im.pt"]


def test_a_comment_in_a_file_no_stage_imports_reruns_nothing(project):
    root = project["root"]
    append_line(root / "sg2im/summary.py", "# an edit no stage sees\n")
    out = dvc(root, "repro").stdout
    assert ran_stages(out) == []
    commit(root, "comment in summary.py")


def test_a_file_only_evaluate_imports_reruns_evaluate_only(project):
    root = project["root"]
    append_line(root / "sg2im/metrics/report.py", "# an edit only evaluate sees\n")
    assert sorted(ran_stages(dvc(root, "repro").stdout)) == ["evaluate", "evaluate_vg"]
    commit(root, "comment in report.py")
    assert_clean(root)


def test_a_model_edit_reruns_both_models_from_zero_and_a_killed_repro_resumes(project):
    """Edit the model code and ask for more iterations; kill `dvc repro` while the COCO model trains (it started
    from iteration 0 and said why); `dvc repro` again resumes that run where the kill left it and trains the VG
    model from 0 (its code changed too); everything after train re-runs and the pipeline ends clean."""
    root = project["root"]
    append_line(root / "sg2im/model/crn.py", "# an edit of the model\n")
    text = (root / "params.yaml").read_text()
    assert "num_iterations: 4" in text and "checkpoint_every: 2" in text
    (root / "params.yaml").write_text(text.replace("num_iterations: 4", "num_iterations: 60", 1)
                                      .replace("checkpoint_every: 2", "checkpoint_every: 3", 1))
    ckpt = root / "models/checkpoint_with_model.pt"
    log = root.parent / "killed_repro.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen([os.path.join(BIN, "dvc"), "repro"], cwd=root, env=project_env(root),
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
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
    killed = log.read_text()
    assert "code: sg2im/model/crn.py changed" in killed and "STARTING A FRESH RUN" in killed, killed[-3000:]
    killed_at = read_checkpoint(ckpt)["counters"]["t"]
    assert 3 <= killed_at < 60, f"the kill came at t={killed_at}: too late to test resume"
    out = dvc(root, "repro").stdout
    # both models run the model code; so does download_models (its conversion builds the generator)
    assert sorted(ran_stages(out)) == sorted(COCO_MODEL + VG_MODEL + ["download_models"])
    assert f"resuming {ckpt.relative_to(root)} at t={killed_at}" in out, out[-3000:]
    assert "code: sg2im/model/crn.py changed" in out  # the VG model's fresh start
    train, vg = train_json(root), train_json(root, "vg")
    assert train["iterations"] == 60 and train["start"] == "resume"
    assert vg["start"] == "fresh" and vg["iterations_this_session"] == vg["iterations"] == 4
    commit(root, "model edit, 60 iterations")
    assert_clean(root)



def test_dvc_repro_killed_in_each_stage_then_rerun_ends_clean(project):
    """`dvc repro -s -f STAGE` SIGKILLed (DVC and the stage) at a seeded moment after the stage starts, for
    every stage (the VG model's four in the long mode, SG2IM_KILLS=20: they run the same scripts); `dvc repro`
    then brings the pipeline back: `dvc status` clean (no lock, no half-written output
    left that DVC would take for a result)."""
    import random

    root = project["root"]
    rng = random.Random(20261207)
    long_mode = int(os.environ.get("SG2IM_KILLS", "5")) >= 20  # the long mode of tests/test_kill_anywhere.py
    for stage in [s for s in STAGES if s != "download_models" and (long_mode or s not in VG_MODEL)]:
        log = root.parent / f"killed_{stage}.log"
        with open(log, "w") as sink:
            proc = subprocess.Popen([os.path.join(BIN, "dvc"), "repro", "-s", "-f", stage], cwd=root,
                                    env=project_env(root), stdout=sink, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        deadline = time.time() + 120
        while f"Running stage '{stage}'" not in log.read_text() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.05, 0.4))  # the stage's process is starting or at work (preprocess_vg: 0.5 s)
        assert proc.poll() is None, f"{stage} finished before the kill:\n{log.read_text()[-2000:]}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        dvc(root, "repro")  # re-runs what the killed run changed (nothing, if it died before writing)
        status = dvc(root, "status").stdout
        assert status.strip().endswith("Data and pipelines are up to date."), f"after killing {stage}:\n{status}"
