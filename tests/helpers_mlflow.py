"""A real `mlflow server` on 127.0.0.1 (a free port, its own sqlite store and artifact folder) for a test."""
from __future__ import annotations

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


@contextmanager
def mlflow_server(root: Path, timeout: float = 90.0) -> Iterator[str]:
    """Start the server, wait for /health, yield its URI, stop it."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--artifacts-destination",
         str(root / "artifacts")], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=stage_env(root))
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while tracking.check_server(uri, timeout=1.0) is not None:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mlflow server did not answer /health within {timeout:.0f} s")
            time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
