"""sg2im.tracking against real MLflow stores: local sqlite (default location, DVC_ROOT, reopen, tags,
images, artifacts), an unreachable server, non-zero ranks, and parallel first use of a fresh DB. Training
against a real `mlflow server` is in test_mlflow_server.py."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from helpers_train import PYTHON, REPO, stage_env
from sg2im.tracking import Tracker, tracking_uri


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV", "DVC_STAGE", "RANK", "SG2IM_TRACKING"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    return tmp_path


def test_uri_resolution(clean_env, monkeypatch):
    assert tracking_uri() == f"sqlite:///{clean_env.resolve()}/mlflow.db"
    monkeypatch.delenv("DVC_ROOT")
    assert tracking_uri() == f"sqlite:///{REPO}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example.invalid:5000")
    assert tracking_uri() == "http://example.invalid:5000"


def test_importing_tracking_turns_mlflow_telemetry_off_unless_the_user_set_it():
    """In a fresh interpreter without the variables (`make` exports them, so this process cannot tell)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")}
    code = "import os, sg2im.tracking; print(os.environ.get('MLFLOW_DISABLE_TELEMETRY'), os.environ.get('DO_NOT_TRACK'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["true", "true"]
    env["MLFLOW_DISABLE_TELEMETRY"] = "false"  # a user who wants it on keeps it on
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["false", "true"]


def test_local_run_roundtrip_and_reopen(clean_env, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("DVC_EXP_NAME", "lucid-tern")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "abc123")
    monkeypatch.setenv("DVC_STAGE", "train")
    tr = Tracker.start("ignored-when-dvc-names-it", params={"dataset": "coco", "image_size": (32, 32)}, tags={"extra": 1})
    assert tr.enabled
    tr.log_metrics({"total_loss": 2.5}, step=1)
    tr.log_image(np.full((8, 8, 3), 200, np.uint8), key="val_samples", step=1)
    (clean_env / "model.pt").write_bytes(b"weights")
    tr.log_artifact(clean_env / "model.pt", artifact_path="checkpoints")
    tr.end()
    again = Tracker.start(None, run_id=tr.run_id)
    again.log_metrics({"total_loss": 1.5}, step=2)
    again.set_tags({"resumed": "yes"})
    again.end()

    client = MlflowClient(tracking_uri())
    run = client.get_run(tr.run_id)
    assert run.info.run_name == "lucid-tern" and run.info.status == "FINISHED"
    assert run.data.params == {"dataset": "coco", "image_size": "32,32"}
    tags = run.data.tags
    assert tags["dataset"] == "coco" and tags["dvc.exp_name"] == "lucid-tern" and tags["dvc.baseline_rev"] == "abc123"
    assert tags["dvc.stage"] == "train" and tags["extra"] == "1" and tags["resumed"] == "yes"
    assert [m.step for m in client.get_metric_history(tr.run_id, "total_loss")] == [1, 2]
    assert run.info.artifact_uri.startswith((clean_env / "mlartifacts").resolve().as_uri())
    paths = [a.path for a in client.list_artifacts(tr.run_id)]
    assert "checkpoints" in paths and "images" in paths
    assert (clean_env / "mlflow.db").exists()


def test_a_hand_run_never_writes_into_a_pipeline_run(clean_env, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("DVC_STAGE", "train")
    pipeline = Tracker.start("train", params={"dataset": "coco"})
    pipeline.end()
    monkeypatch.delenv("DVC_STAGE")
    hand = Tracker.start("evaluate", params={"x": 1}, run_id=pipeline.run_id)  # a run by hand: a run of its own
    assert hand.enabled and not hand.reopened and hand.run_id != pipeline.run_id
    hand.log_metrics({"test/R_at_0.5": 0.5})
    hand.end()
    again = Tracker.start("train", run_id=hand.run_id)  # a hand run may reopen a hand run (its own resume)
    assert again.reopened and again.run_id == hand.run_id
    again.end()
    client = MlflowClient(tracking_uri())
    tags = client.get_run(hand.run_id).data.tags
    assert tags["sg2im.run_kind"] == "hand" and tags["sg2im.of_run"] == pipeline.run_id
    assert client.get_run(pipeline.run_id).data.tags["sg2im.run_kind"] == "pipeline"
    assert "test/R_at_0.5" not in client.get_run(pipeline.run_id).data.metrics
    experiment = client.get_experiment_by_name("sg2im")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_unreachable_server_and_other_ranks_are_noops(clean_env, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    tr = Tracker.start("x", params={"a": 1})
    tr.log_metrics({"a": 1.0}, step=1)
    tr.log_image(np.zeros((4, 4, 3), np.uint8), key="k", step=1)
    tr.end()
    assert not tr.enabled and tr.run_id is None
    assert "cannot reach the tracking server" in capsys.readouterr().err
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("RANK", "1")
    assert not Tracker.start("x").enabled
    assert not (clean_env / "mlflow.db").exists()


def test_parallel_first_use_of_a_fresh_database(tmp_path):
    """Two processes (as parallel queued DVC experiments) create the store at once: both runs land."""
    code = ("from sg2im.tracking import Tracker; t = Tracker.start('p', params={'a': 1}); "
            "assert t.enabled; t.log_metrics({'m': 1.0}, step=1); t.end(); print(t.run_id)")
    env = stage_env(tmp_path)
    procs = [subprocess.Popen([PYTHON, "-c", code], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path.resolve()}/mlflow.db")
    experiment = client.get_experiment_by_name("sg2im")
    assert len(client.search_runs([experiment.experiment_id])) == 2

