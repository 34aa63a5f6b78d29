"""Draw a grid of synthetic images with their boxes and labels (VG: and a few relationships),
read back from the files in the official format.

    python -m sg2im.synthetic.preview --dataset coco --out docs/synthetic_coco.png
    python -m sg2im.synthetic.preview --dataset vg --out docs/synthetic_vg.png [--root data/vg]

If ``--root`` has no dataset yet, a small one is generated in a temporary folder first.
"""
from __future__ import annotations

import argparse
import io
import json
import tempfile
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402


def _coco_items(root: Path, n: int) -> list[tuple[Path, list[tuple[str, list[float], bool]], list[str]]]:
    ann = root / "annotations"
    inst = json.loads((ann / "instances_val2017.json").read_text())
    stuff = json.loads((ann / "stuff_val2017.json").read_text())
    names = {c["id"]: c["name"] for c in inst["categories"] + stuff["categories"]}
    images = inst["images"][:n]
    by_image: dict[int, list] = {im["id"]: [] for im in images}
    for a, is_thing in [(a, True) for a in inst["annotations"]] + [(a, False) for a in stuff["annotations"]]:
        if a["image_id"] in by_image and a["category_id"] != 183:
            im_area = next(im["width"] * im["height"] for im in images if im["id"] == a["image_id"])
            if a["bbox"][2] * a["bbox"][3] > 0.02 * im_area:
                by_image[a["image_id"]].append((names[a["category_id"]], a["bbox"], is_thing))
    return [(root / "images" / "val2017" / im["file_name"], by_image[im["id"]], []) for im in images]


def _vg_items(root: Path, n: int, rels_per_image: int = 4) -> list[tuple[Path, list, list[str]]]:
    images = json.loads((root / "image_data.json").read_text())
    objects = json.loads((root / "objects.json").read_text())
    relationships = json.loads((root / "relationships.json").read_text())
    items = []
    for im, objs, rels in zip(images, objects, relationships):
        if min(im["width"], im["height"]) < 200 or len(objs["objects"]) < 4:
            continue
        boxes = [(o["names"][0], [o["x"], o["y"], o["w"], o["h"]], True) for o in objs["objects"]]
        text = [f"{r['subject'].get('name') or r['subject']['names'][0]} {r['predicate']} "
                f"{r['object'].get('name') or r['object']['names'][0]}" for r in rels["relationships"][:rels_per_image]]
        arrows = [(r["subject"], r["object"]) for r in rels["relationships"][:rels_per_image]]
        path = root / "images" / "/".join(im["url"].split("/")[-2:])
        items.append((path, boxes, text, arrows))
        if len(items) == n:
            break
    return items


def draw_grid(items: list, out: Path, cols: int, cell: float, title: str) -> None:
    rows = (len(items) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell, rows * cell * 1.22), squeeze=False)
    palette = plt.get_cmap("tab10")
    for ax in axes.flat:
        ax.axis("off")
    for ax, item in zip(axes.flat, items):
        path, boxes, text = item[:3]
        arrows = item[3] if len(item) > 3 else []
        img = Image.open(path).convert("RGB")
        ax.imshow(img)
        big = sorted(boxes, key=lambda b: -b[1][2] * b[1][3])[:9]
        for k, (name, (x, y, w, h), thing) in enumerate(big):
            colour = palette(k % 10)
            ax.add_patch(plt.Rectangle((x, y), w, h, fill=False, lw=1.2, ec=colour, ls="-" if thing else "--"))
            ax.text(x + 1, y + 1, name, fontsize=6, va="top", color="white",
                    bbox=dict(facecolor=colour, alpha=0.75, pad=0.6, lw=0))
        for s, o in arrows:
            sx, sy = s["x"] + s["w"] / 2, s["y"] + s["h"] / 2
            ox, oy = o["x"] + o["w"] / 2, o["y"] + o["h"] / 2
            ax.annotate("", xy=(ox, oy), xytext=(sx, sy),
                        arrowprops=dict(arrowstyle="->", color="yellow", lw=1.0, alpha=0.9))
        if text:
            ax.text(0, 1.0, "\n".join(textwrap.shorten(t, 34) for t in text), transform=ax.transAxes,
                    fontsize=6.5, va="bottom", ha="left", family="monospace")
        ax.set_xlim(0, img.width)
        ax.set_ylim(img.height, 0)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    # a palette PNG keeps the preview small enough to commit
    Image.open(buf).convert("RGB").quantize(colors=192, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("coco", "vg"), required=True)
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--root", default=None, help="dataset folder (default data/coco or data/vg)")
    parser.add_argument("--num", type=int, default=None, help="images in the grid (coco 12, vg 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed if a dataset must be generated")
    args = parser.parse_args(argv)
    n = args.num or (12 if args.dataset == "coco" else 8)
    root = Path(args.root or f"data/{args.dataset}")
    marker = root / ("annotations/instances_val2017.json" if args.dataset == "coco" else "relationships.json")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not marker.exists():
            root = Path(tmp) / args.dataset
            if args.dataset == "coco":
                from sg2im.synthetic.coco_writer import write_coco

                write_coco(root, 1, n, seed=args.seed, workers=1)
            else:
                from sg2im.synthetic.vg_writer import write_vg

                write_vg(root, 2 * n, seed=args.seed, workers=1)
        if args.dataset == "coco":
            draw_grid(_coco_items(root, n), out, cols=4, cell=2.4,
                      title="Synthetic COCO 2017 + COCO-Stuff (val2017; solid: things, dashed: stuff > 2% area)")
        else:
            draw_grid(_vg_items(root, n), out, cols=4, cell=3.0,
                      title="Synthetic Visual Genome v1.4 (boxes of the largest objects; first relationships)")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return out


if __name__ == "__main__":
    main()
