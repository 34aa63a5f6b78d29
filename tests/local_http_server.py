"""A real HTTP server on 127.0.0.1 (port 0) for the download tests: serves in-memory files, supports
Range requests, and can misbehave on purpose (drop a connection after N bytes, answer 503 a few
times, ignore Range). Nothing in the tests reaches the internet."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Behaviour:
    files: dict[str, bytes] = field(default_factory=dict)     # URL path -> content
    # path -> bytes sent before closing the connection: an int (first request only) or a list
    # (one entry per request, in order)
    drop_after: dict[str, int | list[int]] = field(default_factory=dict)
    fail_times: dict[str, int] = field(default_factory=dict)  # path -> number of 503 answers before serving
    no_range: set[str] = field(default_factory=set)           # paths served whole even when a Range is asked
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # GETs: (path, Range header)
    heads: list[str] = field(default_factory=list)           # paths asked with HEAD
    no_head: bool = False                                     # answer HEAD with 501, as some servers do
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    behaviour: Behaviour

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _file_or_404(self, path: str) -> bytes | None:
        data = self.behaviour.files.get(path)
        if data is None:
            self.send_error(404, "not found")
        return data

    def _send_body_headers(self, length: int) -> None:
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_HEAD(self) -> None:
        b, path = self.behaviour, self._path()
        with b.lock:
            b.heads.append(path)
        if b.no_head:
            self.send_error(501, "HEAD not supported")
        elif (data := self._file_or_404(path)) is not None:
            self.send_response(200)
            self._send_body_headers(len(data))

    def do_GET(self) -> None:
        b, path = self.behaviour, self._path()
        rng = self.headers.get("Range")
        with b.lock:
            b.requests.append((path, rng))
            if b.fail_times.get(path, 0) > 0:
                b.fail_times[path] -= 1
                fail = True
            else:
                fail = False
            drop = b.drop_after.get(path)
            if isinstance(drop, list):
                drop = drop.pop(0) if drop else None
            else:
                b.drop_after.pop(path, None)
        if fail:
            self.send_error(503, "try again later")
            return
        data = self._file_or_404(path)
        if data is None:
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if match and path not in b.no_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self._send_body_headers(len(body))
        if drop is not None:
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@contextmanager
def serve(behaviour: Behaviour) -> Iterator[str]:
    """Run a server for ``behaviour`` in a thread; yield its base URL (http://127.0.0.1:PORT)."""
    handler = type("Handler", (_Handler,), {"behaviour": behaviour})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
