"""Cartoon drawing of a :class:`~sg2im.synthetic.world.Scene` with PIL and numpy.

Each object is rasterised once (PIL polygons into a small role image over its box); colours,
a class texture (stripes, wool, bricks, ripples, ...) and light noise are then applied to the
whole crop with numpy, so the cost does not grow with the number of pixels of an object.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from sg2im.synthetic.world import Obj, Scene



def _make_tile(size: int = 1024) -> np.ndarray:
    """Fixed, slightly blurred noise (softer grain, smaller JPEGs), scaled to about [-1, 1]."""
    t = np.random.default_rng(12345).random((size, size), dtype=np.float32) * 2 - 1
    t = (t + np.roll(t, 1, 0) + np.roll(t, 1, 1) + np.roll(t, (1, 1), (0, 1))) / 2
    return np.clip(t, -1, 1)


_TILE = _make_tile()


def _noise(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A (h, w) window of a fixed noise tile at a random offset, values in [-1, 1]."""
    n = _TILE.shape[0]
    if h <= n and w <= n:
        oy, ox = rng.integers(0, n - h + 1), rng.integers(0, n - w + 1)
        return _TILE[oy:oy + h, ox:ox + w]
    oy, ox = rng.integers(0, n, 2)
    return _TILE[np.ix_((np.arange(h) + oy) % n, (np.arange(w) + ox) % n)]


def texture(kind: str, X: np.ndarray, Y: np.ndarray, W: int, H: int, rng: np.random.Generator) -> np.ndarray:
    """Brightness change (added to all channels) of a texture at pixel coordinates X, Y."""
    u, v = X / W, Y / H  # normalised, so a pattern looks alike at every resolution (broadcast 1 x w, h x 1)
    tp = 2 * np.pi
    n = 0.6 * _noise(Y.shape[0], X.shape[1], rng)
    if kind == "flat":
        return 4 * n
    if kind == "noise":
        return 12 * n
    if kind == "gradient":
        return 70 * v + 3 * n
    if kind == "haze":
        return 30 * np.sin(tp * 6 * u) * 0.3 + 5 * n
    if kind == "blades":
        return 14 * n + 14 * np.sin(tp * 70 * u + 4 * n) * (0.5 + v)
    if kind == "rows":
        return 20 * np.sin(tp * 28 * v) + 6 * n
    if kind == "lines":
        return 14 * (np.sin(tp * 8 * u) > 0) + 90 * (np.abs(np.sin(tp * 2.5 * u)) < 0.04) + 5 * n
    if kind == "ripple":
        return 22 * np.sin(tp * 26 * v + 2.5 * np.sin(tp * 5 * u)) + 5 * n
    if kind == "grid":
        return -55 * ((np.sin(tp * 22 * u) > 0.2) & (np.sin(tp * 20 * v) > 0.2)) + 5 * n
    if kind == "tiles":
        return -35 * ((np.abs(np.sin(tp * 10 * u)) < 0.12) | (np.abs(np.sin(tp * 12 * v)) < 0.12)) + 5 * n
    if kind == "wool":
        return 22 * np.sin(tp * 40 * u) * np.sin(tp * 40 * v) - 8 * (n > 0.35)
    if kind == "zstripes":
        return -210 * (np.sin(tp * 30 * u + 3 * np.sin(tp * 6 * v)) > 0.1)
    if kind == "spots":
        return -110 * ((np.sin(tp * 22 * u) + np.sin(tp * 26 * v + 1.3)) > 0.8)
    if kind == "patches":
        return 150 * ((np.sin(tp * 7 * u) * np.cos(tp * 8 * v)) > 0.35)
    if kind == "bricks":
        bh = 0.05
        row = np.floor(v / bh)
        mortar = ((v % bh) < bh * 0.18) | (((u + (row % 2) * 0.04) % 0.08) < 0.012)
        return 70 * mortar + 8 * n
    if kind == "wood":
        return 16 * np.sin(tp * 45 * v + 2 * np.sin(tp * 3 * u)) + 5 * n
    if kind == "panels":
        return -35 * (np.abs(np.sin(tp * 5 * u)) < 0.06) + 4 * n
    if kind == "mesh":
        return -90 * ((np.abs(np.sin(tp * 18 * (u + v))) < 0.15) | (np.abs(np.sin(tp * 18 * (u - v))) < 0.15))
    if kind == "rocky":
        return 18 * n + 14 * np.sin(tp * 14 * (u + 0.6 * v))
    if kind == "leaves":
        return 18 * (np.sin(tp * 30 * u) + np.sin(tp * 34 * v + 1.0) + np.sin(tp * 22 * (u + v))) / 3 + 10 * n
    if kind == "stripes":
        return 70 * (np.sin(tp * 14 * (u + v)) > 0.3)
    if kind == "chunks":
        return -45 * (np.sin(tp * 30 * u) * np.sin(tp * 30 * v) > 0.3) + 8 * n
    raise KeyError(f"unknown texture {kind!r}")


def _pixel_polys(obj: Obj, W: int, H: int) -> list[np.ndarray]:
    return [p * np.array([W, H]) for p in obj.polys]


def draw_object(canvas: np.ndarray, obj: Obj, rng: np.random.Generator) -> None:
    """Draw one object into ``canvas`` (H, W, 3 float32) in place."""
    H, W = canvas.shape[:2]
    polys = [p for p in _pixel_polys(obj, W, H) if len(p) >= 3]
    if not polys:
        return
    pts = np.concatenate(polys)
    x0, y0 = np.floor(np.clip(pts.min(0), 0, [W, H])).astype(int)
    x1, y1 = np.ceil(np.clip(pts.max(0), 0, [W, H])).astype(int) + 1
    x1, y1 = min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return
    role_img = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(role_img)
    for p, role in zip(polys, obj.roles):
        draw.polygon([(float(x) - x0, float(y) - y0) for x, y in p], fill=int(role))
    roles = np.asarray(role_img)
    mask = roles > 0
    if not mask.any():
        return
    lut = np.zeros((8, 3), np.float32)
    for r, rgb in obj.palette.items():
        lut[r] = rgb
    colour = lut[roles]
    X = np.arange(x0, x1, dtype=np.float32)[None, :]
    Y = np.arange(y0, y1, dtype=np.float32)[:, None]
    tex = np.broadcast_to(texture(obj.texture, X, Y, W, H, rng), roles.shape)
    colour += np.where(roles == 1, tex, 2 * _noise(*roles.shape, rng))[..., None]
    np.copyto(canvas[y0:y1, x0:x1], colour, where=mask[..., None])


def render(scene: Scene, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """The (H, W, 3) uint8 picture of a scene (objects in list order, back to front)."""
    canvas = np.full((height, width, 3), 127.0, np.float32)
    for obj in scene.objs:
        if obj.draw:
            draw_object(canvas, obj, rng)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def stuff_label_map(scene: Scene, width: int, height: int, label_of: dict[str, int]) -> np.ndarray:
    """(H, W) uint8 map of ``label_of[name]`` for the stuff regions drawn in order (0 = none)."""
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for obj in scene.objs:
        if obj.kind != "stuff" or obj.name not in label_of:
            continue
        for p in _pixel_polys(obj, width, height):
            if len(p) >= 3:
                draw.polygon([(float(x), float(y)) for x, y in p], fill=label_of[obj.name])
    return np.asarray(img)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
