"""Write the synthetic world as Visual Genome v1.4, in the official layout and schema.

Output (under ``out_dir``)::

    images/VG_100K/<image_id>.jpg
    image_data.json      [{width, url, height, image_id, coco_id, flickr_id}]
    objects.json         [{image_id, objects: [{synsets, h, object_id, merged_object_ids, names, w, y, x}], image_url}]
    attributes.json      [{image_id, attributes: [{synsets, h, object_id, names, w, attributes?, y, x}]}]
    relationships.json   [{relationships: [{predicate, object, relationship_id, synsets, subject}], image_id}]
    object_alias.txt, relationship_alias.txt   comma-separated lines, the first entry canonical

Image ids are the first ``num_images`` ids of sg2im's ``vg_splits.json`` (so preprocessing
splits them roughly 80/10/10); ``url`` ends in ``VG_100K/<id>.jpg`` so that the original path rule
``basename(dirname(url))/filename`` finds the file.  Every relationship is true in the picture.

The mess of the real release, each a small fraction (fractions are parameters):

* object names in mixed case or as an alias (``Sheep``, ``sheeps``, ``trees``), mapped back by
  ``object_alias.txt`` (``name_variant_fraction``);
* predicates in upper/mixed case or as an alias (``ON``, ``Standing On``, ``stands on``), mapped by
  lower-casing + ``relationship_alias.txt`` (``predicate_variant_fraction``);
* relationships whose subject or object id is not in objects.json (about half of those ids are
  listed in the real object's ``merged_object_ids``, as in v1.4) (``dangling_fraction``);
* endpoints written with ``names`` + ``merged_object_ids`` instead of ``name``, as v1.4 mixes both;
* images smaller than 200 px on their short side (``small_image_fraction``), 4:3 images;
* far-away objects below 32 px (birds), images with fewer than 3 objects (``sparse_fraction``) or
  more than 30 (a flock, about 1%), objects without attributes (no ``attributes`` key), and a few
  capitalised attribute words.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from sg2im.synthetic.common import JsonListWriter, staging_dir, image_rng, move_into_place, ordered_map
from sg2im.synthetic.render import jpeg_bytes, render
from sg2im.synthetic.scenes import sample_scene
from sg2im.synthetic.vocab import (
    VG_PREDICATE_ALIAS_LINES, VG_PREDICATE_SYNSETS, VG_SYNSETS, vg_object_alias_lines,
)
from sg2im.synthetic.world import Scene
from sg2im.progress import progress

URL_PREFIX = "https://cs.stanford.edu/people/rak248/VG_100K/"
OUTPUTS = ["images", "image_data.json", "objects.json", "attributes.json", "relationships.json",
           "object_alias.txt", "relationship_alias.txt"]
_OBJ_VARIANTS = {line[0]: line[1:] for line in vg_object_alias_lines()}
_PRED_VARIANTS = {line[0]: line[1:] for line in VG_PREDICATE_ALIAS_LINES}


@dataclass(frozen=True)
class VgJob:
    index: int
    image_id: int
    seed: int
    image_size: int
    annotations_only: bool
    jpeg_quality: int
    small_image_fraction: float
    aspect_fraction: float
    sparse_fraction: float
    name_variant_fraction: float
    predicate_variant_fraction: float
    dangling_fraction: float
    clutter_objects: int = 0
    clutter_relationships: int = 0


def vg_image_ids(n: int) -> list[int]:
    """The first ``n`` VG image ids (ascending) of sg2im's split file."""
    splits = json.loads(resources.files("sg2im.data").joinpath("vg_splits.json").read_text())
    ids = sorted(i for v in splits.values() for i in v)
    if n > len(ids):
        raise ValueError(f"num_images={n} is more than the {len(ids)} ids of sg2im/data/vg_splits.json")
    return ids[:n]


def _name_variant(name: str, rng: np.random.Generator) -> str:
    """An alias or capitalised form listed in object_alias.txt; rarely (10%) an upper-case form that no
    alias maps, so the object drops out of the vocabulary as rare real spellings do."""
    if rng.random() < 0.1:
        return name.upper()
    options = _OBJ_VARIANTS[name]
    return str(options[int(rng.integers(len(options)))])


def _pred_variant(pred: str, rng: np.random.Generator) -> str:
    options = list(_PRED_VARIANTS.get(pred, [])) + [pred.upper(), pred.title()]
    return str(options[int(rng.integers(len(options)))])


def _sparsify(scene: Scene, keep: int) -> None:
    """Keep only the first ``keep`` annotated objects (drawing is unchanged)."""
    for o in scene.objs[keep:]:
        o.name = ""  # not annotated
    scene.rels = [r for r in scene.rels if r[0] < keep and r[2] < keep]


def make_image(job: VgJob) -> tuple[bytes | None, dict]:
    """One image: jpeg bytes (or None) and its records with *local* object/relationship indices."""
    rng = image_rng(job.seed, 7, job.index)
    W = job.image_size
    H = W if rng.random() >= job.aspect_fraction else int(round(W * 0.75))
    if rng.random() < job.small_image_fraction:
        W, H = int(W * 0.5), int(W * 0.4)  # below min_image_size
    scene = sample_scene(rng, "vg")
    if rng.random() < job.sparse_fraction:
        _sparsify(scene, int(rng.integers(1, 3)))
    objects, attributes, local_ids = [], [], {}
    for i, o in enumerate(scene.objs):
        if not o.name:
            continue
        b = o.box
        x, y = int(np.floor(b[0] * W)), int(np.floor(b[1] * H))
        w, h = max(1, int(round(b[2] * W)) - x), max(1, int(round(b[3] * H)) - y)
        name = o.name if rng.random() >= job.name_variant_fraction else _name_variant(o.name, rng)
        rec = {"synsets": [VG_SYNSETS[o.name]], "h": h, "merged_object_ids": [], "names": [name],
               "w": w, "y": y, "x": x}
        local_ids[i] = len(objects)
        objects.append(rec)
        words = []
        if o.colour and rng.random() < 0.6:
            words.append(o.colour if rng.random() > 0.004 else o.colour.capitalize())
        words += [a for a in o.attrs if rng.random() < 0.8]
        attributes.append(words)
    if job.clutter_objects:
        _add_clutter(objects, attributes, scene, local_ids, job, rng, W, H)
    rels = []
    for s, pred, t in scene.rels:
        if s not in local_ids or t not in local_ids:
            continue
        shown = pred if rng.random() >= job.predicate_variant_fraction else _pred_variant(pred, rng)
        dangling = -1
        if rng.random() < job.dangling_fraction:
            dangling = int(rng.integers(2))  # 0: subject, 1: object refers to an id missing from objects.json
        rels.append({"predicate": shown, "canonical": pred, "s": local_ids[s], "o": local_ids[t], "dangling": dangling,
                     "names_style": [bool(rng.random() < 0.08), bool(rng.random() < 0.1)],
                     "merged": bool(rng.random() < 0.5)})
    jpeg = None if job.annotations_only else jpeg_bytes(render(scene, W, H, rng), job.jpeg_quality)
    return jpeg, {"W": W, "H": H, "objects": objects, "attributes": attributes, "rels": rels}


CLUTTER_NAMES = ["shadow", "spot", "letter", "stripe", "patch", "logo", "handle", "light", "pole", "hole", "mark",
                 "design", "reflection", "part", "corner", "top", "side", "writing", "number", "string"]
CLUTTER_PREDICATES = ["of", "on", "with", "near", "has", "in", "ON", "OF", "has a", "on a"]
CLUTTER_SYNSETS = {"with": "with.r.01", "ON": "along.r.01", "OF": "of.r.01", "has a": "have.v.01", "on a": "along.r.01"}


def _add_clutter(objects: list, attributes: list, scene: Scene, local_ids: dict, job: VgJob,
                 rng: np.random.Generator, W: int, H: int) -> None:
    """Scale tests only (annotations_only): the long tail of real VG, small objects with rare names and
    relationships among them, to reach real VG's ~35 objects and ~21 relationships per image."""
    n = int(rng.poisson(job.clutter_objects))
    first = len(objects)
    for k in range(n):
        w, h = int(rng.integers(4, 60)), int(rng.integers(4, 60))
        x, y = int(rng.integers(0, max(1, W - w))), int(rng.integers(0, max(1, H - h)))
        name = CLUTTER_NAMES[int(rng.integers(len(CLUTTER_NAMES)))]
        objects.append({"synsets": [f"{name}.n.01"], "h": h, "merged_object_ids": [], "names": [name], "w": w,
                        "y": y, "x": x})
        attributes.append([] if rng.random() < 0.5 else [str(rng.choice(["white", "black", "small", "dark"]))])
    if n:
        m = int(rng.poisson(job.clutter_relationships))
        subj = rng.integers(first, first + n, m)
        obj = rng.integers(0, len(objects), m)
        for a, b in zip(subj, obj):
            if a != b:
                scene.rels.append((-1 - int(a), CLUTTER_PREDICATES[int(rng.integers(len(CLUTTER_PREDICATES)))],
                                   -1 - int(b)))
        for i in range(first, len(objects)):
            local_ids[-1 - i] = i


def _endpoint(obj: dict, object_id: int, names_style: bool) -> dict:
    if names_style:
        return {"h": obj["h"], "object_id": object_id, "merged_object_ids": [], "synsets": obj["synsets"],
                "w": obj["w"], "y": obj["y"], "x": obj["x"], "names": obj["names"]}
    return {"name": obj["names"][0], "h": obj["h"], "synsets": obj["synsets"], "object_id": object_id,
            "w": obj["w"], "y": obj["y"], "x": obj["x"]}


def write_vg(out_dir: Path, num_images: int, image_size: int = 384, seed: int = 0, annotations_only: bool = False,
             workers: int = 2, jpeg_quality: int = 85, small_image_fraction: float = 0.02,
             aspect_fraction: float = 0.1, sparse_fraction: float = 0.02, name_variant_fraction: float = 0.04,
             predicate_variant_fraction: float = 0.04, dangling_fraction: float = 0.03, clutter_objects: int = 0,
             clutter_relationships: int = 0) -> dict[str, int]:
    """Generate the synthetic Visual Genome into ``out_dir`` (atomically); return counts.

    ``clutter_objects`` / ``clutter_relationships`` (mean per image, annotations_only only) add real VG's
    long tail of small, rare-name objects and their relationships, for full-scale preprocessing tests
    (real v1.4: 108,077 images, about 3.8 M objects and 2.3 M relationships: 24 and 18 here)."""
    if (clutter_objects or clutter_relationships) and not annotations_only:
        raise ValueError("clutter_objects/clutter_relationships are for annotations_only scale tests: the clutter "
                         "is not drawn in the pictures")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with staging_dir(out_dir, "download_vg") as tmp:
        img_dir = tmp / "images" / "VG_100K"
        img_dir.mkdir(parents=True)
        ids = vg_image_ids(num_images)
        jobs = [VgJob(i, iid, seed, image_size, annotations_only, jpeg_quality, small_image_fraction, aspect_fraction,
                      sparse_fraction, name_variant_fraction, predicate_variant_fraction, dangling_fraction,
                      clutter_objects, clutter_relationships)
                for i, iid in enumerate(ids)]
        files = {k: JsonListWriter(tmp / f"{k}.json") for k in ("image_data", "objects", "attributes", "relationships")}
        next_obj, next_rel = 1_000_000, 1
        counts = {"images": 0, "objects": 0, "relationships": 0, "attributes": 0}
        t0 = time.time()
        for job, (jpeg, rec) in progress(zip(jobs, ordered_map(make_image, jobs, workers, chunksize=32)), total=len(jobs),
                                         desc="synthetic VG", unit="img"):
            iid = job.image_id
            url = f"{URL_PREFIX}{iid}.jpg"
            if jpeg is not None:
                (img_dir / f"{iid}.jpg").write_bytes(jpeg)
            files["image_data"].write({"width": rec["W"], "url": url, "height": rec["H"], "image_id": iid,
                                       "coco_id": None, "flickr_id": None})
            objs = rec["objects"]
            oids = list(range(next_obj, next_obj + len(objs)))
            next_obj += len(objs)
            rels_out = []
            for r in rec["rels"]:
                ends = []
                for k, local in enumerate((r["s"], r["o"])):
                    oid = oids[local]
                    if r["dangling"] == k:  # an id that objects.json does not list
                        oid = next_obj
                        next_obj += 1
                        if r["merged"]:
                            objs[local]["merged_object_ids"].append(oid)
                    ends.append(_endpoint(objs[local], oid, r["names_style"][k]))
                syn = VG_PREDICATE_SYNSETS.get(r["canonical"]) or CLUTTER_SYNSETS.get(r["canonical"], "have.v.01")
                rels_out.append({"predicate": r["predicate"], "object": ends[1], "relationship_id": next_rel,
                                 "synsets": [syn], "subject": ends[0]})
                next_rel += 1
            obj_out, attr_out = [], []
            for o, oid, words in zip(objs, oids, rec["attributes"]):
                obj_out.append({"synsets": o["synsets"], "h": o["h"], "object_id": oid,
                                "merged_object_ids": o["merged_object_ids"], "names": o["names"], "w": o["w"],
                                "y": o["y"], "x": o["x"]})
                a = {"synsets": o["synsets"], "h": o["h"], "object_id": oid, "names": o["names"], "w": o["w"]}
                if words:
                    a["attributes"] = words
                a.update({"y": o["y"], "x": o["x"]})
                attr_out.append(a)
                counts["attributes"] += len(words)
            files["objects"].write({"image_id": iid, "objects": obj_out, "image_url": url})
            files["attributes"].write({"image_id": iid, "attributes": attr_out})
            files["relationships"].write({"relationships": rels_out, "image_id": iid})
            counts["images"] += 1
            counts["objects"] += len(obj_out)
            counts["relationships"] += len(rels_out)
        for f in files.values():
            f.close()
        (tmp / "object_alias.txt").write_text("".join(",".join(line) + "\n" for line in vg_object_alias_lines()))
        (tmp / "relationship_alias.txt").write_text("".join(",".join(line) + "\n" for line in VG_PREDICATE_ALIAS_LINES))
        move_into_place(tmp, out_dir, OUTPUTS)
    counts["seconds"] = round(time.time() - t0, 1)
    return counts
