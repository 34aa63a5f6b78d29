"""A throw-away copy of this project as its own git + DVC repository, for the pipeline tests.

The copy holds what a fresh clone would (the files git tracks or would track, none it ignores),
committed, so `dvc exp run` (which needs a commit) and queued experiments (which run in a
temporary copy of the commit) behave as on a user's machine.  Commands run with this
interpreter's environment first on PATH (the stages call `python` and `torchrun`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = str(Path(sys.executable).parent)


def project_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DVC_", "MLFLOW_", "SG2IM_")) and k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update({"PATH": BIN + os.pathsep + env.get("PATH", ""), "DVC_NO_ANALYTICS": "1",
                "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1", "GIT_AUTHOR_NAME": "sg2im-test",
                "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "sg2im-test",
                "GIT_COMMITTER_EMAIL": "test@example.invalid", "OMP_NUM_THREADS": "2"})
    return env


def run(root: Path, *cmd: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(cmd), cwd=root, env=project_env(root), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n--- stdout\n{result.stdout[-6000:]}"
                             f"\n--- stderr\n{result.stderr[-6000:]}")
    return result


def dvc(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return run(root, os.path.join(BIN, "dvc"), *args, **kwargs)


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run(root, "git", *args)


def make_project(dest: Path, config: str | None = "tiny") -> Path:
    """Copy the working tree's non-ignored files to ``dest``, apply ``config``, commit."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    skip = ("dvc.lock", "metrics/", "plots/")  # results of this checkout's own runs, if any
    for rel in filter(None, listed):
        src = REPO / rel
        if rel.startswith(skip) or not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    git(dest, "init", "-q", "-b", "main")
    if config:
        run(dest, sys.executable, "-m", "sg2im.configure", config, "--params", str(dest / "params.yaml"))
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", f"project copy ({config or 'as is'})")
    return dest


COCO_MODEL = ["train", "strip", "evaluate", "generate"]
VG_MODEL = ["train_vg", "strip_vg", "evaluate_vg", "generate_vg"]
STAGES = ["download_coco", "download_vg", "preprocess_vg", *COCO_MODEL, *VG_MODEL, "download_models"]


def repro_project(tmp_path_factory, name: str, commit_results: bool = False) -> dict:
    """A fresh copy of the project (tiny configuration) after its first `dvc repro` (its results committed
    to git when asked, as a user would before experimenting)."""
    root = make_project(tmp_path_factory.mktemp(name) / "sg2im")
    first = dvc(root, "repro")
    if commit_results:
        commit(root, "pipeline results")
    return {"root": root, "first": first.stdout}


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran, in order."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]


def mlflow_client(root: Path):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{root}/mlflow.db")


def mlflow_runs(root: Path) -> list:
    client = mlflow_client(root)
    experiment = client.get_experiment_by_name("sg2im")
    assert experiment is not None, "no 'sg2im' experiment in the project's mlflow.db"
    return client.search_runs([experiment.experiment_id])


def train_json(root: Path, model: str = "") -> dict:
    """metrics/train.json of the COCO model, or metrics/train_<model>.json."""
    return json.loads((root / f"metrics/train{'_' + model if model else ''}.json").read_text())


def append_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line)


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def assert_clean(root: Path) -> None:
    assert dvc(root, "status").stdout.strip().endswith("Data and pipelines are up to date."), dvc(root, "status").stdout
    assert git(root, "status", "--porcelain").stdout == ""
