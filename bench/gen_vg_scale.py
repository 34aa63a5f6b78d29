"""Write plausible Visual Genome v1.4-schema annotations (no images) at full scale, streamed to disk,
to measure preprocess_vg's time and memory:

    .venv/bin/python bench/gen_vg_scale.py --out /tmp/vg_full                       # 108,077 images
    .venv/bin/python bench/gen_vg_scale.py --out /tmp/vg_tenth --num_images 10808   # 10x smaller
    /usr/bin/time -v .venv/bin/python stages/preprocess_vg.py --splits_json sg2im/data/vg_splits.json \\
        --images_json /tmp/vg_full/image_data.json ... (see bench/README or the report)

Per image: ~35 objects (VG: 3.8 M / 108 k) with Zipf-distributed names from 60,000 distinct names
(some upper-case and alias variants), ~21 relationships (VG: 2.3 M) whose subject/object repeat the
full object records as VG does, and one attribute record per object (40 % with attributes).
Image ids are the real VG ids of sg2im/data/vg_splits.json (all 108,077, or an evenly spaced subset
for a smaller --num_images) so that the official split applies.  Deterministic.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

NUM_NAMES, NUM_PREDS, NUM_ATTRS = 60_000, 3_000, 20_000
SPLITS = Path(__file__).resolve().parent.parent / "sg2im" / "data" / "vg_splits.json"


def zipf_ids(rng: np.random.Generator, n: int, size: int, a: float = 1.3) -> np.ndarray:
    return (rng.zipf(a, size) - 1) % n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--num_images", type=int, default=108_077)
    parser.add_argument("--objects_per_image", type=float, default=35.2)
    parser.add_argument("--relationships_per_image", type=float, default=21.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    names = [f"thing{i}" for i in range(NUM_NAMES)]
    preds = ["on", "has", "wearing", "of", "in", "near", "behind", "with", "holding", "above"] + \
            [f"rel{i}" for i in range(NUM_PREDS - 10)]
    attrs = [f"attr{i}" for i in range(NUM_ATTRS)]
    (out / "object_alias.txt").write_text("".join(f"thing{i},thing{i}s,a thing{i}\n" for i in range(0, 3000, 3)))
    (out / "relationship_alias.txt").write_text("on,on top of,sitting on\nnear,next to,by\nhas,have\n")

    files = {k: open(out / f"{k}.json", "w") for k in ("image_data", "objects", "relationships", "attributes")}
    for f in files.values():
        f.write("[")
    split_ids = sorted(i for ids in json.loads(SPLITS.read_text()).values() for i in ids)
    pick = np.linspace(0, len(split_ids) - 1, min(args.num_images, len(split_ids))).round().astype(int)
    image_ids = [split_ids[i] for i in pick]
    object_id, rel_id = 1, 1
    for n, image_id in enumerate(tqdm(image_ids, desc="images", mininterval=5.0)):
        sep = ", " if n else ""
        width = int(rng.choice([500, 800, 1024, 333, 150], p=[0.6, 0.25, 0.1, 0.04, 0.01]))
        height = int(width * rng.uniform(0.6, 1.0))
        folder = "VG_100K" if image_id % 5 else "VG_100K_2"
        files["image_data"].write(sep + json.dumps({"width": width, "url": f"https://cs.stanford.edu/people/rak248/{folder}/{image_id}.jpg",
                                                    "height": height, "image_id": image_id, "coco_id": None, "flickr_id": None}))
        n_obj = max(1, int(rng.poisson(args.objects_per_image)))
        name_ids = zipf_ids(rng, NUM_NAMES, n_obj)
        xs = rng.integers(0, max(width - 20, 1), n_obj)
        ys = rng.integers(0, max(height - 20, 1), n_obj)
        ws = np.minimum(rng.integers(8, width // 2 + 9, n_obj), width - xs)
        hs = np.minimum(rng.integers(8, height // 2 + 9, n_obj), height - ys)
        objs = []
        for k in range(n_obj):
            name = names[name_ids[k]]
            if k % 17 == 0:
                name = name.upper()
            objs.append({"synsets": [f"{name}.n.01"], "h": int(hs[k]), "object_id": object_id + k, "merged_object_ids": [],
                         "names": [name] if k % 11 else [name + "s", name], "w": int(ws[k]), "y": int(ys[k]), "x": int(xs[k])})
        files["objects"].write(sep + json.dumps({"image_id": image_id, "objects": objs, "image_url": f"https://x/{image_id}.jpg"}))
        n_rel = int(rng.poisson(args.relationships_per_image))
        subs, obs = rng.integers(0, n_obj, n_rel), rng.integers(0, n_obj, n_rel)
        pred_ids = zipf_ids(rng, NUM_PREDS, n_rel, 1.6)
        rels = []
        for k in range(n_rel):
            pred = preds[pred_ids[k]]
            rels.append({"predicate": pred.upper() if k % 9 == 0 else pred, "object": objs[obs[k]], "relationship_id": rel_id + k,
                         "synsets": [f"{pred}.r.01"], "subject": objs[subs[k]]})
        files["relationships"].write(sep + json.dumps({"relationships": rels, "image_id": image_id}))
        attr_records = []
        for k, obj in enumerate(objs):
            rec = dict(obj)
            if rng.random() < 0.4:
                rec["attributes"] = [attrs[a] for a in zipf_ids(rng, NUM_ATTRS, int(rng.integers(1, 4)))]
            attr_records.append(rec)
        files["attributes"].write(sep + json.dumps({"image_id": image_id, "attributes": attr_records}))
        object_id += n_obj
        rel_id += n_rel
    for f in files.values():
        f.write("]")
        f.close()
    sizes = {k: (out / f"{k}.json").stat().st_size for k in files}
    print(f"wrote {len(image_ids)} images, {object_id - 1} objects, {rel_id - 1} relationships to {out}: "
          + ", ".join(f"{k}.json {v / 2**20:.0f} MiB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
