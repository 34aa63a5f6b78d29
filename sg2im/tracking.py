"""MLflow tracking for every stage: where runs go, the run lifecycle, names and tags, rank 0 only.

    tracker = open_run("train", params=flat_settings, tags={...}, reopen=checkpoint_run_id)
    tracker.log_metrics({"loss/G/total_loss": 1.2}, step=t)
    tracker.log_image(grid_uint8_hwc, key="samples/val", step=t)
    tracker.log_artifact("models/sg2im.pt", artifact_path="checkpoints")
    tracker.end()

Where runs go (:func:`tracking_uri`): ``$MLFLOW_TRACKING_URI`` when set, else the SQLite file
``<root>/mlflow.db`` with artifacts in ``<root>/mlartifacts``, where ``<root>`` is ``$DVC_ROOT``
(DVC points it at the parent repository even inside ``dvc exp run --temp/--queue``, so those runs
are not lost with the temporary directory) or the repository root.

The lifecycle (:func:`open_run`, the one place a stage gets a run): a stage reopens the run it is told to
(train: its own checkpoint's run on resume; strip, evaluate, generate: the evaluated model's run) only when
that run is of the same kind, pipeline or by hand (tag ``sg2im.run_kind``); otherwise it starts a new run
tagged with the run it belongs to (``sg2im.of_run``). So a run by hand never writes into a pipeline run.

Training never stops because of tracking: when the store cannot be reached (a server that is
down, an unwritable database) the tracker prints a warning and logs nothing; a logging call that fails
later prints one warning and turns the tracker off. On ranks other than 0 (``$RANK`` set by torchrun) the
tracker is a silent no-op and MLflow is never imported. ``SG2IM_TRACKING=0`` (or a stage's ``track: 0``)
turns tracking off on purpose.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# A server that stops answering must not stall training for minutes (defaults: 7 retries, 120 s).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")  # retries after 1 s and 2 s (default 2: 2, 4 s)

from sg2im.pipeline import REPO_ROOT, by_dvc, model_name

DEFAULT_EXPERIMENT = "sg2im"
# What MLflow's UI shows first for this experiment: a model-training experiment, not a GenAI one.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development",
                   "mlflow.note.content": "sg2im (Johnson et al., CVPR 2018) training runs: training and validation "
                                          "losses under loss/, the evaluation on the test split under test/, "
                                          "sample grids under samples/."}
RUN_KIND = "sg2im.run_kind"  # "pipeline" (run by DVC) or "hand"
HEALTH_TIMEOUT_S = 2.0


def tracking_root() -> Path:
    """``$DVC_ROOT`` when DVC runs the stage (also in --temp/--queue runs), else the repo root."""
    return Path(os.environ.get("DVC_ROOT") or REPO_ROOT).resolve()


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db`` (absolute)."""
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env:
        return env
    return "sqlite:///" + str(tracking_root() / "mlflow.db")


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):]
    return Path(path).resolve() if path not in ("", ":memory:") else None


def _is_http(uri: str) -> bool:
    return uri.startswith("http://") or uri.startswith("https://")


def process_rank() -> int:
    """Global rank of this process under torchrun (0 when not distributed)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def git_commit(cwd: Path | None = None) -> str | None:
    """The HEAD commit of the repository the stage runs in (None outside git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path.cwd(), capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def run_kind() -> str:
    """``pipeline`` when DVC runs this stage, else ``hand``."""
    return "pipeline" if by_dvc() else "hand"


def _find_run(client: Any, run_id: str) -> Any:
    try:
        run = client.get_run(run_id)
    except Exception:  # noqa: BLE001 - unknown or deleted
        return None
    return run if run.info.lifecycle_stage == "active" else None


def dvc_tags() -> dict[str, str]:
    """Tags linking the run to DVC: experiment name, baseline revision, stage and root."""
    tags = {}
    for env, tag in (("DVC_EXP_NAME", "dvc.exp_name"), ("DVC_EXP_BASELINE_REV", "dvc.baseline_rev"),
                     ("DVC_STAGE", "dvc.stage"), ("DVC_ROOT", "dvc.root")):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    return tags


def check_server(uri: str, timeout: float = HEALTH_TIMEOUT_S) -> str | None:
    """Pre-flight for an http(s) store: None when ``/health`` answers, else the reason."""
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            if response.status == 200:
                return None
            return f"/health answered HTTP {response.status}"
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            flat[name] = ",".join(map(str, value))
        else:
            flat[name] = str(value)
    return flat


def _warn(message: str) -> None:
    print(f"warning: MLflow: {message}", file=sys.stderr, flush=True)


class Tracker:
    """One MLflow run, or a no-op stand-in (``enabled`` False) that accepts the same calls."""

    def __init__(self, client: Any = None, run_id: str | None = None, uri: str | None = None,
                 experiment_id: str | None = None) -> None:
        self._client = client
        self.reopened = False
        self.run_id = run_id
        self.uri = uri
        self.experiment_id = experiment_id
        self.last_step_sent: int | None = None  # the last step whose metrics the store accepted

    # ------------------------------------------------------------------ construction
    @property
    def enabled(self) -> bool:
        return self._client is not None and self.run_id is not None

    @classmethod
    def disabled(cls, reason: str | None = None) -> "Tracker":
        """A tracker that logs nothing (prints ``reason`` as a warning when given)."""
        if reason:
            _warn(reason)
        return cls()

    @classmethod
    def start(cls, run_name: str | None, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None, run_id: str | None = None,
              experiment: str = DEFAULT_EXPERIMENT) -> "Tracker":
        """The run of a stage in ``experiment`` of the store of :func:`tracking_uri`: ``run_id`` reopened when
        it exists and is of this process's kind (pipeline or by hand), else a new run (tagged ``sg2im.of_run``
        with ``run_id``) named ``$DVC_EXP_NAME`` when DVC runs an experiment (``<name>-vg`` for stage train_vg), else ``run_name``, else
        ``<stage>-<date-time>``. New runs get ``params`` and the tags: git commit, the run's kind, the dataset
        (from ``params['dataset']``), the DVC experiment name/baseline/stage/root when set, plus ``tags``."""
        if process_rank() != 0:
            return cls()
        if os.environ.get("SG2IM_TRACKING", "1").strip().lower() in ("0", "false", "off", "no"):
            return cls.disabled("tracking is off (SG2IM_TRACKING=0); nothing is logged.")
        uri = tracking_uri()
        if _is_http(uri):
            problem = check_server(uri)
            if problem:
                return cls.disabled(f"cannot reach the tracking server {uri} ({problem}); "
                                    "training goes on WITHOUT MLflow logging. Start the server or "
                                    "unset MLFLOW_TRACKING_URI to use the local sqlite store.")
        try:
            return cls._start(uri, run_name, dict(params or {}), dict(tags or {}), run_id, experiment)
        except Exception as exc:  # noqa: BLE001 - tracking must never stop training
            return cls.disabled(f"cannot use the tracking store {uri} ({type(exc).__name__}: {exc}); "
                                "training goes on WITHOUT MLflow logging.")

    @classmethod
    def _start(cls, uri: str, run_name: str | None, params: dict[str, Any], tags: dict[str, Any],
               run_id: str | None, experiment: str) -> "Tracker":
        from mlflow import MlflowClient

        db = _sqlite_path(uri)
        if db is not None:
            # The first process to touch a fresh database runs MLflow's schema migration; two at
            # once (parallel queued experiments) crash alembic.  Serialise creation with a lock.
            with _file_lock(db.with_name(db.name + ".lock")):
                client = MlflowClient(tracking_uri=uri)
                experiment_id = cls._experiment_id(client, experiment, db.parent / "mlartifacts")
        else:
            client = MlflowClient(tracking_uri=uri)
            experiment_id = cls._experiment_id(client, experiment, None)
        kind = run_kind()
        if run_id:
            existing = _find_run(client, run_id)
            if existing is not None and existing.data.tags.get(RUN_KIND, "pipeline") == kind:
                client.update_run(run_id, status="RUNNING")
                print(f"MLflow: continuing run {run_id} in {uri}", flush=True)
                tracker = cls(client, run_id, uri, experiment_id)
                tracker.reopened = True
                return tracker
            why = "is not in the store" if existing is None else f"is a {existing.data.tags.get(RUN_KIND, 'pipeline')} run"
            print(f"MLflow: run {run_id} {why}; this {kind} run gets a run of its own", flush=True)
            tags = {"sg2im.of_run": run_id, **tags}

        stage = os.environ.get("DVC_STAGE") or "run"
        exp, model = os.environ.get("DVC_EXP_NAME"), model_name(stage)
        name = (f"{exp}-{model}" if exp and model else exp) or run_name or f"{stage}-{time.strftime('%Y%m%d-%H%M%S')}"
        all_tags = {**dvc_tags(), RUN_KIND: kind}
        commit = git_commit()
        if commit:
            all_tags["mlflow.source.git.commit"] = commit
            all_tags["git_commit"] = commit
        if "dataset" in params and "dataset" not in tags:
            all_tags["dataset"] = params["dataset"]
        all_tags.update(tags)
        run = client.create_run(experiment_id, run_name=name, tags={k: str(v) for k, v in all_tags.items()})
        tracker = cls(client, run.info.run_id, uri, experiment_id)
        if params:
            from mlflow.entities import Param

            flat = _flatten(params)
            items = [Param(k, v[:6000]) for k, v in sorted(flat.items())]
            for i in range(0, len(items), 100):
                client.log_batch(tracker.run_id, params=items[i:i + 100])
        print(f"MLflow: run '{name}' ({tracker.run_id}) in {uri}", flush=True)
        return tracker

    @staticmethod
    def _experiment_id(client: Any, name: str, local_artifacts: Path | None) -> str:
        found = client.get_experiment_by_name(name)
        if found is None:
            # Local store: artifacts next to the database (absolute), not in the cwd (which may be a
            # DVC temp dir).  A server decides artifact locations itself (--artifacts-destination).
            location = local_artifacts.as_uri() if local_artifacts is not None else None
            try:
                client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
            except Exception:  # noqa: BLE001 - created meanwhile by another process (server stores)
                pass
            found = client.get_experiment_by_name(name)
            if found is None:
                raise RuntimeError(f"could not create the MLflow experiment {name!r}")
        for key, value in EXPERIMENT_TAGS.items():
            if found.tags.get(key) != value:
                client.set_experiment_tag(found.experiment_id, key, value)
        return found.experiment_id

    # ------------------------------------------------------------------ logging
    def _safe(self, what: str, call, *args, **kwargs) -> bool:
        """Make one call to the store; on failure turn tracking off for the rest of the run, saying what was
        sent last (the run's own files keep the whole record). True when the call went through."""
        if not self.enabled:
            return False
        try:
            call(*args, **kwargs)
            return True
        except Exception as exc:  # noqa: BLE001 - tracking must never stop training
            sent = "no metrics were sent" if self.last_step_sent is None else \
                f"metrics were sent up to step {self.last_step_sent}"
            _warn(f"{what} failed ({type(exc).__name__}: {str(exc)[:300]}); nothing more is sent to {self.uri} "
                  f"for this run ({sent}). Training goes on; its metrics JSON, loss CSV and checkpoints keep the "
                  "whole record.")
            self._client = None
            return False

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if not self.enabled or not metrics:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, int(step or 0)) for k, v in metrics.items()]
        if self._safe("log_metrics", self._client.log_batch, self.run_id, metrics=items) and step is not None:
            self.last_step_sent = int(step)

    def log_image(self, image: Any, key: str, step: int | None = None) -> None:
        """Log an HWC uint8 image: a step series under ``key`` (UI slider), or ``<key>.png`` if no step."""
        if not self.enabled:
            return
        if step is None:
            self._safe("log_image", self._client.log_image, self.run_id, image, artifact_file=f"{key}.png")
        else:
            self._safe("log_image", self._client.log_image, self.run_id, image, key=key, step=int(step))

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None:
        self._safe("log_artifact", self._client.log_artifact if self.enabled else None, self.run_id,
                   str(path), artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items()]
        self._safe("set_tags", self._client.log_batch, self.run_id, tags=items)

    def log_dataset(self, name: str, digest: str, source: str, context: str = "training") -> None:
        """Record the dataset the run reads as an MLflow dataset input (name, digest, where it is)."""
        if not self.enabled:
            return
        from mlflow.entities import Dataset, DatasetInput, InputTag

        dataset = Dataset(name=name, digest=digest[:36], source_type="local", source=json.dumps({"uri": source}))
        entry = DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)])
        self._safe("log_inputs", self._client.log_inputs, self.run_id, datasets=[entry])

    def end(self, status: str = "FINISHED") -> None:
        """Mark the run FINISHED (or FAILED / KILLED)."""
        self._safe("end", self._client.set_terminated if self.enabled else None, self.run_id, status)
