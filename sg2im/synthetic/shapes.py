"""Cartoon silhouettes: each object kind is a few polygons in unit box coordinates.

A shape is ``(parts, sub)``: ``parts`` is a list of ``(polygon (N,2) in [0,1]^2, colour role)``
drawn in order; ``sub`` names the polygons of attached parts (windshield, leg, tail, ...) so that
they can also be annotated as objects of their own.  Roles: 1 main colour (with the class
texture), 2 dark, 3 light/glass, 4 skin, 5 accent, 6 second accent.
"""
from __future__ import annotations

import numpy as np

Part = tuple[np.ndarray, int]
Shape = tuple[list[Part], dict[str, list[np.ndarray]]]


def ell(cx: float, cy: float, rx: float, ry: float, n: int = 16, a0: float = 0.0, a1: float = 2 * np.pi) -> np.ndarray:
    t = np.linspace(a0, a1, n, endpoint=(a1 - a0) < 2 * np.pi - 1e-6)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def poly(*pts: float) -> np.ndarray:
    return np.asarray(pts, float).reshape(-1, 2)


def blob(rng: np.random.Generator, n: int = 11, rough: float = 0.18) -> np.ndarray:
    """An irregular closed blob filling roughly the unit box."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1.0 - rough * rng.random(n)
    return np.stack([0.5 + 0.5 * r * np.cos(t), 0.5 + 0.5 * r * np.sin(t)], 1)


# ----------------------------------------------------------------------------- animals, people
QUADRUPEDS = {
    # body (cx, cy, rx, ry), leg top/bottom, neck to head (hx, hy, hr), tail
    "sheep": dict(body=(0.45, 0.42, 0.40, 0.27), legs=(0.6, 1.0, 0.07), head=(0.86, 0.45, 0.13), neck=0.0),
    "cow": dict(body=(0.45, 0.42, 0.38, 0.22), legs=(0.55, 1.0, 0.07), head=(0.88, 0.32, 0.11), neck=0.0),
    "horse": dict(body=(0.5, 0.42, 0.3, 0.17), legs=(0.5, 1.0, 0.06), head=(0.9, 0.12, 0.09), neck=0.09),
    "zebra": dict(body=(0.5, 0.44, 0.31, 0.18), legs=(0.52, 1.0, 0.06), head=(0.9, 0.16, 0.09), neck=0.09),
    "giraffe": dict(body=(0.4, 0.5, 0.3, 0.12), legs=(0.55, 1.0, 0.05), head=(0.85, 0.06, 0.08), neck=0.07),
    "elephant": dict(body=(0.45, 0.4, 0.4, 0.28), legs=(0.55, 1.0, 0.11), head=(0.84, 0.32, 0.16), neck=0.0),
    "dog": dict(body=(0.45, 0.45, 0.34, 0.18), legs=(0.55, 1.0, 0.07), head=(0.85, 0.25, 0.12), neck=0.05),
}


def quadruped(kind: str, head_down: bool = False) -> Shape:
    q = QUADRUPEDS[kind]
    bx, by, brx, bry = q["body"]
    ly0, ly1, lw = q["legs"]
    hx, hy, hr = q["head"]
    if head_down:
        hy = 0.75
    parts: list[Part] = []
    legs = [rect(u - lw / 2, ly0, u + lw / 2, ly1) for u in (bx - brx * 0.7, bx - brx * 0.4, bx + brx * 0.4, bx + brx * 0.7)]
    left = bx - brx
    tail = poly(left + 0.06, by - bry * 0.4, max(left - 0.17, 0.0), by + 0.33, max(left - 0.07, 0.02), by + 0.38, left + 0.09, by + 0.02)
    parts += [(leg, 2) for leg in legs]
    parts.append((tail, 2))
    parts.append((ell(bx, by, brx, bry), 1))
    if q["neck"] or head_down:
        w = max(q["neck"], 0.07)
        parts.append((poly(bx + brx * 0.6, by - bry * 0.5, hx - w / 2, hy, hx + w / 2, hy + w, bx + brx * 0.9, by + bry * 0.2), 1))
    if kind == "elephant":
        parts.append((poly(hx + hr * 0.4, hy, hx + hr * 0.9, hy, hx + hr * 1.0, 0.95, hx + hr * 0.6, 0.95), 1))  # trunk
        parts.append((ell(hx - hr * 0.6, hy + 0.02, hr * 0.7, hr * 1.1), 2))  # ear
    head_role = 2 if kind == "sheep" else 1
    parts.append((ell(hx, hy, hr * 1.2, hr), head_role))
    if kind == "giraffe":
        parts.append((rect(hx - 0.02, hy - 0.06, hx + 0.01, hy), 2))
    return parts, {"leg": legs[2:], "tail": [tail]}


def human(kind: str) -> Shape:
    """A standing person; ``woman`` wears a dress, everybody else a shirt and shorts."""
    head = ell(0.5, 0.1, 0.2, 0.1)
    arms = [poly(0.2, 0.22, 0.27, 0.22, 0.18, 0.55, 0.08, 0.52), poly(0.73, 0.22, 0.8, 0.22, 0.92, 0.52, 0.82, 0.55)]
    if kind == "woman":
        dress = poly(0.3, 0.2, 0.7, 0.2, 0.85, 0.72, 0.15, 0.72)
        legs = [rect(0.32, 0.72, 0.46, 1.0), rect(0.54, 0.72, 0.68, 1.0)]
        parts = [(a, 4) for a in arms] + [(dress, 1)] + [(leg, 4) for leg in legs] + [(head, 4)]
        return parts, {"leg": legs}
    torso = rect(0.26, 0.2, 0.74, 0.56)
    shorts = poly(0.26, 0.54, 0.74, 0.54, 0.8, 0.78, 0.2, 0.78)
    legs = [poly(0.3, 0.76, 0.47, 0.76, 0.3, 1.0, 0.12, 1.0), poly(0.53, 0.76, 0.7, 0.76, 0.88, 1.0, 0.7, 1.0)]
    hair = ell(0.5, 0.05, 0.2, 0.05, a0=np.pi, a1=2 * np.pi)
    parts = [(a, 1) for a in arms] + [(torso, 1), (shorts, 5)] + [(leg, 4) for leg in legs] + [(head, 4), (hair, 2)]
    return parts, {"shirt": [torso] + arms, "short": [shorts], "leg": legs}


# ----------------------------------------------------------------------------- vehicles
def car() -> Shape:
    body = poly(0.0, 0.45, 0.18, 0.4, 0.82, 0.4, 1.0, 0.48, 1.0, 0.82, 0.0, 0.82)
    cabin = poly(0.22, 0.42, 0.3, 0.05, 0.7, 0.05, 0.86, 0.42)
    windshield = poly(0.62, 0.1, 0.7, 0.1, 0.84, 0.4, 0.6, 0.4)
    side = poly(0.3, 0.1, 0.56, 0.1, 0.56, 0.4, 0.26, 0.4)
    wheels = [ell(u, 0.82, 0.12, 0.18) for u in (0.22, 0.78)]
    parts = [(cabin, 1), (body, 1), (side, 3), (windshield, 3)] + [(w, 2) for w in wheels]
    return parts, {"windshield": [windshield]}


def bus() -> Shape:
    body = rect(0.0, 0.0, 1.0, 0.86)
    windows = [rect(u, 0.1, u + 0.13, 0.42) for u in (0.04, 0.2, 0.36, 0.52)]
    windshield = poly(0.76, 0.06, 0.98, 0.06, 0.98, 0.58, 0.76, 0.58)
    stripe = rect(0.0, 0.6, 1.0, 0.68)
    wheels = [ell(u, 0.86, 0.08, 0.14) for u in (0.18, 0.8)]
    parts = [(body, 1), (stripe, 6)] + [(w, 3) for w in windows] + [(windshield, 3)] + [(w, 2) for w in wheels]
    return parts, {"windshield": [windshield]}


def truck() -> Shape:
    box = rect(0.0, 0.0, 0.66, 0.8)
    cab = poly(0.68, 0.25, 0.88, 0.25, 1.0, 0.5, 1.0, 0.8, 0.68, 0.8)
    win = poly(0.72, 0.3, 0.86, 0.3, 0.95, 0.5, 0.72, 0.5)
    wheels = [ell(u, 0.84, 0.09, 0.16) for u in (0.16, 0.5, 0.84)]
    return [(box, 6), (cab, 1), (win, 3)] + [(w, 2) for w in wheels], {}


def two_wheeler(motor: bool) -> Shape:
    wheels = [ell(u, 0.72, 0.2, 0.28) for u in (0.2, 0.8)]
    frame = poly(0.2, 0.7, 0.45, 0.3, 0.8, 0.7, 0.75, 0.75, 0.45, 0.42, 0.25, 0.75)
    parts = [(w, 2) for w in wheels] + [(ell(u, 0.72, 0.1, 0.14), 3) for u in (0.2, 0.8)] + [(frame, 1)]
    if motor:
        parts.append((ell(0.5, 0.45, 0.22, 0.14), 1))
    parts.append((rect(0.35, 0.22, 0.55, 0.3), 2))
    return parts, {}


def boat() -> Shape:
    hull = poly(0.0, 0.62, 1.0, 0.62, 0.84, 1.0, 0.14, 1.0)
    mast = rect(0.47, 0.0, 0.52, 0.64)
    sail = poly(0.53, 0.04, 0.53, 0.58, 0.92, 0.58)
    sail2 = poly(0.46, 0.12, 0.46, 0.58, 0.14, 0.58)
    return [(mast, 2), (sail, 3), (sail2, 3), (hull, 1), (rect(0.05, 0.66, 0.95, 0.72), 6)], {}


def airplane() -> Shape:
    body = ell(0.5, 0.5, 0.5, 0.14)
    wing = poly(0.4, 0.5, 0.62, 0.5, 0.45, 1.0, 0.35, 1.0)
    wing2 = poly(0.42, 0.45, 0.58, 0.45, 0.5, 0.12, 0.44, 0.12)
    fin = poly(0.0, 0.5, 0.12, 0.45, 0.06, 0.0, 0.0, 0.0)
    return [(wing2, 2), (fin, 5), (body, 1), (wing, 1)], {}


# ----------------------------------------------------------------------------- sky and nature
def bird() -> Shape:
    body = ell(0.5, 0.6, 0.32, 0.2)
    wing = poly(0.35, 0.55, 0.65, 0.55, 0.4, 0.0)
    beak = poly(0.8, 0.52, 1.0, 0.6, 0.8, 0.66)
    return [(body, 1), (wing, 2), (beak, 5), (ell(0.72, 0.52, 0.14, 0.14), 1)], {}


def kite() -> Shape:
    diamond = poly(0.5, 0.0, 1.0, 0.32, 0.5, 0.72, 0.0, 0.32)
    cross = poly(0.48, 0.0, 0.52, 0.0, 0.52, 0.72, 0.48, 0.72)
    tail = poly(0.48, 0.7, 0.53, 0.7, 0.38, 1.0, 0.33, 1.0)
    return [(diamond, 1), (poly(0.5, 0.0, 1.0, 0.32, 0.5, 0.32), 5), (cross, 2), (tail, 5)], {}


def cloud() -> Shape:
    return [(ell(0.3, 0.62, 0.28, 0.3), 1), (ell(0.55, 0.42, 0.3, 0.4), 1), (ell(0.76, 0.62, 0.24, 0.3), 1),
            (rect(0.1, 0.6, 0.92, 0.92), 1)], {}


def tree() -> Shape:
    trunk = rect(0.42, 0.6, 0.58, 1.0)
    return [(trunk, 2), (ell(0.5, 0.36, 0.5, 0.36), 1), (ell(0.35, 0.5, 0.25, 0.18), 1), (ell(0.66, 0.5, 0.25, 0.18), 1)], {}


def bush() -> Shape:
    return [(ell(0.3, 0.62, 0.3, 0.38), 1), (ell(0.62, 0.5, 0.36, 0.5), 1), (ell(0.8, 0.7, 0.2, 0.3), 1)], {}


def rock(rng: np.random.Generator, rough: float) -> Shape:
    b = blob(rng, 9, rough)
    b[:, 1] = np.maximum(b[:, 1], 0.0)
    return [(b, 1)], {}


def wave() -> Shape:
    t = np.linspace(0, 1, 12)
    top = np.stack([t, 0.5 - 0.45 * np.sin(np.pi * t) ** 2], 1)
    curl = poly(0.55, 0.08, 0.8, 0.05, 0.72, 0.4)
    crest = np.concatenate([top, poly(1.0, 1.0, 0.0, 1.0)])
    foam = np.stack([t * 0.8 + 0.1, 0.5 - 0.45 * np.sin(np.pi * (t * 0.8 + 0.1)) ** 2 + 0.0], 1)
    foam = np.concatenate([foam, foam[::-1] + [0, 0.12]])
    return [(crest, 1), (foam, 3), (curl, 3)], {}


# ----------------------------------------------------------------------------- street things
def sign(octagon: bool) -> Shape:
    pole = rect(0.44, 0.4, 0.56, 1.0)
    panel = ell(0.5, 0.22, 0.5, 0.22, n=8, a0=np.pi / 8, a1=np.pi / 8 + 2 * np.pi) if octagon else rect(0.0, 0.0, 1.0, 0.45)
    bar = rect(0.2, 0.18, 0.8, 0.27)
    return [(pole, 2), (panel, 1), (bar, 3)], {}


def traffic_light() -> Shape:
    pole = rect(0.4, 0.5, 0.6, 1.0)
    box = rect(0.1, 0.0, 0.9, 0.55)
    lights = [(ell(0.5, v, 0.25, 0.07), r) for v, r in ((0.1, 5), (0.27, 6), (0.44, 3))]
    return [(pole, 2), (box, 1)] + lights, {}


def house() -> Shape:
    body = rect(0.05, 0.42, 0.95, 1.0)
    roof = poly(0.0, 0.44, 0.5, 0.0, 1.0, 0.44)
    door = rect(0.42, 0.66, 0.58, 1.0)
    window = rect(0.12, 0.52, 0.36, 0.78)
    return [(body, 1), (roof, 5), (door, 2), (window, 3), (rect(0.64, 0.52, 0.88, 0.78), 3)], {"roof": [roof], "window": [window]}


def building(rng: np.random.Generator) -> Shape:
    body = rect(0.0, 0.0, 1.0, 1.0)
    col = rng.choice([0.08, 0.52])
    row = rng.uniform(0.08, 0.45)
    window = rect(col, row, col + 0.4, row + 0.26)
    return [(body, 1), (window, 3), (rect(col + 0.19, row, col + 0.21, row + 0.26), 2)], {"window": [window]}


def fence() -> Shape:
    parts: list[Part] = [(rect(0.0, 0.3, 1.0, 0.42), 1), (rect(0.0, 0.62, 1.0, 0.74), 1)]
    parts += [(poly(u, 0.12, u + 0.03, 0.0, u + 0.06, 0.12, u + 0.06, 1.0, u, 1.0), 1) for u in np.arange(0.0, 0.95, 0.12)]
    return parts, {}


def brick() -> Shape:
    return [(rect(0.0, 0.0, 1.0, 1.0), 1)], {}


# ----------------------------------------------------------------------------- food, table, indoor
def plate() -> Shape:
    return [(ell(0.5, 0.5, 0.5, 0.5, n=20), 1), (ell(0.5, 0.5, 0.36, 0.36, n=20), 3)], {}


def food(rng: np.random.Generator) -> Shape:
    return [(blob(rng, 10, 0.25), 1), (ell(0.4, 0.45, 0.12, 0.1), 5), (ell(0.62, 0.55, 0.1, 0.1), 6)], {}


def glass() -> Shape:
    return [(poly(0.05, 0.0, 0.95, 0.0, 0.8, 1.0, 0.2, 1.0), 1), (poly(0.14, 0.35, 0.86, 0.35, 0.8, 1.0, 0.2, 1.0), 5),
            (rect(0.22, 0.08, 0.3, 0.85), 3)], {}


def cup() -> Shape:
    return [(ell(0.85, 0.45, 0.15, 0.2), 2), (poly(0.0, 0.0, 0.8, 0.0, 0.7, 1.0, 0.1, 1.0), 1)], {}


def bowl() -> Shape:
    return [(ell(0.5, 0.3, 0.5, 0.7, a0=0, a1=np.pi, n=12), 1), (ell(0.5, 0.3, 0.5, 0.12), 5)], {}


def broccoli() -> Shape:
    stem = poly(0.4, 0.5, 0.6, 0.5, 0.58, 1.0, 0.42, 1.0)
    return [(stem, 3), (ell(0.3, 0.4, 0.28, 0.28), 1), (ell(0.7, 0.4, 0.28, 0.28), 1), (ell(0.5, 0.28, 0.3, 0.28), 1)], {}


def carrot() -> Shape:
    body = poly(0.0, 0.35, 0.78, 0.2, 0.78, 0.8)
    leaves = poly(0.76, 0.3, 1.0, 0.0, 0.92, 0.5, 1.0, 1.0, 0.76, 0.7)
    return [(leaves, 5), (body, 1)], {}


def banana() -> Shape:
    outer = ell(0.5, 0.0, 0.5, 1.0, a0=0.15, a1=np.pi - 0.15, n=12)
    inner = ell(0.5, 0.0, 0.4, 0.62, a0=np.pi - 0.3, a1=0.3, n=12)
    return [(np.concatenate([outer, inner]), 1)], {}


def pizza() -> Shape:
    parts: list[Part] = [(ell(0.5, 0.5, 0.5, 0.5, n=20), 5), (ell(0.5, 0.5, 0.44, 0.44, n=20), 1)]
    parts += [(ell(u, v, 0.08, 0.08, n=8), 6) for u, v in ((0.35, 0.35), (0.65, 0.4), (0.45, 0.68), (0.7, 0.66))]
    return parts, {}


def tie() -> Shape:
    return [(poly(0.5, 0.14, 1.0, 0.8, 0.5, 1.0, 0.0, 0.8), 1), (poly(0.2, 0.0, 0.8, 0.0, 0.65, 0.16, 0.35, 0.16), 2)], {}


def clock() -> Shape:
    return [(ell(0.5, 0.5, 0.5, 0.5, n=20), 2), (ell(0.5, 0.5, 0.42, 0.42, n=20), 1),
            (rect(0.48, 0.15, 0.53, 0.52), 2), (rect(0.48, 0.47, 0.78, 0.52), 2)], {}


def screen(laptop: bool) -> Shape:
    if laptop:
        return [(rect(0.1, 0.0, 0.9, 0.7), 2), (rect(0.15, 0.06, 0.85, 0.64), 3), (poly(0.1, 0.72, 0.9, 0.72, 1.0, 1.0, 0.0, 1.0), 1)], {}
    return [(rect(0.0, 0.0, 1.0, 0.85), 1), (rect(0.06, 0.07, 0.94, 0.78), 3), (rect(0.4, 0.85, 0.6, 1.0), 1)], {}


def chair() -> Shape:
    return [(rect(0.1, 0.0, 0.3, 1.0), 1), (rect(0.1, 0.5, 0.9, 0.62), 1), (rect(0.75, 0.6, 0.88, 1.0), 1), (rect(0.1, 0.05, 0.3, 0.5), 2)], {}


def disc(ring: bool) -> Shape:
    parts: list[Part] = [(ell(0.5, 0.5, 0.5, 0.5, n=18), 1)]
    if ring:
        parts.append((ell(0.5, 0.5, 0.3, 0.3, n=12), 5))
    else:
        parts += [(ell(0.5, 0.5, 0.16, 0.16, n=6), 2), (ell(0.15, 0.4, 0.1, 0.14, n=6), 2), (ell(0.85, 0.4, 0.1, 0.14, n=6), 2)]
    return parts, {}


def board(skate: bool) -> Shape:
    if skate:
        return [(ell(0.5, 0.4, 0.5, 0.3), 1), (ell(0.22, 0.8, 0.1, 0.2), 2), (ell(0.78, 0.8, 0.1, 0.2), 2)], {}
    return [(ell(0.5, 0.5, 0.5, 0.5), 1), (rect(0.1, 0.44, 0.9, 0.56), 5)], {}


def umbrella() -> Shape:
    return [(rect(0.48, 0.4, 0.52, 1.0), 2), (ell(0.5, 0.45, 0.5, 0.45, a0=np.pi, a1=2 * np.pi, n=14), 1)], {}


def shape_of(kind: str, rng: np.random.Generator, **kw) -> Shape:
    """The shape of one object kind (a dataset class name, COCO or VG)."""
    if kind in QUADRUPEDS:
        return quadruped(kind, head_down=kw.get("head_down", False))
    table = {
        "person": lambda: human("person"), "man": lambda: human("man"), "boy": lambda: human("boy"),
        "woman": lambda: human("woman"), "car": car, "bus": bus, "truck": truck,
        "bicycle": lambda: two_wheeler(False), "motorcycle": lambda: two_wheeler(True), "boat": boat,
        "airplane": airplane, "bird": bird, "kite": kite, "cloud": cloud, "clouds": cloud, "tree": tree,
        "bush": bush, "rock": lambda: rock(rng, 0.3), "stone": lambda: rock(rng, 0.1), "wave": wave,
        "sign": lambda: sign(False), "stop sign": lambda: sign(True), "traffic light": traffic_light,
        "house": house, "building": lambda: building(rng), "fence": fence, "brick": brick, "plate": plate,
        "food": lambda: food(rng), "glass": glass, "cup": cup, "bowl": bowl, "broccoli": broccoli,
        "carrot": carrot, "banana": banana, "pizza": pizza, "tie": tie, "clock": clock,
        "tv": lambda: screen(False), "laptop": lambda: screen(True), "chair": chair,
        "sports ball": lambda: disc(False), "frisbee": lambda: disc(True), "skateboard": lambda: board(True),
        "surfboard": lambda: board(False), "board": lambda: board(False), "umbrella": umbrella,
    }
    return table[kind]()
