"""The DVC pipeline end to end, in a fresh copy of the project with the tiny configuration:
`dvc repro` runs all seven stages once, a second one runs nothing, a changed train.learning_rate
reruns train and what follows only; experiments (`-S`, and queued ones that DVC runs in a temporary
copy) are listed by `dvc exp show` and land as named runs in the project's MLflow store.

Real DVC, real git, real MLflow (sqlite), real subprocesses: nothing is mocked.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from helpers_pipeline import dvc, git, make_project, ran_stages

STAGES = ["download_coco", "download_vg", "preprocess_vg", "train", "strip", "evaluate", "generate"]
DOWNSTREAM_OF_TRAIN = ["train", "strip", "evaluate", "generate"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    root = make_project(tmp_path_factory.mktemp("pipeline") / "sg2im")
    first = dvc(root, "repro")
    return {"root": root, "first": first.stdout}


def _mlflow_runs(root: Path) -> list:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    experiment = client.get_experiment_by_name("sg2im")
    assert experiment is not None, "no 'sg2im' experiment in the project's mlflow.db"
    return client.search_runs([experiment.experiment_id])


def test_repro_runs_every_stage_once_with_its_outputs(project):
    root = project["root"]
    assert sorted(ran_stages(project["first"])) == sorted(STAGES)
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    assert sorted(lock["stages"]) == sorted(STAGES)
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["num_iterations"] == 4
    assert lock["stages"]["train"]["cmd"] == "torchrun --standalone --nproc_per_node=1 stages/train.py"
    for path in ("data/coco/annotations/instances_train2017.json", "data/vg/train.h5", "data/vg/vocab.json",
                 "models/checkpoint_with_model.pt", "models/checkpoint_no_model.pt", "models/sg2im.pt",
                 "models/crop_classifier.pt", "plots/train_losses.csv", "plots/train_losses.png",
                 "plots/train_samples.png", "outputs/generate/figures/figure_5_coco.png",
                 "outputs/generate/figures/README.txt"):
        assert (root / path).is_file(), path
    assert len(list((root / "data/coco/images/train2017").glob("*.jpg"))) == 48
    # Cached outputs share their inode with the DVC cache (cache.type hardlink): no second copy on disk.
    image = next((root / "data/coco/images/val2017").glob("*.jpg"))
    assert image.stat().st_nlink >= 2
    # Generated data and models are ignored by git (DVC wrote the .gitignore files); metrics and plots are not.
    status = git(root, "status", "--porcelain", "--untracked-files=all").stdout
    assert "data/coco/images" not in status and "models/sg2im.pt" not in status
    assert "metrics/train.json" in status and "plots/train_losses.csv" in status


def test_metrics_show_and_mlflow_run(project):
    root = project["root"]
    shown = json.loads(dvc(root, "metrics", "show", "--json").stdout)
    metrics = next(iter(shown.values()))["data"]
    train = metrics["metrics/train.json"]["data"]
    evaluate = metrics["metrics/evaluate.json"]["data"]
    assert train["iterations"] == 4 and 0.0 <= train["val_avg_iou"] <= 1.0
    assert "R@0.5" in json.dumps(evaluate["boxes"]) and evaluate["protocol"]["split"] == "test"
    # `dvc plots show` (offline form): the declared loss plots hold every logged iteration.
    plots = json.loads(dvc(root, "plots", "show", "--json").stdout)["data"]
    assert {"Generator losses (weighted)", "Discriminator losses", "plots/train_losses.png"} <= set(plots)
    values = plots["Generator losses (weighted)"][0]["content"]["data"]["values"]
    assert sorted({int(row["t"]) for row in values if row.get("total_loss")}) == [1, 2, 3, 4]
    runs = _mlflow_runs(root)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.run_id == train["mlflow_run_id"]
    # The training run holds its generator-only checkpoint (logged by train) and strip's models/sg2im.pt;
    # evaluate attached its metrics file.
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")) == [
        "checkpoints/checkpoint_stripped.pt", "checkpoints/sg2im.pt"]
    assert "evaluate/evaluate.json" in [a.path for a in client.list_artifacts(run.info.run_id, "evaluate")]
    assert run.info.status == "FINISHED"
    assert run.data.params["num_iterations"] == "4" and run.data.params["learning_rate"] == "0.001"
    assert run.data.tags["dvc.stage"] == "train" and run.data.tags["dataset"] == "coco"
    assert "train_total_loss" in run.data.metrics and any(k.startswith("evaluate/") for k in run.data.metrics)
    # The last words of `make repro`: where everything is, with the numbers and the run.
    from helpers_pipeline import run as run_command
    import sys

    summary = run_command(root, sys.executable, "-m", "sg2im.summary").stdout
    assert "iterations 4" in summary and "R@0.5 pred boxes" in summary and run.info.run_id in summary
    assert "figure_5_coco.png" in summary and "make ui" in summary


def test_second_repro_runs_nothing(project):
    out = dvc(project["root"], "repro").stdout
    assert ran_stages(out) == [] and "up to date" in out


def test_changed_learning_rate_reruns_train_and_what_follows_only(project):
    root = project["root"]
    params = root / "params.yaml"
    text = params.read_text()
    assert "learning_rate: 0.001 " in text
    params.write_text(text.replace("learning_rate: 0.001 ", "learning_rate: 0.0007", 1))
    try:
        out = dvc(root, "repro").stdout
        assert ran_stages(out) == DOWNSTREAM_OF_TRAIN
        # The persisted checkpoint of the old learning rate was not resumed: a fresh, loudly announced run.
        assert "STARTING A FRESH RUN" in out
        assert json.loads((root / "metrics/train.json").read_text())["start"] == "fresh"
    finally:
        params.write_text(text)
    out = dvc(root, "repro").stdout  # back to the committed values: the same four stages, nothing upstream
    assert ran_stages(out) == DOWNSTREAM_OF_TRAIN
    git(root, "add", "-A")
    git(root, "commit", "-qm", "pipeline results")


def test_experiments_workspace_and_queued_land_in_the_same_store(project):
    root = project["root"]
    before = {r.info.run_id for r in _mlflow_runs(root)}
    out = dvc(root, "exp", "run", "-n", "exp-mask", "-S", "train.mask_loss_weight=0.2").stdout
    assert ran_stages(out) == DOWNSTREAM_OF_TRAIN
    dvc(root, "exp", "run", "--queue", "-n", "exp-queued", "-S", "train.learning_rate=0.002")
    dvc(root, "queue", "start")
    deadline = time.time() + 420
    while True:
        status = dvc(root, "queue", "status").stdout
        if "exp-queued" in status and not any(s in status for s in ("Queued", "Running")):
            break
        assert time.time() < deadline, f"queued experiment did not finish:\n{status}"
        time.sleep(3)
    assert "Success" in status, status + dvc(root, "queue", "logs", "exp-queued", check=False).stdout
    shown = json.loads(dvc(root, "exp", "show", "--json").stdout)
    exps = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs", []):
                exps[rev.get("name")] = rev["data"]
    assert {"exp-mask", "exp-queued"} <= set(exps)
    assert exps["exp-mask"]["params"]["params.yaml"]["data"]["train"]["mask_loss_weight"] == 0.2
    assert exps["exp-queued"]["params"]["params.yaml"]["data"]["train"]["learning_rate"] == 0.002
    for name in ("exp-mask", "exp-queued"):
        assert exps[name]["metrics"]["metrics/train.json"]["data"]["iterations"] == 4
    new = [r for r in _mlflow_runs(root) if r.info.run_id not in before]
    by_name = {r.data.tags.get("dvc.exp_name"): r for r in new}
    assert set(by_name) == {"exp-mask", "exp-queued"}
    assert by_name["exp-queued"].info.run_name == "exp-queued"
    assert by_name["exp-queued"].data.params["learning_rate"] == "0.002"
    assert by_name["exp-mask"].data.params["mask_loss_weight"] == "0.2"
    # The queued run's artifacts are in the project, not in DVC's deleted temporary copy.
    assert str(root) in by_name["exp-queued"].info.artifact_uri


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
