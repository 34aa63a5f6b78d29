"""Training against a real `mlflow server` on 127.0.0.1 (one server and one tiny training run for the module):
the run read back through the server's REST API (parameters, loss histories, sample grids, the stripped
checkpoint), and MLflow's UI as a person sees it, in a real browser (Debian's chromium driven by Playwright):
the experiment opens on the model-training view and the run's charts start with the losses."""
from __future__ import annotations

import json
import re
import shutil
import urllib.request

import pytest

from helpers_mlflow import mlflow_server
from helpers_train import tiny_args
from sg2im import tracking
from sg2im.training.loop import train

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(root) as uri:
        yield {"uri": uri, "root": root}


@pytest.fixture(scope="module")
def run_id(server, tmp_path_factory):
    """A tiny training logged to the server (4 iterations, checkpoints at 2 and 4), with evaluate's numbers."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key in ("SG2IM_TRACKING", "RANK", "WORLD_SIZE", "DVC_EXP_NAME", "DVC_STAGE"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server["uri"])
        run = train(tiny_args(tmp_path_factory.mktemp("work"), num_iterations=4, checkpoint_every=2,
                              print_every=1))["mlflow_run_id"]
        evaluation = tracking.Tracker.start("evaluate", run_id=run)  # what evaluate logs into the run
        evaluation.log_metrics({"test/R_at_0.5": 0.53, "test/object_acc_gt_layout": 0.6})
        evaluation.end()
    return run


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_the_run_reads_back_through_the_rest_api(server, run_id):
    uri = server["uri"]
    run = _get(f"{uri}/api/2.0/mlflow/runs/get?run_id={run_id}")["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["batch_size"] == "4" and params["d_obj_arch"] == "C4-8-2,C4-16-2" and params["effective_batch_size"] == "4"
    assert run["info"]["status"] == "FINISHED"
    assert run["info"]["artifact_uri"].startswith("mlflow-artifacts:")
    history = _get(f"{uri}/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=loss/G/total_loss")["metrics"]
    assert sorted(m["step"] for m in history) == [1, 2, 3, 4]
    val = _get(f"{uri}/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=loss/val/avg_iou")["metrics"]
    assert sorted(m["step"] for m in val) == [2, 4]
    root = [f["path"] for f in _get(f"{uri}/api/2.0/mlflow/artifacts/list?run_id={run_id}")["files"]]
    assert {"images", "checkpoints", "train"} <= set(root)
    images = [f["path"] for f in _get(f"{uri}/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=images")["files"]]
    assert any("samples~val" in p for p in images) and any("samples~train" in p for p in images), images
    ckpts = [f["path"] for f in _get(f"{uri}/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=checkpoints")["files"]]
    assert ckpts == ["checkpoints/checkpoint_stripped.pt"]


def test_the_run_page_shows_the_losses_first(server, run_id, tmp_path):
    assert CHROMIUM, "Debian's chromium is not installed (make install does it: apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    from mlflow import MlflowClient

    experiment = MlflowClient(server["uri"]).get_experiment_by_name("sg2im").experiment_id
    url = f"{server['uri']}/#/experiments/{experiment}/runs/{run_id}/model-metrics?workflowType=machine_learning"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text("loss/D", exact=True).first.wait_for(timeout=60_000)
        close = page.get_by_role("button", name=re.compile("close", re.I))
        if close.count():
            close.first.click()  # the assistant panel, where the UI opens it
        page.wait_for_timeout(1500)
        page.screenshot(path=str(tmp_path / "run_metrics.png"))
        lines = page.inner_text("body").splitlines()
        sections = [lines[i - 1].strip() for i, line in enumerate(lines)
                    if re.fullmatch(r"\(\d+\)", line.strip()) and i and lines[i - 1].strip()]
        page.goto(f"{server['uri']}/#/experiments/{experiment}?workflowType=machine_learning")
        page.get_by_text("Model training").first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "experiment.png"))
        browser.close()
    assert sections[:3] == ["loss/D", "loss/G", "loss/val"], sections
    assert "test" in sections and "train" in sections and sections.index("test") < sections.index("train")
    with urllib.request.urlopen(f"{server['uri']}/health", timeout=5) as response:
        assert response.status == 200
    assert (tmp_path / "run_metrics.png").stat().st_size > 20_000


def test_a_server_that_dies_mid_run_costs_seconds_and_loses_nothing_local(tmp_path):
    """The tracking server is SIGKILLed while training logs to it: training goes on with no logging call stalling
    it for more than a few seconds, finishes with its whole local record, and says what was not sent; the
    restarted server still holds everything sent before the outage."""
    import csv
    import signal
    import subprocess
    import threading
    import time

    from helpers_mlflow import start_mlflow_server, stop_mlflow_server
    from helpers_train import PYTHON, REPO, stage_env, write_params

    n = 60
    store = tmp_path / "store"
    proc, uri = start_mlflow_server(store)
    port = int(uri.rsplit(":", 1)[1])
    write_params(tmp_path, num_iterations=n, checkpoint_every=20, print_every=1)
    train_proc = subprocess.Popen([PYTHON, str(REPO / "stages" / "train.py")], cwd=tmp_path, text=True,
                                  env=stage_env(tmp_path, SG2IM_TRACKING=1, MLFLOW_TRACKING_URI=uri),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[tuple[float, int]] = []  # (time, t) of every loss line

    def read() -> None:
        for line in train_proc.stdout:
            match = re.match(r"t = (\d+) / ", line)
            if match:
                seen.append((time.monotonic(), int(match.group(1))))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while (not seen or seen[-1][1] < 5) and time.monotonic() < deadline and train_proc.poll() is None:
            time.sleep(0.02)
        assert seen and seen[-1][1] < n - 20, f"training did not get going before the outage: {seen[-1:]}"
        killed_at, t_killed = time.monotonic(), seen[-1][1]
        stop_mlflow_server(proc, signal.SIGKILL)
        stderr = train_proc.stderr.read()  # to the end of training; stdout is the reader thread's alone
        train_proc.wait(timeout=60)
    finally:
        if train_proc.poll() is None:
            train_proc.kill()
        stop_mlflow_server(proc, signal.SIGKILL)
    reader.join(timeout=10)
    assert train_proc.returncode == 0, stderr[-3000:]
    # no iteration after the outage waited more than a few seconds for the dead server
    gaps = [b[0] - a[0] for a, b in zip(seen, seen[1:]) if b[0] > killed_at]
    assert max(gaps) < 8.0, f"a logging call stalled training for {max(gaps):.1f} s"
    # the local record is whole; the log says what was not sent
    metrics = json.loads((tmp_path / "metrics" / "train.json").read_text())
    assert metrics["iterations"] == n
    with open(tmp_path / "plots" / "train_losses.csv") as f:
        assert [int(row["t"]) for row in csv.DictReader(f)] == list(range(1, n + 1))
    said = re.search(r"nothing more is sent to (\S+) for this run \(metrics were sent up to step (\d+)\)", stderr)
    assert said and said.group(1) == uri, stderr[-3000:]
    sent = int(said.group(2))
    assert t_killed - 1 <= sent < n
    # the restarted server (same store) holds the run and every step sent before the outage
    proc, uri = start_mlflow_server(store, port=port)
    try:
        run_id = metrics["mlflow_run_id"]
        history = _get(f"{uri}/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=loss/G/total_loss")
        assert sorted(m["step"] for m in history["metrics"]) == list(range(1, sent + 1))
    finally:
        stop_mlflow_server(proc)
