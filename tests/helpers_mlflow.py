"""A real `mlflow server` on 127.0.0.1 (a free port, its own sqlite store and artifact folder) for a test."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from helpers_train import stage_env
from sg2im import tracking


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow_server(root: Path, port: int | None = None, timeout: float = 90.0) -> tuple[subprocess.Popen, str]:
    """Start the server (in its own process group: its workers go with it), wait for /health; (process, URI)."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--artifacts-destination",
         str(root / "artifacts")], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=stage_env(root),
        start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while tracking.check_server(uri, timeout=1.0) is not None:
        if proc.poll() is not None or time.time() > deadline:
            stop_mlflow_server(proc)
            raise RuntimeError(f"mlflow server did not answer /health within {timeout:.0f} s")
        time.sleep(0.5)
    return proc, uri


def stop_mlflow_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the server and its workers (``sig``: SIGKILL for a server that dies)."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def mlflow_server(root: Path, timeout: float = 90.0) -> Iterator[str]:
    """Start the server, wait for /health, yield its URI, stop it."""
    proc, uri = start_mlflow_server(root, timeout=timeout)
    try:
        yield uri
    finally:
        stop_mlflow_server(proc)
