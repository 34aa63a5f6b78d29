"""The synthetic world: objects with a name, a cartoon look, a box and a draw order, and the
relationships between them, checked against the geometry so that every relationship is true.

Coordinates are normalised to the image, ``(x0, y0, x1, y1)`` in [0, 1] with y growing
downwards; the scene samplers in :mod:`scenes` build :class:`Scene` objects with
:class:`SceneBuilder`, the renderer draws them and the writers turn them into COCO / VG records.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sg2im.synthetic.shapes import shape_of

RGB = tuple[int, int, int]

# name -> (colour options [(attribute word, rgb)], texture, fixed role colours)
C = {
    "white": (240, 240, 236), "black": (38, 38, 42), "gray": (128, 128, 134), "brown": (122, 82, 48),
    "green": (60, 150, 55), "blue": (50, 90, 200), "red": (200, 45, 40), "yellow": (238, 205, 50),
    "orange": (240, 140, 40), "pink": (235, 140, 175),
}


def _c(*words: str) -> list[tuple[str, RGB]]:
    return [(w, C[w]) for w in words]


APPEARANCE: dict[str, tuple[list[tuple[str, RGB]], str, dict[int, RGB]]] = {
    # sky and background stuff
    "sky": ([("blue", (110, 170, 235))], "gradient", {}),
    "cloud": ([("white", (246, 246, 250))], "flat", {}),
    "mountain": ([("gray", (118, 118, 132))], "rocky", {}),
    "hill": ([("green", (98, 138, 64))], "noise", {}),
    "background": ([("gray", (160, 172, 190))], "haze", {}),
    "tree": ([("green", (38, 118, 44))], "leaves", {2: (96, 66, 38)}),
    "bush": ([("green", (46, 96, 38))], "leaves", {}),
    "grass": ([("green", (84, 172, 62))], "blades", {}),
    "field": ([("yellow", (180, 182, 84))], "rows", {}),
    "playingfield": ([("green", (92, 184, 96))], "lines", {}),
    "dirt": ([("brown", (150, 112, 72))], "noise", {}),
    "water": ([("blue", (78, 150, 205))], "ripple", {}),
    "ocean": ([("blue", (28, 76, 158))], "ripple", {}),
    "river": ([("blue", (62, 122, 182))], "ripple", {}),
    "wave": ([("white", (206, 232, 246))], "flat", {3: (252, 252, 255)}),
    "edge": ([("white", (244, 248, 252))], "flat", {}),
    "sand": ([("yellow", (232, 212, 152))], "noise", {}),
    "street": ([("gray", (82, 82, 88))], "noise", {}),
    "sidewalk": ([("gray", (178, 176, 170))], "tiles", {}),
    "line": ([("white", (248, 248, 242)), ("yellow", (245, 210, 40))], "flat", {}),
    "building": (_c("gray", "brown", "red"), "grid", {3: (176, 212, 236), 2: (60, 60, 70)}),
    "house": (_c("white", "yellow", "blue"), "flat", {5: (170, 50, 40), 3: (176, 212, 236), 2: (90, 60, 40)}),
    "fence": (_c("brown", "white"), "wood", {}),
    "cage": ([("gray", (150, 150, 156))], "mesh", {}),
    "wall-concrete": ([("gray", (190, 188, 182))], "noise", {}),
    "wall-brick": ([("red", (170, 80, 60))], "bricks", {}),
    "window-other": ([("blue", (176, 212, 236))], "grid", {}),
    "wall": (_c("white", "yellow"), "panels", {}),
    "table": ([("brown", (150, 100, 58))], "wood", {}),
    "clothes": ([("blue", (70, 90, 170))], "stripes", {}),
    "vegetable": ([("green", (90, 160, 60))], "chunks", {}),
    # things
    "person": (_c("green", "white", "pink"), "flat", {4: (236, 190, 150), 5: (60, 70, 120), 2: (70, 45, 30)}),
    "man": (_c("blue", "black", "gray"), "flat", {4: (224, 176, 136), 5: (110, 80, 50), 2: (40, 30, 25)}),
    "boy": (_c("red", "yellow", "orange"), "flat", {4: (240, 196, 156), 5: (50, 60, 140), 2: (120, 80, 40)}),
    "woman": (_c("pink", "red"), "flat", {4: (236, 190, 150), 2: (150, 90, 40)}),
    "car": (_c("red", "blue", "white", "black", "yellow"), "flat", {3: (160, 200, 228), 2: (30, 30, 30)}),
    "bus": (_c("yellow", "red", "blue"), "flat", {3: (150, 190, 222), 2: (30, 30, 30), 6: (240, 240, 240)}),
    "truck": (_c("white", "red"), "flat", {3: (150, 190, 222), 2: (30, 30, 30), 6: (200, 200, 200)}),
    "bicycle": (_c("red", "blue"), "flat", {2: (30, 30, 30)}),
    "motorcycle": (_c("black", "red"), "flat", {2: (30, 30, 30)}),
    "boat": (_c("white", "red", "blue"), "flat", {2: (100, 70, 40), 3: (250, 250, 245), 6: (30, 30, 30)}),
    "airplane": ([("white", (236, 238, 242))], "flat", {2: (160, 160, 170), 5: (200, 40, 40)}),
    "bird": (_c("black", "brown", "white"), "flat", {2: (60, 60, 60), 5: (240, 160, 30)}),
    "kite": (_c("red", "yellow", "blue", "orange"), "flat", {2: (60, 60, 60), 5: (250, 250, 250)}),
    "horse": (_c("brown", "black", "white"), "flat", {2: (50, 35, 25)}),
    "sheep": ([("white", (238, 236, 226))], "wool", {2: (45, 42, 40)}),
    "cow": (_c("brown", "black"), "patches", {2: (60, 45, 35)}),
    "zebra": ([("white", (245, 245, 245))], "zstripes", {2: (20, 20, 20)}),
    "giraffe": ([("yellow", (224, 178, 80))], "spots", {2: (110, 70, 30)}),
    "elephant": ([("gray", (140, 138, 140))], "noise", {2: (110, 108, 112)}),
    "dog": (_c("brown", "black"), "flat", {2: (60, 40, 20)}),
    "rock": ([("gray", (104, 102, 100))], "rocky", {}),
    "stone": ([("gray", (176, 172, 160))], "noise", {}),
    "brick": ([("red", (178, 64, 42))], "bricks", {}),
    "sign": (_c("blue", "green", "red"), "flat", {2: (120, 120, 126), 3: (250, 250, 250)}),
    "stop sign": ([("red", (210, 30, 30))], "flat", {2: (120, 120, 126), 3: (250, 250, 250)}),
    "traffic light": ([("black", (40, 40, 40))], "flat", {2: (90, 90, 90), 5: (230, 40, 40), 6: (240, 200, 40), 3: (40, 200, 80)}),
    "board": (_c("yellow", "white", "red"), "flat", {5: (40, 90, 200)}),
    "surfboard": (_c("yellow", "white", "red"), "flat", {5: (40, 90, 200)}),
    "skateboard": (_c("black", "brown"), "flat", {2: (230, 230, 230)}),
    "plate": ([("white", (246, 246, 246))], "flat", {3: (232, 232, 236)}),
    "food": (_c("brown", "orange"), "noise", {5: (200, 60, 40), 6: (90, 160, 60)}),
    "glass": ([("blue", (196, 222, 240))], "flat", {5: (170, 60, 70), 3: (250, 250, 255)}),
    "cup": (_c("white", "red"), "flat", {2: (90, 90, 90)}),
    "bowl": (_c("white", "blue"), "flat", {5: (200, 150, 60)}),
    "broccoli": ([("green", (52, 132, 44))], "chunks", {3: (150, 200, 110)}),
    "carrot": ([("orange", (240, 124, 30))], "flat", {5: (60, 150, 50)}),
    "banana": ([("yellow", (246, 220, 70))], "flat", {}),
    "pizza": ([("yellow", (240, 200, 90))], "noise", {5: (200, 140, 60), 6: (190, 40, 40)}),
    "tie": (_c("red", "blue", "black"), "stripes", {2: (40, 40, 40)}),
    "clock": ([("white", (246, 246, 240))], "flat", {2: (40, 40, 40)}),
    "tv": ([("black", (36, 36, 40))], "flat", {3: (80, 120, 170)}),
    "laptop": ([("gray", (170, 172, 178))], "flat", {2: (60, 60, 64), 3: (90, 140, 190)}),
    "chair": ([("brown", (130, 84, 44))], "wood", {2: (90, 60, 30)}),
    "sports ball": ([("white", (245, 245, 245))], "flat", {2: (30, 30, 30)}),
    "frisbee": (_c("red", "yellow"), "flat", {5: (250, 250, 250)}),
    "umbrella": (_c("red", "blue", "black"), "flat", {2: (60, 60, 60)}),
    "windshield": ([("blue", (150, 190, 222))], "flat", {}),
    "window": ([("blue", (176, 212, 236))], "flat", {}),
    "roof": ([("red", (170, 50, 40))], "flat", {}),
    "leg": ([("pink", (230, 184, 144))], "flat", {}),
    "short": ([("blue", (60, 70, 120))], "flat", {}),
    "shirt": ([("blue", (50, 90, 200))], "flat", {}),
    "tail": ([("black", (50, 35, 25))], "flat", {}),
}
# COCO / COCO-Stuff names that look like a VG name
LOOKS_LIKE = {
    "sky-other": "sky", "clouds": "cloud", "sea": "ocean", "water-other": "water", "road": "street",
    "pavement": "sidewalk", "building-other": "building", "wall-panel": "wall", "dining table": "table",
}


def appearance(name: str) -> tuple[list[tuple[str, RGB]], str, dict[int, RGB]]:
    return APPEARANCE[LOOKS_LIKE.get(name, name)]


@dataclass
class Obj:
    """One annotated object (or stuff region / attached part)."""

    name: str
    kind: str  # 'stuff' | 'thing' | 'part'
    polys: list[np.ndarray]  # polygons in normalised image coordinates
    roles: list[int]
    palette: dict[int, RGB]
    texture: str
    colour: str | None
    parent: int | None = None
    attrs: list[str] = field(default_factory=list)
    draw: bool = True  # parts are drawn by their parent

    @property
    def box(self) -> np.ndarray:
        pts = np.concatenate(self.polys)
        lo, hi = np.clip(pts.min(0), 0, 1), np.clip(pts.max(0), 0, 1)
        return np.array([lo[0], lo[1], hi[0], hi[1]])


@dataclass
class Scene:
    objs: list[Obj]
    rels: list[tuple[int, str, int]]
    kind: str


# ----------------------------------------------------------------------------- relation geometry
SUPPORT = {"on", "standing on", "parked on", "on top of", "walking on"}
ATTACHED = {"has", "wearing", "holding", "of"}
SIDE = {"by", "next to", "beside", "near"}


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def holds(pred: str, s: np.ndarray, o: np.ndarray, s_first: bool) -> bool:
    """Whether ``subject pred object`` is true for boxes ``s``, ``o`` (x0,y0,x1,y1);
    ``s_first``: the subject is drawn before (behind) the object."""
    sh, oh = s[3] - s[1], o[3] - o[1]
    scx, scy, ocy = (s[0] + s[2]) / 2, (s[1] + s[3]) / 2, (o[1] + o[3]) / 2
    inter = _overlap(s[0], s[2], o[0], o[2]) * _overlap(s[1], s[3], o[1], o[3])
    tol = 0.02
    if pred in SUPPORT:  # bottom of the subject rests on the object's upper part, centred over it
        ok = o[1] - tol <= s[3] <= o[3] + tol and o[0] <= scx <= o[2] and s[1] < o[1] + 0.5 * oh
        if pred == "on top of":
            ok = ok and s[3] <= o[1] + 0.6 * oh
        return ok
    if pred == "riding":
        return o[0] <= scx <= o[2] and o[1] - tol <= s[3] <= o[3] + tol and s[1] < o[1]
    if pred == "above":
        return scy < o[1] + 0.1 * oh and s[3] < ocy
    if pred in ("under", "below"):
        return scy > o[3] - 0.1 * oh and s[1] > ocy
    if pred == "behind":
        return inter > 0 and s_first
    if pred == "in front of":
        return inter > 0 and not s_first
    if pred == "in":
        return s[0] >= o[0] - tol and s[2] <= o[2] + tol and s[1] >= o[1] - tol and s[3] <= o[3] + tol
    if pred in SIDE:
        gap = max(o[0] - s[2], s[0] - o[2], 0.0)
        vert = _overlap(s[1], s[3], o[1], o[3]) >= 0.25 * min(sh, oh)
        inside = (s[0] >= o[0] and s[2] <= o[2] and s[1] >= o[1] and s[3] <= o[3]) or (
            o[0] >= s[0] and o[2] <= s[2] and o[1] >= s[1] and o[3] <= s[3])
        return vert and gap <= (0.3 if pred == "near" else 0.2) and not inside
    if pred in ATTACHED:  # the part (object; subject for 'of') lies mostly on the other box
        part, whole = (s, o) if pred == "of" else (o, s)
        pa = (part[2] - part[0]) * (part[3] - part[1])
        pi = _overlap(part[0], part[2], whole[0], whole[2]) * _overlap(part[1], part[3], whole[1], whole[3])
        return pa > 0 and pi >= 0.5 * pa
    if pred == "eating":
        return inter > 0
    if pred == "looking at":
        return True
    if pred == "along":
        return o[0] <= scx <= o[2] and abs(s[3] - o[1]) <= 0.12
    raise KeyError(f"no geometry rule for predicate {pred!r}")


class SceneBuilder:
    """Collects objects in draw order (first = furthest back) and true relationships."""

    def __init__(self, rng: np.random.Generator, kind: str, part_min: float = 0.0):
        self.rng = rng
        self.kind = kind
        self.objs: list[Obj] = []
        self.rels: list[tuple[int, str, int]] = []
        self.part_min = part_min

    def region(self, name: str, polys: list[np.ndarray], colour: int | None = None) -> int:
        """A stuff region (or any object given by its polygons), drawn with role 1."""
        colours, texture, fixed = appearance(name)
        word, rgb = colours[self.rng.integers(len(colours)) if colour is None else colour]
        self.objs.append(Obj(name, "stuff", polys, [1] * len(polys), {1: rgb, **fixed}, texture, word))
        return len(self.objs) - 1

    def thing(self, name: str, box: tuple[float, float, float, float], flip: bool = False,
              parts: tuple[str, ...] = (), kind: str = "thing", **kw) -> int:
        """A thing of the given box; ``parts`` names attached parts to annotate as objects too."""
        colours, texture, fixed = appearance(name)
        word, rgb = colours[self.rng.integers(len(colours))]
        shape, sub = shape_of(name, self.rng, **kw)
        x0, y0, x1, y1 = box
        # fit the silhouette to the box exactly, so the annotated box is the intended one
        pts = np.concatenate([p for p, _ in shape])
        lo, span = pts.min(0), np.maximum(np.ptp(pts, 0), 1e-6)
        shape = [((p - lo) / span, r) for p, r in shape]
        sub = {k: [(p - lo) / span for p in v] for k, v in sub.items()}

        def place(p: np.ndarray) -> np.ndarray:
            u = 1.0 - p[:, 0] if flip else p[:, 0]
            return np.stack([x0 + u * (x1 - x0), y0 + p[:, 1] * (y1 - y0)], 1)

        palette = {1: rgb, 2: tuple(int(c * 0.45) for c in rgb), 3: (235, 240, 245), 4: (236, 190, 150),
                   5: (60, 60, 60), 6: (220, 220, 220), **fixed}
        obj = Obj(name, kind, [place(p) for p, _ in shape], [r for _, r in shape], palette, texture, word)
        self.objs.append(obj)
        idx = len(self.objs) - 1
        for part in parts:
            polys = [place(p) for p in sub.get(part, [])]
            if not polys:
                continue
            pobj = Obj(part, "part", polys, [0] * len(polys), {}, "flat", None, parent=idx, draw=False)
            b = pobj.box
            if min(b[2] - b[0], b[3] - b[1]) < self.part_min:
                continue  # too small to annotate (still drawn as part of its parent)
            pobj.colour = _part_colour(part, obj)
            self.objs.append(pobj)
        return idx

    def parts_of(self, idx: int) -> list[int]:
        return [i for i, o in enumerate(self.objs) if o.parent == idx]

    def rel(self, s: int, pred: str, o: int) -> bool:
        """Add ``s pred o`` if the picture makes it true; return whether it was added."""
        if s == o or s is None or o is None:
            return False
        if holds(pred, self.objs[s].box, self.objs[o].box, self._order(s) < self._order(o)):
            self.rels.append((s, pred, o))
            return True
        return False

    def first_true(self, s: int, preds: list[str], o: int) -> bool:
        for p in preds:
            if self.rel(s, p, o):
                return True
        return False

    def _order(self, i: int) -> float:
        """Draw order; a part is drawn with its parent, just after it."""
        o = self.objs[i]
        return o.parent + 0.5 if o.parent is not None else float(i)

    def scene(self) -> Scene:
        return Scene(self.objs, self.rels, self.kind)


def _part_colour(part: str, parent: Obj) -> str | None:
    role = {"shirt": 1, "short": 5, "leg": 4, "tail": 2, "windshield": 3, "roof": 5, "window": 3}.get(part)
    rgb = parent.palette.get(role) if role else None
    return nearest_colour(rgb) if rgb is not None else None


def nearest_colour(rgb: RGB) -> str:
    """The colour word whose reference RGB is closest (what a person would call it)."""
    names = list(C) + ["blue", "white"]
    ref = np.array([C[n] for n in C] + [(176, 212, 236), (206, 232, 246)], float)
    d = ((ref - np.asarray(rgb, float)) ** 2).sum(1)
    return names[int(d.argmin())]
