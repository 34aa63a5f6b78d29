"""Settings of the scene-graph editor (``sg2im serve``, ``python -m sg2im.serve``, ``make serve``)."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import setting


@dataclass(frozen=True)
class ServeConfig:
    HOME = None

    checkpoint: str = setting("models/vg/sg2im.pt", "Generator checkpoint the editor runs (stripped or full; "
                              "models/released/vg128.pt after download_models).", new=True, local=True)
    trust_checkpoint: bool = setting(False, "1 = load the checkpoint with pickle (weights_only=False); only for files "
                                     "you trust.", new=True)
    host: str = setting("127.0.0.1", "Address to listen on (127.0.0.1: this machine only).", new=True, local=True)
    port: int = setting(0, "Port (0: 8000 if free, else any free port).", new=True, local=True)
    device: str = setting("auto", "auto, cpu, gpu or cuda.", choices=("auto", "cpu", "gpu", "cuda"), new=True,
                          local=True)
    figures: str = setting("scene_graphs", "Folder of the paper's figure graphs offered in the editor's menu.",
                           new=True, local=True)
    concurrency: int = setting(2, "Generations run at once (the others wait; the server stays responsive).",
                               new=True, local=True)
    max_body_bytes: int = setting(64000, "Largest request body accepted (413 above).", new=True, local=True)

    def check(self) -> None:
        if self.concurrency < 1 or self.max_body_bytes < 1000:
            raise ValueError("concurrency must be >= 1 and max_body_bytes >= 1000")
