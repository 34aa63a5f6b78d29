"""Step 3, vocabularies: names, predicates and attributes frequent enough in the train split."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Mapping

from sg2im.atomic import atomic_write_json

# The original vocab.json's key order.
VOCAB_KEYS = ("object_name_to_idx", "object_idx_to_name", "attribute_name_to_idx", "attribute_idx_to_name",
              "pred_name_to_idx", "pred_idx_to_name")


def frequent(counter: Counter, names: list[str], minimum: int, first: list[str]) -> list[str]:
    """``first`` then every name counted >= ``minimum`` times, most frequent first (ties: first seen)."""
    return first + [names[i] for i, c in counter.most_common() if c >= minimum]


def in_first_seen_order(counts: Mapping[int, int], names: list[str], minimum: int, first: list[str]) -> list[str]:
    """``first`` then every name counted >= ``minimum`` times, in first-encounter order (the predicates)."""
    return first + [names[i] for i, c in counts.items() if c >= minimum]


def index(names: list[str]) -> dict[str, int]:
    return {n: i for i, n in enumerate(names)}


def make_vocab(objects: list[str], predicates: list[str], attributes: list[str]) -> dict[str, Any]:
    """The original's vocab.json content, in its key order."""
    vocab = {"object_name_to_idx": index(objects), "object_idx_to_name": objects,
             "attribute_name_to_idx": index(attributes), "attribute_idx_to_name": attributes,
             "pred_name_to_idx": index(predicates), "pred_idx_to_name": predicates}
    return {k: vocab[k] for k in VOCAB_KEYS}


def write_vocab(path: str | os.PathLike, vocab: dict[str, Any]) -> Path:
    return atomic_write_json(Path(path), vocab)
