"""Visual Genome JSON -> ``{split}.h5`` + ``vocab.json`` with the original cleaning heuristics
(the original ``scripts/preprocess_vg.py``), streaming and memory-lean.

The steps, in the original's order, one module each:
  1. load (load.py): image records; the split of each image; drop images with min(height, width) <
     ``min_image_size``;
  2. objects (objects.py): every object of those images, its names alias-mapped (aliases.py), each name
     counted once per train object;
  3. vocab (vocab.py): object names with >= ``min_object_instances`` train objects, most frequent first,
     ``__image__`` first;
  4. filter (filter.py): an object's name is its first alias-mapped name in the vocab; objects without one
     or with ``w`` or ``h`` below ``min_object_size`` are dropped;
  5. relationships (relationships.py) whose two ends survived, predicates ``lower().strip()`` then
     alias-mapped; predicate vocab from train (``>= min_relationship_instances``, first-encounter order,
     ``__in_image__`` first); per split, images with ``min..max_objects_per_image`` objects and
     ``min..max_relationships_per_image`` in-vocab relationships (filter.py);
  6. encode (encode.py): padded int arrays; attributes (attributes.py) of the kept objects, vocab from
     train (``>= min_attribute_instances``);
  7. write (write.py, vocab.py): HDF5 per split and vocab.json, atomically.

Fixed or changed on purpose (README "Differences from the original"):
- predicates are lowercased, stripped and alias-mapped for **all** splits (the original did it for train
  only, so val/test relationships with e.g. "ON" were dropped);
- no ``scipy.misc`` import; the log says what was dropped and why;
- the four big JSON files are streamed record by record (a few hundred MB of RAM for the full VG instead
  of tens of GB); objects are kept per image (the original keyed them by object id across all images, so a
  duplicated object id could borrow another image's box);
- tie order of equally frequent names is deterministic (first encounter; the original iterated a ``set``
  of names, which depends on PYTHONHASHSEED);
- malformed records are skipped and counted in one warning per file; split ids missing from
  ``image_data.json`` are skipped with a note (the original raised KeyError);
- ``splits_json: auto`` gives a deterministic 80/10/10 split by a hash of the image id (for synthetic
  data, whose ids are not VG's).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from sg2im.config.preprocess_vg import PreprocessVgConfig
from sg2im.data.skips import SkipCounter
from sg2im.data.vg_preprocess.aliases import load_aliases
from sg2im.data.vg_preprocess.attributes import read_attributes
from sg2im.data.vg_preprocess.encode import encode_attributes, encode_split
from sg2im.data.vg_preprocess.filter import filter_objects, select_images
from sg2im.data.vg_preprocess.load import AUTO_SPLITS, drop_small_images, load_images, load_splits
from sg2im.data.vg_preprocess.objects import read_objects
from sg2im.data.vg_preprocess.relationships import read_relationships
from sg2im.data.vg_preprocess.vocab import frequent, in_first_seen_order, make_vocab, write_vocab
from sg2im.data.vg_preprocess.write import write_h5
from sg2im.errors import DataError


def preprocess_vg(cfg: PreprocessVgConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every step; write ``{output_h5_dir}/{split}.h5`` and ``output_vocab_json``; return a summary
    (per split: image/object/relationship counts and the images each filter dropped; vocab sizes, skipped
    records)."""
    i, f = cfg.inputs, cfg.filters
    skips, summary = SkipCounter(), {}
    log(f'Loading image info from "{i.images_json}"')
    image_info = load_images(i.images_json, skips)
    splits = load_splits(i.splits_json, image_info)
    if str(i.splits_json) == AUTO_SPLITS:
        log(f"Split the {len(image_info)} images deterministically by md5(image id) (80/10/10): "
            + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
        if len(image_info) > 100_000:
            log("note: this looks like the full official Visual Genome; the paper's split is "
                "splits_json: sg2im/data/vg_splits.json")
    if f.train_split not in splits:
        raise DataError(f"{i.splits_json}: no split named train_split='{f.train_split}' (has {list(splits)}).")
    split_of = drop_small_images(splits, image_info, f.min_image_size, log)
    train_ids = set(splits[f.train_split])

    log(f'Loading objects from "{i.objects_json}"')
    table = read_objects(i.objects_json, split_of, train_ids, load_aliases(i.object_aliases), skips)
    object_names = frequent(table.train_counts, table.names.names, f.min_object_instances, ["__image__"])
    log(f"Found {len(object_names)} object categories with >= {f.min_object_instances} training instances")
    kept = filter_objects(table, object_names, f.min_object_size, len(split_of), log)
    summary["objects_kept"] = int(kept.keep.sum())

    log(f'Loading relationships from "{i.relationships_json}"')
    rels = read_relationships(i.relationships_json, kept, split_of, train_ids, load_aliases(i.relationship_aliases),
                              f.min_objects_per_image, f.max_objects_per_image, skips)
    pred_names = in_first_seen_order(rels.train_counts, rels.names.names, f.min_relationship_instances,
                                     ["__in_image__"])
    log(f"Found {len(pred_names)} relationship types with >= {f.min_relationship_instances} training instances")
    rel_preds = rels.vocab_predicates(pred_names)

    encoded, final_objects, dropped = {}, {}, {}
    for split, image_ids in splits.items():
        rows_out, stats = select_images(image_ids, kept, rels.image_range, rel_preds, f)
        dropped[split] = dict(stats)
        final_objects.update({image_id: kept.object_ids[rows].tolist() for image_id, rows, _ in rows_out})
        log(f'Skip stats for split "{split}": ' + (", ".join(f"{k} {v}" for k, v in stats.items()) or "none")
            + f"; kept {len(rows_out)} images")
        encoded[split] = encode_split(rows_out, kept, rels, rel_preds, f.max_objects_per_image,
                                      f.max_relationships_per_image)

    log(f'Loading attributes from "{i.attributes_json}"')
    attrs, attr_counts, image_attrs = read_attributes(i.attributes_json, split_of, train_ids, final_objects, skips)
    attribute_names = frequent(attr_counts, attrs.names, f.min_attribute_instances, [])
    log(f"Found {len(attribute_names)} attribute categories with >= {f.min_attribute_instances} training instances")
    attr_lut = {attrs.ids[n]: k for k, n in enumerate(attribute_names)}
    for arrays in encoded.values():
        encode_attributes(arrays, final_objects, image_attrs, attr_lut, f.max_objects_per_image,
                          f.max_attributes_per_image)

    out_dir = Path(cfg.output_h5_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, arrays in encoded.items():
        summary[split] = {**_write_split(out_dir / f"{split}.h5", arrays, image_info, log), "dropped": dropped[split]}
    write_vocab(cfg.output_vocab_json, make_vocab(object_names, pred_names, attribute_names))
    log(f'Wrote vocab to "{cfg.output_vocab_json}": {len(object_names)} objects (incl. __image__), '
        f"{len(pred_names)} predicates (incl. __in_image__), {len(attribute_names)} attributes")
    summary.update(num_objects_vocab=len(object_names), num_predicates_vocab=len(pred_names),
                   num_attributes_vocab=len(attribute_names), skipped_records=skips.total())
    skips.warn()
    return summary


def _write_split(h5_path: Path, arrays: dict, image_info: dict, log: Callable[[str], None]) -> dict[str, int]:
    paths = [image_info[i][2] for i in arrays["image_ids"].tolist()]
    write_h5(h5_path, arrays, paths)
    n = len(paths)
    num_o, num_r = int(arrays["objects_per_image"].sum()), int(arrays["relationships_per_image"].sum())
    log(f'Wrote "{h5_path}": {n} images, {num_o} objects ({num_o / max(n, 1):.1f} per image), '
        f"{num_r} relationships ({num_r / max(n, 1):.1f} per image)")
    return {"images": n, "objects": num_o, "relationships": num_r}
