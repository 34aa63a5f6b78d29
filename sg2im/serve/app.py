"""The editor as a small ASGI web app (FastAPI on Starlette, served by uvicorn: the ecosystem's standard stack,
already installed with MLflow; typed routes, an OpenAPI description at /docs for scripts). One page and a JSON
API that the page and scripts share:

- ``GET /api/vocab``: the model's object and predicate names, image size, the most objects a graph may have;
- ``GET /api/figures``: the paper's figures' scene graphs that the model's vocabulary covers, to load;
- ``POST /api/generate``: ``{"objects": [...], "relationships": [[s, "p", o], ...], "boxes": [[x0, y0, x1, y1],
  ...] (optional: a layout of your own), "seed": 0}`` -> the image (PNG, base64), the layout's boxes and masks,
  the graph's drawing (SVG);
- ``GET /api/health``: requests served, the most run at once.

Bad requests get a JSON error ``{"error": ..., "field": ...}`` with the messages of the generate stage: 400 for a
body that is not JSON, 413 for one over ``max_body`` bytes, 422 for a graph the model cannot take (unknown
names, indices out of range, more objects than it was trained on). Generation runs in worker threads, at most
``concurrency`` at a time, so the event loop (and a second user) is never blocked.
"""
from __future__ import annotations

import json
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from sg2im.errors import DataError, GraphLimitError
from sg2im.scene_graph import load_scene_graphs
from sg2im.serve.engine import Engine, error_field

STATIC = Path(__file__).resolve().parent / "static"


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field if field is not None else error_field(message)},
                        status_code=status)


def figures(folder: Path | None, vocab: dict) -> dict[str, list]:
    """The graphs of the figure files in ``folder`` (``scene_graphs/``) that ``vocab`` covers: name -> graphs."""
    from sg2im.generate import FIGURE_RULES, check_graphs

    if folder is None or not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.glob("*.json")):
        try:
            graphs = load_scene_graphs(path)
        except DataError:
            continue
        covered, _ = check_graphs(graphs, vocab, str(path), FIGURE_RULES)
        if covered:
            out[path.stem] = [graphs[i] for i in covered]
    return out


def create_app(engine: Engine, figures_dir: Path | None = None, max_body: int = 64_000,
               concurrency: int = 2) -> FastAPI:
    app = FastAPI(title="sg2im scene-graph editor", version="1",
                  description="Build a scene graph, see its layout and image; edit the layout by hand.")
    limiter = anyio.CapacityLimiter(concurrency)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    paper = figures(figures_dir, engine.model.vocab)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/vocab")
    def vocab() -> dict:
        return engine.vocab()

    @app.get("/api/figures")
    def paper_figures() -> dict:
        return paper

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True, "served": engine.served, "active": engine.active, "most_active": engine.most_active,
                "concurrency": concurrency}

    @app.post("/api/generate", openapi_extra={"requestBody": {"content": {"application/json": {"example": {
        "objects": ["sky", "grass", "sheep"], "relationships": [[0, "above", 1], [2, "standing on", 1]],
        "seed": 0}}}}})
    async def generate(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return _error(413, f"the request has {declared} bytes; at most {max_body} are accepted", "body")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return _error(413, f"the request has more than {max_body} bytes", "body")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            return _error(400, f"the request body is not JSON ({type(exc).__name__}): send a scene graph "
                          '{"objects": [...], "relationships": [...]}', "body")
        if not isinstance(data, dict):
            return _error(400, "the request must be a JSON object with objects and relationships", "body")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            return _error(422, f"seed must be an integer, got {seed!r}", "seed")
        graph = {"objects": data.get("objects"), "relationships": data.get("relationships", [])}
        try:
            result = await anyio.to_thread.run_sync(engine.generate, graph, data.get("boxes"), seed, limiter=limiter)
        except GraphLimitError as exc:
            return _error(422, str(exc))
        except DataError as exc:
            return _error(422, str(exc))
        return JSONResponse(result)

    return app
