"""Scene-graph JSON <-> tensors (the original ``Sg2ImModel.encode_scene_graphs``), with validation.

Format (``scene_graphs/*.json``): one dict or a list of dicts::

    {"objects": ["sky", "grass", "sheep"], "relationships": [[0, "above", 1], [2, "standing on", 1]]}

Each graph gets an ``__image__`` object appended and ``[j, "__in_image__", image]`` for every
object j, after its own relationships (the original order). Unlike the original, the caller's
dicts are not mutated. Errors are ``DataError`` naming the graph (index and file), the field and
the fix; unknown names list the closest vocabulary names. Validated in full, here only (generate and
the editor's server call it): at least one object; names from the vocabulary, the reserved ``__...__``
tokens refused (the model adds ``__image__`` and ``__in_image__`` itself); relationship ends integers in
range (not booleans or floats); no relationship from an object to itself unless allowed (the model never
saw one); at most ``max_objects`` objects per graph (what the model was trained on:
:func:`trained_max_objects`) and ``MAX_GRAPHS`` graphs, else :class:`GraphLimitError`.
"""
from __future__ import annotations

import difflib
import json
import os
from typing import Any

import torch

from .errors import DataError, GraphLimitError

IMAGE_OBJECT = "__image__"
IN_IMAGE_PREDICATE = "__in_image__"
MAX_GRAPHS = 1000  # per file or request: all of them go through the model as one batch


def reserved(name: str) -> bool:
    """``__image__``, ``__in_image__`` and any other ``__...__`` token: the model's own, never a user's."""
    return name.startswith("__") and name.endswith("__") and len(name) > 4


def trained_max_objects(args: dict | None) -> int | None:
    """The most objects per image a checkpoint's training data had (``__image__`` not counted), from its
    ``args``: COCO 8 (``coco_max_objects_per_image``), VG ``max_objects_per_image`` minus ``__image__``
    (plus it again with the original's sampling); None when the checkpoint does not say."""
    args = args or {}
    if args.get("dataset") == "coco":
        return int(args.get("coco_max_objects_per_image") or 8)
    if args.get("dataset") == "vg" and args.get("max_objects_per_image"):
        return int(args["max_objects_per_image"]) - (0 if args.get("vg_original_object_sampling") else 1)
    return None


def _where(index: int, source: str | None) -> str:
    return f"scene graph {index}" + (f" in {source}" if source else "")


def _lookup(name: Any, table: dict, kind: str, field: str, where: str) -> int:
    article = "an" if kind[0] in "aeiou" else "a"
    if not isinstance(name, str):
        raise DataError(f"{where}: {field} must be {article} {kind} name (a string), got {name!r}")
    if reserved(name):
        raise DataError(f'{where}: {field} "{name}" is reserved: the model adds {IMAGE_OBJECT} and '
                        f"{IN_IMAGE_PREDICATE} to every graph itself. Use {article} {kind} name of the vocabulary.")
    idx = table.get(name)
    if idx is None:
        close = difflib.get_close_matches(name, [k for k in table if isinstance(k, str)], n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(repr(c) for c in close)}" if close else ""
        raise DataError(f'{where}: {field} "{name}" is not {article} {kind} of the model\'s vocabulary{hint}. '
                        f"Use names from the checkpoint's vocab ({kind} names differ between COCO and VG).")
    return int(idx)


def _check_vocab(vocab: dict) -> None:
    for key in ("object_name_to_idx", "pred_name_to_idx"):
        if not isinstance(vocab.get(key), dict):
            raise DataError(f'vocabulary has no "{key}" mapping; pass the vocab.json / checkpoint vocab')
    if IMAGE_OBJECT not in vocab["object_name_to_idx"] or IN_IMAGE_PREDICATE not in vocab["pred_name_to_idx"]:
        raise DataError(f'vocabulary lacks "{IMAGE_OBJECT}" or "{IN_IMAGE_PREDICATE}"; it is not an sg2im vocabulary')


def encode_scene_graphs(scene_graphs: dict | list, vocab: dict, device: torch.device | str | None = None,
                        source: str | None = None, max_objects: int | None = None,
                        allow_self_relationships: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encode graphs to (objs (O,), triples (T, 3) with batch-global indices, obj_to_img (O,)), long, after
    validating them in full (module docstring)."""
    _check_vocab(vocab)
    if isinstance(scene_graphs, dict):
        scene_graphs = [scene_graphs]
    if not isinstance(scene_graphs, list) or not scene_graphs:
        raise DataError(f"scene graphs{' in ' + source if source else ''} must be a dict or a non-empty list of dicts, "
                        f"got {type(scene_graphs).__name__ if scene_graphs != [] else 'an empty list'}")
    if len(scene_graphs) > MAX_GRAPHS:
        raise GraphLimitError(f"{len(scene_graphs)} scene graphs{' in ' + source if source else ''}: at most "
                              f"{MAX_GRAPHS} at a time (they go through the model as one batch); split the file")
    obj_names, pred_names = vocab["object_name_to_idx"], vocab["pred_name_to_idx"]
    image_idx, in_image_idx = int(obj_names[IMAGE_OBJECT]), int(pred_names[IN_IMAGE_PREDICATE])
    objs: list[int] = []
    triples: list[list[int]] = []
    obj_to_img: list[int] = []
    offset = 0
    for i, sg in enumerate(scene_graphs):
        where = _where(i, source)
        if not isinstance(sg, dict):
            raise DataError(f'{where}: must be a dict with "objects" and "relationships", got {type(sg).__name__}')
        objects = sg.get("objects")
        rels = sg.get("relationships", [])
        if not isinstance(objects, list):
            raise DataError(f'{where}: "objects" must be a list of object names, got {type(objects).__name__}')
        if not objects:
            raise DataError(f'{where}: "objects" is empty; a scene graph needs at least one object')
        if not isinstance(rels, list):
            raise DataError(f'{where}: "relationships" must be a list of [subject, "predicate", object], '
                            f"got {type(rels).__name__}")
        n = len(objects)
        if max_objects is not None and n > max_objects:
            raise GraphLimitError(f'{where}: "objects" has {n} objects; the model was trained on images with at most '
                                  f"{max_objects}, and a larger graph gives an image that means nothing. Split the "
                                  "graph (or set generate.max_objects_per_graph if you know better).")
        for j, name in enumerate(objects):
            objs.append(_lookup(name, obj_names, "object", f"objects[{j}]", where))
        for k, rel in enumerate(rels):
            field = f"relationships[{k}]"
            if not isinstance(rel, (list, tuple)) or len(rel) != 3:
                raise DataError(f'{where}: {field} must be [subject_index, "predicate", object_index], got {rel!r}')
            s, p, o = rel
            for role, v in (("subject", s), ("object", o)):
                if isinstance(v, bool) or not isinstance(v, int):
                    raise DataError(f"{where}: {field} {role} must be an integer index into objects, got {v!r}")
                if not 0 <= v < n:
                    raise DataError(f"{where}: {field} {role} index {v} is out of range; "
                                    f"the graph has {n} objects (indices 0..{n - 1})")
            if s == o and not allow_self_relationships:
                raise DataError(f"{where}: {field} relates object {s} to itself; the model was never trained on such "
                                "a relationship (generate.allow_self_relationships 1 allows it)")
            pred = _lookup(p, pred_names, "predicate", f"{field} predicate", where)
            triples.append([s + offset, pred, o + offset])
        objs.append(image_idx)
        for j in range(n):
            triples.append([j + offset, in_image_idx, n + offset])
        obj_to_img.extend([i] * (n + 1))
        offset += n + 1
    as_long = dict(dtype=torch.long, device=device)
    return (torch.tensor(objs, **as_long), torch.tensor(triples, **as_long).view(-1, 3),
            torch.tensor(obj_to_img, **as_long))


def load_scene_graphs(path: str | os.PathLike) -> list[dict]:
    """Read one scene graph (a dict) or a list of them from a JSON file."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise DataError(f"scene-graph file {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise DataError(f"scene-graph file {path} is not valid JSON: {err.msg} at line {err.lineno}, "
                        f"column {err.colno}") from None
    except UnicodeDecodeError:
        raise DataError(f"scene-graph file {path} is not UTF-8 text") from None
    except RecursionError:
        raise DataError(f"scene-graph file {path} is nested too deeply to be a scene graph (a scene graph is a "
                        "dict with a list of names and a list of [subject, predicate, object])") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise DataError(f"scene-graph file {path}: expected a scene graph (a dict) or a non-empty list of them")
    for i, sg in enumerate(data):
        if not isinstance(sg, dict):
            raise DataError(f'{_where(i, path)}: must be a dict with "objects" and "relationships", '
                            f"got {type(sg).__name__}")
    return data


def vocab_from_names(object_names: list[str], predicate_names: list[str]) -> dict:
    """A minimal sg2im vocabulary (``__image__`` object 0, ``__in_image__`` predicate 0)."""
    objs = [IMAGE_OBJECT] + [n for n in dict.fromkeys(object_names) if n != IMAGE_OBJECT]
    preds = [IN_IMAGE_PREDICATE] + [n for n in dict.fromkeys(predicate_names) if n != IN_IMAGE_PREDICATE]
    return {
        "object_idx_to_name": objs, "object_name_to_idx": {n: i for i, n in enumerate(objs)},
        "pred_idx_to_name": preds, "pred_name_to_idx": {n: i for i, n in enumerate(preds)},
    }


def vocab_index_map(data_vocab: dict, model_vocab: dict, source: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Index tables (objects, predicates) from ``data_vocab`` to ``model_vocab`` by name, for a model whose
    vocabulary holds the data's names in another order or more of them (the released coco64 has four
    predicates the COCO loader never makes); None when the two are the same. A data name the model lacks is a
    :class:`DataError` naming it and ``source``."""
    maps = []
    for names_key, index_key, kind in (("object_idx_to_name", "object_name_to_idx", "object"),
                                       ("pred_idx_to_name", "pred_name_to_idx", "predicate")):
        names, table = data_vocab[names_key], model_vocab[index_key]
        if list(names) == list(model_vocab[names_key]):
            maps.append(None)
            continue
        missing = [n for n in names if n != "NONE" and n not in table]
        if missing:
            raise DataError(f"{source}: the model's vocabulary lacks the {kind}s {missing[:8]} of the data; evaluate "
                            "a model on the dataset it was trained on (COCO names and VG names differ).")
        maps.append(torch.tensor([table.get(n, 0) for n in names], dtype=torch.long))
    if maps == [None, None]:
        return None
    return tuple(m if m is not None else torch.arange(len(data_vocab[k]))
                 for m, k in zip(maps, ("object_idx_to_name", "pred_idx_to_name")))
