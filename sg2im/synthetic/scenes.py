"""Scene samplers: where each class typically is, how big, and what relates to what.

Four outdoor/indoor templates (pasture, street, beach, table) plus two COCO-only ones (sports,
portrait) produce every scene.  Classes have a typical size and place (sky in the top band,
ground in the bottom band, animals/people/vehicles standing on the ground line and larger when
lower in the picture, kites/birds/clouds in the sky, boats in water, windows on buildings, food
on plates) with moderate jitter, so the scene graph predicts the layout.  The same samplers
serve COCO (``vocab='coco'``: COCO / COCO-Stuff names, relationships unused) and Visual Genome
(``vocab='vg'``: VG names, the relationships are kept; each is checked against the geometry).
"""
from __future__ import annotations

import numpy as np

from sg2im.synthetic.shapes import ell, poly, rect
from sg2im.synthetic.vocab import COCO_STUFF_NAMES
from sg2im.synthetic.world import Scene, SceneBuilder

# typical (w, h) of a thing at mid-ground, as a fraction of the image
SIZE = {
    "sheep": (0.26, 0.2), "cow": (0.3, 0.24), "horse": (0.38, 0.32), "zebra": (0.34, 0.3), "giraffe": (0.3, 0.52),
    "elephant": (0.42, 0.36), "dog": (0.2, 0.15), "person": (0.17, 0.38), "man": (0.18, 0.42), "boy": (0.15, 0.3),
    "woman": (0.17, 0.38), "car": (0.36, 0.19), "bus": (0.55, 0.3), "truck": (0.5, 0.28), "bicycle": (0.22, 0.16),
    "motorcycle": (0.24, 0.18), "sign": (0.13, 0.3), "stop sign": (0.13, 0.3), "traffic light": (0.09, 0.3),
    "tree": (0.28, 0.44), "bush": (0.22, 0.14), "rock": (0.17, 0.11), "stone": (0.12, 0.1), "brick": (0.2, 0.11),
    "boat": (0.26, 0.22), "bird": (0.12, 0.09), "kite": (0.13, 0.17), "cloud": (0.3, 0.14), "airplane": (0.36, 0.14),
    "wave": (0.38, 0.14), "board": (0.22, 0.09), "surfboard": (0.22, 0.09), "skateboard": (0.17, 0.08),
    "plate": (0.3, 0.13), "food": (0.17, 0.1), "glass": (0.1, 0.2), "cup": (0.1, 0.12), "bowl": (0.22, 0.12),
    "broccoli": (0.2, 0.2), "carrot": (0.22, 0.09), "banana": (0.2, 0.1), "pizza": (0.3, 0.14),
    "sports ball": (0.07, 0.07), "frisbee": (0.1, 0.05), "umbrella": (0.3, 0.3), "chair": (0.2, 0.3),
    "tv": (0.28, 0.24), "laptop": (0.26, 0.2), "clock": (0.14, 0.14), "tie": (0.08, 0.24),
}
VG_NAMES = {"sky": "sky", "cloud": "cloud", "ground": "grass", "field": "field", "water": "water", "sea": "ocean",
            "street": "street", "sidewalk": "sidewalk", "building": "building", "wall": "wall", "table": "table",
            "surfboard": "board", "person": "person"}
COCO_NAMES = {"sky": "sky-other", "cloud": "clouds", "ground": "grass", "field": "playingfield",
              "water": "water-other", "sea": "sea", "street": "road", "sidewalk": "pavement",
              "building": "building-other", "wall": "wall-panel", "table": "table", "surfboard": "surfboard",
              "person": "person", "mountain": "mountain", "hill": "hill", "tree": "tree", "bush": "bush"}
COCO_STUFF_LIKE = {"tree", "bush", "mountain", "hill", "clouds", "fence", "cage", "rock", "stone"}


def band(top: float, bottom: float, rng: np.random.Generator, amp: float = 0.015, n: int = 24) -> np.ndarray:
    """A full-width region from a gently wavy top edge down to ``bottom``."""
    x = np.linspace(0, 1, n)
    ph, fr = rng.uniform(0, 6.28), rng.uniform(4, 9)
    y = top + amp * np.sin(fr * x + ph)
    return np.concatenate([np.stack([x, y], 1), poly(1.0, bottom, 0.0, bottom)])


class Sampler:
    """Shared placement helpers for one scene."""

    def __init__(self, rng: np.random.Generator, vocab: str, kind: str, part_min: float):
        self.rng, self.vocab = rng, vocab
        self.b = SceneBuilder(rng, kind, part_min=part_min)
        self.names = VG_NAMES if vocab == "vg" else COCO_NAMES
        self.min_size = 0.09 if vocab == "vg" else 0.0

    def n(self, role: str) -> str:
        return self.names.get(role, role)

    def u(self, a: float, b: float) -> float:
        return float(self.rng.uniform(a, b))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def size(self, name: str, scale: float) -> tuple[float, float]:
        w0, h0 = SIZE[name]
        j = self.u(0.9, 1.1)
        w, h = w0 * scale * j, h0 * scale * j
        if self.vocab == "vg" and scale >= 0.5 and min(w, h) < self.min_size:  # keep objects above the size filter
            f = self.min_size / min(w, h)
            w, h = w * f, h * f
        if self.vocab == "coco" and scale >= 0.5 and w * h < 0.026 and name not in ("sports ball", "frisbee"):  # ... and above COCO's 2% area filter
            f = float(np.sqrt(0.026 / (w * h)))
            w, h = w * f, h * f
        return w, h

    def on_ground(self, name: str, hz: float, foot: float | None = None, x: float | None = None,
                  lo: float = 0.1, hi: float = 0.97, scale: float = 1.0, **kw) -> int:
        """A thing standing on the ground: lower in the picture = closer = bigger."""
        foot = self.u(hz + lo, hi) if foot is None else foot
        depth = (foot - hz) / max(1.0 - hz, 1e-3)
        s = (0.6 + 0.7 * depth) * scale
        w, h = self.size(name, s)
        cx = self.u(w / 2, 1 - w / 2) if x is None else float(np.clip(x, w / 2, 1 - w / 2))
        box = (cx - w / 2, foot - h, cx + w / 2, foot)
        idx = self.b.thing(name, box, flip=self.chance(0.5), **kw)
        self._size_attrs(idx, s)
        return idx

    def in_sky(self, name: str, hz: float, scale: float = 1.0, top: float = 0.03, bottom: float = 1.0, **kw) -> int:
        w, h = self.size(name, self.u(0.8, 1.2) * scale)
        y0 = self.u(top, max(top, min(hz, bottom) - h - 0.06))
        x0 = self.u(0, 1 - w)
        return self.b.thing(name, (x0, y0, x0 + w, y0 + h), flip=self.chance(0.5), **kw)

    def _size_attrs(self, idx: int, s: float) -> None:
        o = self.b.objs[idx]
        if s > 1.15:
            o.attrs.append("large")
        elif s < 0.72:
            o.attrs.append("small")

    def sky_and_clouds(self, hz: float, n_clouds: int) -> tuple[int, list[int]]:
        b = self.b
        sky = b.region(self.n("sky"), [rect(0, 0, 1, hz + 0.03)])
        clouds = []
        for _ in range(n_clouds):
            if self.vocab == "coco":  # COCO-Stuff 'clouds': one broad cloud bank high in the sky
                if clouds:
                    break
                w = self.u(0.5, 0.75)
                h = w * 0.32
                y0, x0 = self.u(0.02, 0.07), self.u(0.08, 0.92 - w)
                polys = _cloud_polys(x0, y0, w * 0.6, h) + _cloud_polys(x0 + w * 0.4, y0 + h * 0.15, w * 0.6, h * 0.85)
                clouds.append(b.region(self.n("cloud"), polys))
            else:
                c = self.in_sky("cloud", hz, top=0.02, bottom=hz - 0.16)  # above mountains and roofs
                clouds.append(c)
                b.rel(c, "in", sky) if self.chance(0.5) else b.rel(sky, "has", c)
        sky_obj = b.objs[sky]
        sky_obj.attrs.append("cloudy" if n_clouds else "clear")
        return sky, clouds


def _cloud_polys(x0: float, y0: float, w: float, h: float) -> list[np.ndarray]:
    out = []
    for p in (ell(0.3, 0.62, 0.28, 0.3), ell(0.55, 0.42, 0.3, 0.4), ell(0.76, 0.62, 0.24, 0.3), rect(0.1, 0.6, 0.92, 0.92)):
        out.append(np.stack([x0 + p[:, 0] * w, y0 + p[:, 1] * h], 1))
    return out


def _mountains(s: Sampler, hz: float, name: str) -> int:
    pts = [(0.0, hz + 0.03)]
    x = 0.0
    while x < 1.0:
        w = s.u(0.25, 0.45)
        peak = hz - s.u(0.14, 0.26) if name == "mountain" else hz - s.u(0.08, 0.14)
        pts += [(x + w / 2, peak), (min(x + w, 1.0), hz - s.u(0.0, 0.06))]
        x += w
    pts += [(1.0, hz + 0.03)]
    if name == "hill":
        p = np.array(pts)
        xs = np.linspace(0, 1, 30)
        ys = np.interp(xs, p[1:-1, 0], p[1:-1, 1])
        return s.b.region(name, [np.concatenate([np.stack([xs, ys], 1), poly(1.0, hz + 0.03, 0.0, hz + 0.03)])])
    return s.b.region(name, [np.array(pts)])


ANIMALS = ["sheep", "horse", "zebra", "elephant", "giraffe"]
PEOPLE_VG = ["man", "boy", "person", "woman"]


def pasture(s: Sampler) -> Scene:
    b, vg = s.b, s.vocab == "vg"
    hz = s.u(0.38, 0.48)
    sky, _ = s.sky_and_clouds(hz, int(s.rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2])))
    far = None
    if s.chance(0.55):
        far = _mountains(s, hz, "mountain" if s.chance(0.6) else "hill")
    sea = None
    ground_top = hz
    if s.chance(0.18):
        depth = s.u(0.13, 0.18)
        sea = b.region(s.n("sea"), [band(hz, hz + depth + 0.02, s.rng, amp=0.0)])
        ground_top = hz + depth
    if sea is not None and s.chance(0.6):  # boats are drawn with the water, before the ground
        w, h = s.size("boat", 0.7)
        top = b.objs[sea].box
        if s.chance(0.5):  # boat in the water
            h = min(h, depth - 0.015)
            w = h * 1.2
            y1 = ground_top - 0.012
        else:  # on top of the water, the sail up in the sky
            y1 = top[1] + (top[3] - top[1]) * 0.45
        x0 = s.u(0, 1 - w)
        boat = b.thing("boat", (x0, y1 - h, x0 + w, y1))
        b.first_true(boat, ["in", "on top of", "on"], sea)
    r = s.rng.random()
    field = grass = None
    if r < 0.2 or not vg and r < 0.35:
        field = b.region(s.n("field"), [band(ground_top, 1.0, s.rng)])
        ground = field
    elif r < 0.35:
        field = b.region(s.n("field"), [band(ground_top, ground_top + 0.15, s.rng)])
        grass = b.region(s.n("ground"), [band(ground_top + 0.12, 1.0, s.rng)])
        ground = grass
    else:
        grass = b.region(s.n("ground"), [band(ground_top, 1.0, s.rng)])
        ground = grass
    if field is not None and s.vocab == "coco":
        b.objs[field].name = "playingfield" if s.chance(0.5) else "dirt"
    g_hz = ground_top
    specs: list[tuple] = []
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2]))):
        specs.append(("tree", s.u(g_hz + 0.02, g_hz + 0.1), {"hi": 0.97}))
    if s.chance(0.3):
        specs.append(("bush", s.u(g_hz + 0.05, 0.8), {}))
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.6, 0.3, 0.1]))):
        small = ["rock", "stone", "brick"] if vg else ["rock", "stone", "dog"]
        specs.append((str(s.rng.choice(small, p=[0.4, 0.35, 0.25])), s.u(g_hz + 0.1, 0.97), {}))
    animal = str(s.rng.choice(ANIMALS, p=[0.42, 0.25, 0.15, 0.1, 0.08]))
    n_animals = int(s.rng.choice([1, 2, 3, 4], p=[0.35, 0.35, 0.2, 0.1]))
    if s.chance(0.01):
        n_animals = 32  # a flock: more objects than max_objects_per_image
    for _ in range(n_animals):
        specs.append((animal, s.u(g_hz + 0.12, 0.97), {"head_down": animal != "elephant" and s.chance(0.35),
                                                        "parts": ("tail", "leg")}))
    people = []
    n_people = int(s.rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15]))
    for _ in range(n_people):
        who = str(s.rng.choice(PEOPLE_VG, p=[0.4, 0.25, 0.25, 0.1])) if vg else "person"
        specs.append((who, s.u(g_hz + 0.15, 0.97), {"parts": ("leg", "short", "shirt")}))
    specs.sort(key=lambda t: t[1])
    idx = []
    for name, foot, kw in specs:
        scale = 0.6 if n_animals > 8 and name == animal else 1.0
        i = s.on_ground(name, g_hz, foot=foot, scale=scale, **kw)
        idx.append((name, i, kw))
        if name in PEOPLE_VG:
            people.append(i)
    rider = None
    horses = sorted((b.objs[i].box[2] - b.objs[i].box[0], i) for n, i, _ in idx if n == "horse")
    if horses and horses[-1][0] > 0.26 and s.chance(0.5):  # a rider on the nearest (largest) horse
        horse = horses[-1][1]
        hb = b.objs[horse].box
        w, h = s.size("man", (hb[2] - hb[0]) / SIZE["horse"][0] * 0.8)
        cx = (hb[0] + hb[2]) / 2 + s.u(-0.05, 0.05)
        foot = hb[1] + (hb[3] - hb[1]) * 0.55
        rider = b.thing("man" if vg else "person", (cx - w / 2, foot - h, cx + w / 2, foot), parts=("leg", "short", "shirt"))
        b.rel(rider, "riding", horse)
        people.append(rider)
    kite = None
    if people and s.chance(0.4):
        kite = s.in_sky("kite", hz)
        b.rel(kite, "in", sky) or b.rel(kite, "above", ground)
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.7, 0.2, 0.1]))):
        bird = s.in_sky("bird", hz, scale=0.25 if s.chance(0.15) else 1.0)
        b.rel(bird, "in", sky) if s.chance(0.5) else b.rel(bird, "above", ground)
    if not vg:
        return b.scene()
    # ---- relationships (each one checked against the picture)
    b.rel(sky, "above", ground) if s.chance(0.7) else b.rel(ground, "below", sky)
    if far is not None:
        for _, i, _ in idx:
            if b.objs[i].name == "tree" and (b.rel(far, "behind", i) if s.chance(0.6) else b.rel(i, "in front of", far)):
                break
        if field is not None and s.chance(0.5):
            b.rel(field, "under", far)
    if sea is not None:
        for _, i, _ in idx:
            if b.objs[i].name == "tree":
                b.rel(sea, "by", i) or b.rel(i, "near", sea)
    for name, i, kw in idx:
        o = b.objs[i]
        if name == animal:
            o.attrs.append("standing")
            if kw.get("head_down") and s.chance(0.7):
                b.rel(i, "eating", ground)
            else:
                b.first_true(i, ["standing on", "on"] if s.chance(0.6) else ["on", "standing on"], ground)
            for j in b.parts_of(i):
                if s.chance(0.4):
                    b.rel(i, "has", j) if s.chance(0.8) else b.rel(j, "of", i)
        elif name in PEOPLE_VG:
            b.first_true(i, ["standing on", "on", "on top of"] if s.chance(0.5) else ["on", "standing on"], ground)
            for j in b.parts_of(i):
                pn = b.objs[j].name
                if s.chance(0.45):
                    b.rel(i, "wearing" if pn in ("short", "shirt") and s.chance(0.7) else "has", j)
            if kite is not None and s.chance(0.6):
                b.rel(i, "looking at", kite)
            elif s.chance(0.2):
                b.rel(i, "looking at", sky)
        elif name in ("rock", "stone", "brick", "bush"):
            b.first_true(i, ["on", "on top of"], ground)
        elif name == "tree" and s.chance(0.3):
            b.rel(i, "on", ground)
    if rider is not None:
        for j in b.parts_of(rider):
            if s.chance(0.4):
                b.rel(rider, "wearing" if b.objs[j].name != "leg" else "has", j)
    things = [i for n, i, _ in idx if n in ANIMALS + PEOPLE_VG]
    for a in range(len(things)):
        for c in range(a + 1, len(things)):
            i, j = things[a], things[c]
            if s.chance(0.35):
                b.first_true(j, ["by", "next to", "beside", "near"] if s.chance(0.5) else ["next to", "by", "near"], i)
    trees = [i for n, i, _ in idx if n == "tree"]
    for t in trees:
        for i in things:
            if s.chance(0.5) and b.rel(t, "behind", i):
                break
            if s.chance(0.3) and b.rel(i, "in front of", t):
                break
    return b.scene()


def street(s: Sampler) -> Scene:
    b, vg = s.b, s.vocab == "vg"
    hz = s.u(0.44, 0.54)
    sky, clouds = s.sky_and_clouds(hz, int(s.rng.choice([0, 1], p=[0.6, 0.4])))
    buildings, houses = [], []
    x = s.u(-0.1, 0.05)
    while x < 0.95:
        w = s.u(0.22, 0.38)
        if vg and s.chance(0.3):
            h = w * s.u(0.9, 1.1)
            houses.append(s.b.thing("house", (x, hz + 0.04 - h, x + w, hz + 0.04), parts=("roof", "window")))
        elif vg:
            top = s.u(0.2 if clouds else 0.04, hz - 0.15)  # below the clouds
            buildings.append(s.b.thing("building", (x, top, x + w, hz + 0.04), parts=("window",)))
        else:
            buildings.append((x, s.u(0.04, hz - 0.15), x + w))
        x += w + s.u(-0.02, 0.06)
    if not vg and buildings:
        bidx = b.region(s.n("building"), [rect(x0, t, x1, hz + 0.04) for x0, t, x1 in buildings])
        buildings = [bidx]
    side = None
    street_top = hz
    if s.chance(0.5):
        side = b.region(s.n("sidewalk"), [band(hz, hz + 0.12, s.rng, amp=0.0)])
        street_top = hz + s.u(0.08, 0.11)
    road = b.region(s.n("street"), [band(street_top, 1.0, s.rng, amp=0.0)])
    lines = []
    if vg and s.chance(0.55):  # lane markings lie on the road surface: drawn right after it
        for _ in range(int(s.rng.choice([1, 2], p=[0.7, 0.3]))):
            xv = s.u(0.35, 0.65)
            xb = xv + s.u(0.15, 0.45) * (1 if s.chance(0.5) else -1)
            dashes = []
            for k in range(5):
                a, c = k / 5, k / 5 + 0.12
                ya, yc = street_top + 0.02 + a * (0.97 - street_top), street_top + 0.02 + c * (0.97 - street_top)
                xa, xc = xv + a * (xb - xv), xv + c * (xb - xv)
                wa, wc = 0.004 + 0.02 * a, 0.004 + 0.02 * c
                dashes.append(poly(xa - wa, ya, xa + wa, ya, xc + wc, yc, xc - wc, yc))
            li = b.region("line", dashes)
            b.objs[li].kind = "thing"
            lines.append(li)
    specs: list[tuple] = []
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15]))):
        specs.append(("tree", s.u(hz + 0.02, street_top + 0.03), {}))
    if vg and s.chance(0.25):
        specs.append(("bush", s.u(hz + 0.03, street_top + 0.04), {}))
    if s.chance(0.35):
        specs.append(("sign" if vg else str(s.rng.choice(["stop sign", "traffic light"])), s.u(hz + 0.05, street_top + 0.06), {}))
    n_cars = int(s.rng.choice([0, 1, 2, 3], p=[0.2, 0.4, 0.3, 0.1]))
    n_bus = int(s.rng.choice([0, 1, 2], p=[0.55, 0.35, 0.1]))
    for _ in range(n_cars):
        specs.append(("car" if vg or s.chance(0.7) else str(s.rng.choice(["truck", "motorcycle", "bicycle"])),
                      s.u(street_top + 0.12, 0.97), {}))
    bus_x = s.u(0.25, 0.75)
    for k in range(n_bus):
        specs.append(("bus", s.u(street_top + 0.14, 0.95), {"x": bus_x + (0.22 * k if k else 0), "parts": ("windshield",)}))
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.5, 0.35, 0.15]))):
        who = str(s.rng.choice(PEOPLE_VG, p=[0.45, 0.15, 0.3, 0.1])) if vg else "person"
        specs.append((who, s.u(hz + 0.06, street_top + 0.1), {"parts": ("leg", "short", "shirt")}))
    specs.sort(key=lambda t: t[1])
    idx = [(name, s.on_ground(name, hz, foot=foot, **kw)) for name, foot, kw in specs]
    if not vg:
        return b.scene()
    # ---- relationships
    b.rel(sky, "above", road) if s.chance(0.6) else b.rel(sky, "above", buildings[0] if buildings else road)
    for bl in buildings + houses:
        if s.chance(0.4):
            b.rel(bl, "behind", road) or (side is not None and b.rel(bl, "behind", side))
        for j in b.parts_of(bl):
            pn = b.objs[j].name
            r = s.rng.random()
            if pn == "window":
                b.rel(j, "on", bl) if r < 0.45 else b.rel(bl, "has", j) if r < 0.7 else b.rel(j, "in front of", bl) if r < 0.85 else b.rel(j, "of", bl)
            elif pn == "roof":
                b.rel(bl, "has", j) if r < 0.6 else b.rel(j, "on", bl)
        box = b.objs[bl].box
        if b.objs[bl].name == "building" and box[3] - box[1] > 0.4:  # taller than 40% of the picture
            b.objs[bl].attrs.append("tall")
    for li in lines:
        b.rel(li, "on", road)
    vehicles = [i for n, i in idx if n in ("car", "bus")]
    for name, i in idx:
        if name in ("car", "bus"):
            if name == "car" and s.chance(0.5):
                b.objs[i].attrs.append("parked")
                b.first_true(i, ["parked on", "on"], road)
            else:
                b.first_true(i, ["on", "parked on"], road)
            for j in b.parts_of(i):
                if s.chance(0.6):
                    b.rel(i, "has", j)
        elif name == "tree":
            b.first_true(i, ["along", "by", "near"] if s.chance(0.5) else ["by", "along"], road)
            for v in vehicles:
                if s.chance(0.5):
                    b.rel(i, "behind", v)
        elif name in ("sign", "bush"):
            b.first_true(i, ["by", "next to", "near", "along"], road)
        elif name in PEOPLE_VG:
            if side is not None:
                b.first_true(i, ["walking on", "standing on", "on"] if s.chance(0.5) else ["on", "standing on"], side)
            else:
                b.first_true(i, ["by", "near", "next to"], road)
            for j in b.parts_of(i):
                if s.chance(0.35):
                    b.rel(i, "wearing" if b.objs[j].name != "leg" else "has", j)
    for a in range(len(vehicles)):
        for c in range(a + 1, len(vehicles)):
            if s.chance(0.6):
                b.first_true(vehicles[a], ["behind"], vehicles[c]) or b.first_true(vehicles[a], ["next to", "by", "near"], vehicles[c])
    return b.scene()


def beach(s: Sampler) -> Scene:
    b, vg = s.b, s.vocab == "vg"
    hz = s.u(0.36, 0.44)
    sky, _ = s.sky_and_clouds(hz, int(s.rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2])))
    bg = None
    if vg and s.chance(0.45):
        bg = b.region("background", [band(hz - s.u(0.07, 0.1), hz + 0.02, s.rng, amp=0.02)])
    elif not vg and s.chance(0.3):
        b.region(str(s.rng.choice(["building-other", "tree", "hill"])), [band(hz - s.u(0.06, 0.12), hz + 0.02, s.rng, amp=0.02)])
    ya, yb = hz + s.u(0.28, 0.4), hz + s.u(0.28, 0.4)
    if abs(ya - yb) < 0.07:
        yb = ya + (0.09 if ya < hz + 0.33 else -0.09)
    wname = ("ocean" if s.chance(0.55) else "water") if vg else str(s.rng.choice(["sea", "river", "water-other"]))
    water = b.region(wname, [poly(0, hz, 1, hz, 1, yb + 0.01, 0, ya + 0.01)])
    beach_name = "sand" if vg or s.chance(0.7) else "grass"
    sand = b.region(beach_name, [poly(0, ya, 1, yb, 1, 1, 0, 1)])
    edge = None
    if vg and s.chance(0.6):
        edge = b.region("edge", [poly(0, ya - 0.012, 1, yb - 0.012, 1, yb + 0.012, 0, ya + 0.012)])
        b.objs[edge].kind = "thing"
    shore = min(ya, yb)
    waves = []
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2])) if vg else 0):
        w, h = s.size("wave", s.u(0.8, 1.1))
        y1 = s.u(hz + h + 0.03, shore - 0.01)
        x0 = s.u(0, 1 - w)
        if vg:
            waves.append(b.thing("wave", (x0, y1 - h, x0 + w, y1)))
    surfer = board = None
    if waves and s.chance(0.6):
        wb = b.objs[waves[0]].box
        bw, bh = s.size("board", 1.0)
        cx = (wb[0] + wb[2]) / 2
        by = wb[1] + 0.02
        board = b.thing("board", (cx - bw / 2, by - bh / 2, cx + bw / 2, by + bh / 2))
        pw, ph = s.size("man", 0.8)
        surfer = b.thing(str(s.rng.choice(["person", "man"])), (cx - pw / 2, by - ph, cx + pw / 2, by), parts=("leg", "short", "shirt"))
    boats = []
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15]))):
        w, h = s.size("boat", s.u(0.6, 0.9))
        y1 = s.u(hz + h * 0.5, shore - 0.02)
        y1 = max(y1, hz + 0.04)
        x0 = s.u(0, 1 - w)
        boats.append(b.thing("boat", (x0, y1 - h, x0 + w, y1)))
    specs = []
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.4, 0.45, 0.15]))):
        who = (str(s.rng.choice(PEOPLE_VG, p=[0.35, 0.25, 0.25, 0.15])) if vg else "person")
        specs.append((who, s.u(shore + 0.06, 0.97), {"parts": ("leg", "short", "shirt")}))
    if s.chance(0.35):
        specs.append(("rock", s.u(shore + 0.05, 0.97), {}))
    if not vg and s.chance(0.4):
        specs.append((str(s.rng.choice(["surfboard", "umbrella", "dog"])), s.u(shore + 0.08, 0.97), {}))
    specs.sort(key=lambda t: t[1])
    idx = [(n, s.on_ground(n, shore - 0.05, foot=f, **kw)) for n, f, kw in specs]
    birds = []
    for _ in range(int(s.rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2]))):
        birds.append(s.in_sky("bird", hz))
    if not vg and s.chance(0.25):
        s.in_sky("kite", hz)
    if not vg:
        return b.scene()
    # ---- relationships
    b.rel(sky, "above", water) if s.chance(0.7) else b.rel(water, "below", sky)
    if bg is not None and s.chance(0.6):
        b.rel(bg, "behind", water) or b.rel(bg, "above", sand)
    if edge is not None:
        b.rel(edge, "of", water) if s.chance(0.6) else b.rel(water, "has", edge)
    for w in waves:
        b.rel(w, "in", water) if s.chance(0.6) else b.rel(water, "has", w)
    if surfer is not None:
        b.rel(surfer, "riding", waves[0])
        b.rel(surfer, "riding", board) if s.chance(0.6) else b.rel(surfer, "standing on", board)
        b.rel(board, "on", waves[0]) if s.chance(0.4) else None
        for j in b.parts_of(surfer):
            if s.chance(0.4):
                b.rel(surfer, "wearing" if b.objs[j].name != "leg" else "has", j)
    for bt in boats:
        b.first_true(bt, ["in", "on", "on top of"] if s.chance(0.5) else ["on", "in"], water)
        if s.chance(0.3):
            b.objs[bt].attrs.append("small" if (b.objs[bt].box[2] - b.objs[bt].box[0]) < 0.2 else "large")
    for name, i in idx:
        if name in PEOPLE_VG:
            b.first_true(i, ["by", "near", "next to"], water) or b.first_true(i, ["standing on", "on"], sand)
            for j in b.parts_of(i):
                if s.chance(0.35):
                    b.rel(i, "wearing" if b.objs[j].name != "leg" else "has", j)
        elif name == "rock":
            b.first_true(i, ["on", "by"], sand)
    for bd in birds:
        b.rel(bd, "above", water) if s.chance(0.6) else b.rel(bd, "in", sky)
    if not waves:
        b.objs[water].attrs.append("calm")
    return b.scene()


def table(s: Sampler) -> Scene:
    b, vg = s.b, s.vocab == "vg"
    ht = s.u(0.28, 0.42)
    wall = b.region(s.n("wall"), [rect(0, 0, 1, ht + 0.03)])
    tab = b.region(s.n("table"), [band(ht, 1.0, s.rng, amp=0.0)])
    veg = None
    if not vg and s.chance(0.35):
        vx, vy = s.u(0.0, 0.45), s.u(ht + 0.1, 0.6)
        veg = b.region("vegetable", [ell(vx + 0.27, vy + 0.16, 0.27, 0.16)])
    n_plates = int(s.rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
    xs = np.sort(s.rng.uniform(0.18, 0.82, n_plates))
    items = []
    for x in xs:
        foot = s.u(ht + 0.22, 0.95)
        scale = 0.7 + 0.6 * (foot - ht) / (1 - ht)
        pw, ph = s.size("plate", scale)
        pname = "plate" if vg else str(s.rng.choice(["bowl", "pizza"], p=[0.6, 0.4]))
        pw, ph = s.size(pname, scale)
        p = b.thing(pname, (x - pw / 2, foot - ph, x + pw / 2, foot))
        food = None
        if pname != "pizza" and s.chance(0.75):
            fname = "food" if vg else str(s.rng.choice(["broccoli", "carrot", "banana"]))
            fw, fh = s.size(fname, scale)
            fy = foot - ph * s.u(0.45, 0.7)
            food = b.thing(fname, (x - fw / 2, fy - fh, x + fw / 2, fy))
        else:
            b.objs[p].attrs.append("empty")
        glass = None
        if s.chance(0.55):
            gname = "glass" if vg else "cup"
            gw, gh = s.size(gname, scale)
            gx = x + (pw / 2 + gw / 2 + 0.01) * (1 if s.chance(0.5) else -1)
            gx = float(np.clip(gx, gw / 2, 1 - gw / 2))
            gy = foot - ph * 0.2
            glass = b.thing(gname, (gx - gw / 2, gy - gh, gx + gw / 2, gy))
        items.append((p, food, glass))
    if not vg:
        if veg is not None:  # vegetables heaped on the pile
            vb = b.objs[veg].box
            for _ in range(int(s.rng.choice([1, 2]))):
                name = str(s.rng.choice(["broccoli", "carrot"]))
                w, h = s.size(name, 0.8)
                x0, y0 = s.u(vb[0], max(vb[0], vb[2] - w)), s.u(vb[1], max(vb[1], vb[3] - h))
                b.thing(name, (x0, y0, x0 + w, y0 + h))
        if s.chance(0.3):
            s.in_sky("clock", ht, top=0.03)
        return b.scene()
    b.rel(wall, "behind", tab) if s.chance(0.5) else None
    for p, food, glass in items:
        b.first_true(p, ["on", "on top of"], tab)
        if food is not None:
            b.first_true(food, ["on top of", "on"] if s.chance(0.5) else ["on", "on top of"], p)
        if glass is not None:
            b.first_true(glass, ["by", "next to", "near"] if s.chance(0.5) else ["next to", "by"], p) or b.rel(glass, "on", tab)
    return b.scene()


def sports(s: Sampler) -> Scene:
    """COCO only: a playing field with fence/cage, trees, players, balls and parked cars."""
    b = s.b
    hz = s.u(0.38, 0.48)
    s.sky_and_clouds(hz, int(s.rng.choice([0, 1], p=[0.6, 0.4])))
    if s.chance(0.5):
        b.region("tree", [band(hz - s.u(0.08, 0.15), hz + 0.02, s.rng, amp=0.03)])
    b.region("playingfield", [band(hz, 1.0, s.rng, amp=0.0)])
    if s.chance(0.4):
        b.region("grass", [band(s.u(0.75, 0.88), 1.0, s.rng)])
    if s.chance(0.45):
        b.region("fence", [band(hz - 0.06, hz + 0.06, s.rng, amp=0.0)])
    if s.chance(0.3):
        x0 = s.u(0.0, 0.6)
        b.region("cage", [rect(x0, hz - 0.2, x0 + s.u(0.25, 0.4), hz + 0.12)])
    specs = []
    for _ in range(int(s.rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))):
        specs.append(("person", s.u(hz + 0.12, 0.97), {}))
    if s.chance(0.4):
        for _ in range(int(s.rng.choice([1, 2]))):
            specs.append(("car", s.u(hz + 0.08, hz + 0.18), {}))
    if s.chance(0.35):
        specs.append((str(s.rng.choice(["dog", "skateboard"], p=[0.4, 0.6])), s.u(hz + 0.2, 0.97), {}))
    specs.sort(key=lambda t: t[1])
    for n, f, kw in specs:
        s.on_ground(n, hz, foot=f, **kw)
    if s.chance(0.5):
        name = str(s.rng.choice(["sports ball", "frisbee", "kite"]))
        s.in_sky(name, hz + 0.25)
    return b.scene()


def portrait(s: Sampler) -> Scene:
    """COCO only: a person in front of a wall, with tie, clothes, a clock or a screen."""
    b = s.b
    b.region(str(s.rng.choice(["wall-panel", "wall-concrete", "wall-brick"], p=[0.5, 0.3, 0.2])), [rect(0, 0, 1, 1)])
    if s.chance(0.5):
        b.region("clothes", [band(s.u(0.72, 0.85), 1.0, s.rng, amp=0.03)])
    if s.chance(0.3):
        b.region("window-other", [rect(*(lambda x: (x, 0.08, x + 0.25, 0.45))(s.u(0.0, 0.75)))])
    w, h = s.u(0.42, 0.6), s.u(0.8, 0.95)
    cx = s.u(0.3, 0.7)
    p = b.thing("person", (cx - w / 2, 1.0 - h + 0.08, cx + w / 2, 1.08))
    pb = b.objs[p].box
    if s.chance(0.6):
        tw, th = w * 0.16, h * 0.3
        ty = pb[1] + (pb[3] - pb[1]) * 0.22
        b.thing("tie", (cx - tw / 2, ty, cx + tw / 2, ty + th))
    if s.chance(0.4):
        name = str(s.rng.choice(["clock", "tv", "laptop", "chair"]))
        w2, h2 = s.size(name, 1.0)
        x0 = 0.02 if cx > 0.5 else 0.98 - w2
        y0 = s.u(0.05, 0.3) if name in ("clock", "tv") else 0.95 - h2
        b.thing(name, (x0, y0, x0 + w2, y0 + h2))
    return b.scene()


VG_TEMPLATES = {"pasture": (pasture, 0.36), "street": (street, 0.3), "beach": (beach, 0.2), "table": (table, 0.14)}
COCO_TEMPLATES = {"pasture": (pasture, 0.3), "street": (street, 0.22), "beach": (beach, 0.16), "table": (table, 0.12),
                  "sports": (sports, 0.12), "portrait": (portrait, 0.08)}


# stuff regions painted over a background region (removing one leaves no hole)
COCO_OVERLAY_STUFF = {"clouds", "tree", "bush", "rock", "stone", "mountain", "hill", "fence", "cage",
                      "window-other", "vegetable", "clothes"}


def sample_scene(rng: np.random.Generator, vocab: str, part_min: float = 0.09, crowded_fraction: float = 0.03) -> Scene:
    """One random scene of the COCO (``vocab='coco'``) or Visual Genome (``'vg'``) world."""
    templates = VG_TEMPLATES if vocab == "vg" else COCO_TEMPLATES
    names = list(templates)
    probs = np.array([templates[n][1] for n in names])
    kind = names[int(rng.choice(len(names), p=probs / probs.sum()))]
    s = Sampler(rng, vocab, kind, part_min if vocab == "vg" else 1.0)
    scene = templates[kind][0](s)
    if vocab == "coco":  # COCO-Stuff: stuff is drawn first, things on top (their pixels are 'other')
        for o in scene.objs:
            o.kind = "stuff" if o.name in COCO_STUFF_NAMES else ("thing" if o.kind != "part" else "part")
        objs = [o for o in scene.objs if o.kind != "part"]
        if rng.random() > crowded_fraction:  # most images: at most 8 annotated categories
            while len({o.name for o in objs if o.kind == "stuff"}) + sum(o.kind == "thing" for o in objs) > 8:
                droppable = [i for i, o in enumerate(objs) if o.kind == "thing" or o.name in COCO_OVERLAY_STUFF]
                if not droppable:
                    break
                objs.pop(droppable[int(rng.integers(len(droppable)))])
        order = sorted(range(len(objs)), key=lambda i: objs[i].kind != "stuff")
        scene.objs = [objs[i] for i in order]
        scene.rels = []
    return scene
