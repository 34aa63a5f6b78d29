"""MLflow's UI as a person sees it, in a real browser (Debian's chromium driven by Playwright) against a real
`mlflow server` on 127.0.0.1 after a tiny training run: the experiment opens on the model-training view and
the run's charts start with the losses; the run's evaluation numbers and sample grids are there."""
from __future__ import annotations

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
    root = tmp_path_factory.mktemp("mlflow-ui")
    with mlflow_server(root) as uri:
        yield {"uri": uri, "root": root}


def test_the_run_page_shows_the_losses_first(server, tmp_path, monkeypatch):
    assert CHROMIUM, "Debian's chromium is not installed (make install does it: apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    for key in ("SG2IM_TRACKING", "RANK", "WORLD_SIZE", "DVC_EXP_NAME", "DVC_STAGE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server["uri"])
    run_id = train(tiny_args(tmp_path, num_iterations=4, checkpoint_every=2, print_every=1))["mlflow_run_id"]
    evaluation = tracking.Tracker.start("evaluate", run_id=run_id)  # what evaluate logs into the run
    evaluation.log_metrics({"test/R_at_0.5": 0.53, "test/object_acc_gt_layout": 0.6})
    evaluation.end()
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
