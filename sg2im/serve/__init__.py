"""The interactive scene-graph editor: a local web page that builds a scene graph with the mouse and shows at
once the layout and the image the model makes of it; the layout can be edited by hand (engine.py: the model;
app.py: the web app and its JSON API; static/: the page, plain HTML/JS/CSS with no build step).

    sg2im serve --checkpoint models/vg/sg2im.pt        # or python -m sg2im.serve, or make serve
"""
from __future__ import annotations

import socket
import sys

from sg2im.config.serve import ServeConfig


def free_or(port: int, host: str) -> int:
    """``port`` if it is free on ``host``, else a free one chosen by the system."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
            return port
        except OSError:
            s.bind((host, 0))
            return s.getsockname()[1]


def serve(cfg: ServeConfig) -> None:
    """Load the checkpoint once, print the URL, serve until interrupted."""
    from pathlib import Path

    import uvicorn

    from sg2im.serve.app import create_app
    from sg2im.serve.engine import Engine

    engine = Engine.load(cfg.checkpoint, cfg.device, cfg.trust_checkpoint)
    app = create_app(engine, Path(cfg.figures), cfg.max_body_bytes, cfg.concurrency)
    port = cfg.port or free_or(8000, cfg.host)
    vocab = engine.vocab()
    print(f"sg2im editor: {cfg.checkpoint} ({vocab['dataset'] or 'model'}, {len(vocab['objects'])} objects, "
          f"{vocab['image_size'][0]}x{vocab['image_size'][1]} px, {engine.device})", flush=True)
    print(f"open http://{cfg.host}:{port}/  (API: http://{cfg.host}:{port}/docs; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=cfg.host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    from sg2im.config.loader import load_stage, run_stage

    def run() -> None:
        serve(load_stage("serve", ServeConfig, argv, description="The interactive scene-graph editor.").config)

    run_stage(run)


if __name__ == "__main__":
    main(sys.argv[1:])
