"""Scene graphs drawn by Graphviz ``dot`` (the original vis.py look: objects lightpink1, predicates
lightblue1, top-down)."""
from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from sg2im.errors import Sg2imError

DRAWING_DPI = 72  # scene graphs drawn small (figure sheets, dataset cards); the original drew at 300
HIDDEN_OBJECTS = ("__image__",)
HIDDEN_PREDICATES = ("__in_image__",)


class GraphvizMissing(Sg2imError):
    """Graphviz ``dot`` is not installed."""


def scene_graph_dot(objects: Sequence[str], triples: Sequence[Sequence], orientation: str = "V",
                    ignore_dummies: bool = True, fit: bool = True, dpi: int = 300) -> str:
    """The Graphviz text of a scene graph: rounded boxes, objects lightpink1, predicates
    lightblue1 (one node per triple), top-down (``V``) or left-right (``H``). ``fit``: shrink a large graph
    into 5 x 3 inches (the original's look); without it every graph is drawn at the same scale. ``dpi``: 300
    as the original; figure sheets, which shrink the drawings anyway, ask for fewer pixels."""
    if orientation not in ("V", "H"):
        raise ValueError(f"orientation must be 'V' or 'H', got {orientation!r}")
    size = 'size="5,3",ratio="compress",' if fit else ""
    lines = [
        "digraph{",
        f'graph [{size}dpi="{int(dpi)}",bgcolor="transparent"]',
        f"rankdir={'TD' if orientation == 'V' else 'LR'}",
        'nodesep="0.5"',
        'ranksep="0.5"',
        'node [shape="box",style="rounded,filled",fontsize="48",color="none"]',
        'node [fillcolor="lightpink1"]',
    ]
    for i, name in enumerate(objects):
        if ignore_dummies and name in HIDDEN_OBJECTS:
            continue
        lines.append(f'{i} [label="{_escape(name)}"]')
    lines.append('node [fillcolor="lightblue1"]')
    next_id = len(objects)
    edge = "penwidth=6,arrowsize=1.5,weight=1.2"
    for s, p, o in triples:
        if ignore_dummies and p in HIDDEN_PREDICATES:
            continue
        lines += [f'{next_id} [label="{_escape(p)}"]', f"{int(s)}->{next_id} [{edge}]", f"{next_id}->{int(o)} [{edge}]"]
        next_id += 1
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def decode_scene_graph(objs: Tensor, triples: Tensor, vocab: dict) -> tuple[list[str], list[list]]:
    """Index tensors -> names with the vocabulary (``object_idx_to_name``, ``pred_idx_to_name``;
    the original vis.py wrongly used ``pred_name_to_idx`` here)."""
    names = [vocab["object_idx_to_name"][int(i)] for i in objs.tolist()]
    rels = [[int(s), vocab["pred_idx_to_name"][int(p)], int(o)] for s, p, o in triples.tolist()]
    return names, rels


def dot_available() -> bool:
    return shutil.which("dot") is not None


def draw_scene_graph(objects: Sequence[str] | Tensor, triples: Sequence[Sequence] | Tensor,
                     vocab: dict | None = None, orientation: str = "V", ignore_dummies: bool = True,
                     timeout: float = 60.0, fit: bool = True, dpi: int = 300) -> np.ndarray:
    """Render a scene graph with Graphviz ``dot`` (RGB on white).

    ``objects`` are names and ``triples`` ``[s, predicate_name, o]``; or index tensors with
    ``vocab``; ``fit`` and ``dpi`` as in :func:`scene_graph_dot`.  Raises :class:`GraphvizMissing` when ``dot`` is not
    installed."""
    if vocab is not None and torch.is_tensor(objects):
        objects, triples = decode_scene_graph(objects, triples, vocab)
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            "Graphviz 'dot' is not installed (needed to draw scene graphs). Install it "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz) or run with "
            "--draw_scene_graphs 0."
        )
    text = scene_graph_dot(list(objects), list(triples), orientation, ignore_dummies, fit, dpi)
    result = subprocess.run([dot, "-Tpng"], input=text.encode(), capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise Sg2imError(f"Graphviz dot failed ({result.returncode}): {result.stderr.decode(errors='replace')[:500]}")
    image = Image.open(BytesIO(result.stdout)).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image).convert("RGB"))


def drawing_timeout(objects: Sequence, triples: Sequence) -> float:
    """Seconds Graphviz may take for a graph: 10 plus 2 per object and relationship (a fixed 60 s either waited
    too long for a small graph or cut a large one short)."""
    return 10.0 + 2.0 * (len(objects) + len(triples))


def try_draw_scene_graph(objects: Sequence[str], triples: Sequence[Sequence], what: str, **options) -> np.ndarray | None:
    """:func:`draw_scene_graph`, or None with a warning naming ``what`` (the graph) when Graphviz is missing, too
    slow (:func:`drawing_timeout`) or fails: a drawing is never worth failing a run for."""
    try:
        return draw_scene_graph(objects, triples, timeout=drawing_timeout(objects, triples), **options)
    except GraphvizMissing:
        reason = "Graphviz 'dot' is not installed (apt-get install graphviz)"
    except subprocess.TimeoutExpired:
        reason = f"Graphviz took longer than {drawing_timeout(objects, triples):.0f} s"
    except (Sg2imError, OSError, ValueError) as exc:
        reason = f"Graphviz failed: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
    print(f"WARNING: {what}: not drawn ({reason}); the images are written without it", flush=True)
    return None
