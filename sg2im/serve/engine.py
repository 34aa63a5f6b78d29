"""The editor's model: one checkpoint, loaded once (weights-only unless trusted); a scene graph (and, after a
layout edit, its boxes) and a seed in; the generated image, the layout (boxes and masks) and the graph's
drawing out. A plain function of its inputs: the web app runs it off the event loop, one call at a time on
the model (the layout noise comes from the global generator, seeded per call)."""
from __future__ import annotations

import base64
import io
import math
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from sg2im.errors import DataError
from sg2im.scene_graph import IMAGE_OBJECT, IN_IMAGE_PREDICATE, encode_scene_graphs, trained_max_objects
from sg2im.vis.graph import DRAWING_DPI, scene_graph_dot
from sg2im.vis.images import deprocess_images

FIELD = re.compile(r"(objects\[\d+\]|relationships\[\d+\]|boxes\[\d+\]|\"objects\"|\"relationships\"|boxes)")


def error_field(message: str) -> str | None:
    """The request field an error names (``objects[2]``, ``relationships[0]``, ``boxes[1]`` ...), if any."""
    found = FIELD.search(message)
    return found.group(1).strip('"') if found else None


def png_data_url(image) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def graph_svg(objects: list[str], relationships: list) -> str | None:
    """The scene graph drawn by Graphviz as SVG (the look of generate's drawings); None without Graphviz."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    text = scene_graph_dot(objects, relationships, fit=False, dpi=DRAWING_DPI)
    done = subprocess.run([dot, "-Tsvg"], input=text.encode(), capture_output=True, timeout=5 + len(objects))
    return done.stdout.decode() if done.returncode == 0 else None


def check_boxes(boxes: Any, n: int) -> torch.Tensor:
    """``n`` boxes [x0, y0, x1, y1] in image fractions, x0 < x1 and y0 < y1, as a tensor; DataError naming the
    box otherwise."""
    if not isinstance(boxes, list) or len(boxes) != n:
        raise DataError(f"boxes must be a list of {n} boxes (one per object), got "
                        f"{len(boxes) if isinstance(boxes, list) else type(boxes).__name__}")
    for i, box in enumerate(boxes):
        numbers = isinstance(box, list) and len(box) == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)
        if not numbers or not (-0.5 <= box[0] < box[2] <= 1.5 and -0.5 <= box[1] < box[3] <= 1.5):
            raise DataError(f"boxes[{i}] must be [x0, y0, x1, y1] in image fractions with x0 < x1 and y0 < y1, "
                            f"got {box!r}")
    return torch.tensor(boxes, dtype=torch.float32)


@dataclass
class Engine:
    model: Any
    checkpoint: str
    args: dict
    device: torch.device
    max_objects: int | None
    counters: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # the model runs one call at a time
    stats: threading.Lock = field(default_factory=threading.Lock)
    active: int = 0
    most_active: int = 0
    served: int = 0

    @classmethod
    def load(cls, path: str, device: str = "auto", trust: bool = False) -> "Engine":
        from sg2im.device import resolve_device
        from sg2im.model import load_generator

        dev = resolve_device(device)
        model, ckpt = load_generator(path, dev, trust_checkpoint=trust)
        args = ckpt.get("args") or {}
        return cls(model.eval(), str(path), args, dev, trained_max_objects(args), ckpt.get("counters") or {})

    def vocab(self) -> dict:
        v = self.model.vocab
        return {"objects": [n for n in v["object_idx_to_name"] if n not in (IMAGE_OBJECT, "NONE")],
                "predicates": [p for p in v["pred_idx_to_name"] if p != IN_IMAGE_PREDICATE],
                "image_size": list(self.model.image_size), "max_objects": self.max_objects,
                "dataset": self.args.get("dataset"), "checkpoint": self.checkpoint,
                "iterations": self.counters.get("t") or self.args.get("num_iterations")}

    def generate(self, graph: Any, boxes: Any = None, seed: int = 0) -> dict:
        """The image, layout and drawing of ``graph`` (``boxes``: a layout to keep instead of the predicted one)."""
        start = time.perf_counter()
        objs, triples, obj_to_img = encode_scene_graphs(graph, self.model.vocab, device=self.device,
                                                        source="the request", max_objects=self.max_objects)
        n = len(graph["objects"])
        given = None
        if boxes is not None:
            given = torch.cat([check_boxes(boxes, n), torch.tensor([[0.0, 0.0, 1.0, 1.0]])]).to(self.device)
        with self.stats:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            with self.lock, torch.no_grad():
                torch.manual_seed(int(seed))
                imgs, boxes_pred, masks_pred, _ = self.model(objs, triples, obj_to_img, boxes_gt=given)
        finally:
            with self.stats:
                self.active -= 1
        layout = (given if given is not None else boxes_pred)[:n].clamp(-0.5, 1.5)
        masks = masks_pred[:n].cpu() if masks_pred is not None else None
        with self.stats:
            self.served += 1
        return {"image": png_data_url(deprocess_images(imgs)[0]),
                "boxes": [[round(float(v), 4) for v in box] for box in layout.cpu()],
                "masks": [[[round(float(v), 3) for v in row] for row in m] for m in masks] if masks is not None else None,
                "layout_given": given is not None, "seed": int(seed),
                "graph_svg": graph_svg(list(graph["objects"]), list(graph.get("relationships", []))),
                "ms": round(1000 * (time.perf_counter() - start), 1)}
