"""Original sg2im checkpoints (the released 2018 pickles, or your own from the original code) into this
project's weights-only format, once: then ``generate``, ``evaluate`` and the editor load them without trust.

An original checkpoint is a pickle, and reading one runs code from the file: it is read only when trusted
(downloaded from the recorded URL of a released model, or ``--trust_checkpoint 1``). The converted file
keeps what this project reads, as tensors and plain values:

- ``model_kwargs`` with the vocabulary (the original's, including predicates a dataset here may lack), minus
  the deprecated keys the original's ``scripts/strip_old_args.py`` removes (``vec_noise_dim``, ``gconv_mode``,
  ``box_anchor``, ``decouple_obj_predictions``);
- ``model_state``; the discriminators' kwargs and states where the file has them;
- ``args`` (the training settings), with the data file paths pointed at this project's layout (``data/coco``,
  ``data/vg``: the authors' paths mean nothing here), ``counters`` and ``losses`` where present;
- ``converted_from``: the file's name, SHA-256 and origin.

The result is checked before it is written: it must build a generator whose every weight loads.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sg2im.checkpoint import atomic_torch_save, read_checkpoint, to_plain
from sg2im.config.data import DataConfig
from sg2im.config.model import DEPRECATED_MODEL_KWARGS
from sg2im.errors import DataError, ParamsError

KEPT = ("model_state", "d_obj_kwargs", "d_obj_state", "d_img_kwargs", "d_img_state", "counters", "losses")


def converted(ckpt: Mapping[str, Any], source: str, origin: dict[str, Any] | None = None) -> dict:
    """The project's form of an original checkpoint dict (see the module docstring), checked to build a
    working generator. ``source`` names the file in errors."""
    from sg2im.model import generator_from_checkpoint

    if ckpt.get("model_kwargs") is None or ckpt.get("model_state") is None:
        raise DataError(f"{source}: not an sg2im checkpoint (no model_kwargs/model_state; keys: {sorted(ckpt)[:12]})")
    kwargs = {k: v for k, v in dict(ckpt["model_kwargs"]).items() if k not in DEPRECATED_MODEL_KWARGS}
    if "vocab" not in kwargs:
        if ckpt.get("vocab") is None:
            raise DataError(f"{source}: model_kwargs has no vocab and the checkpoint none either")
        kwargs["vocab"] = ckpt["vocab"]
    args = ckpt.get("args")
    args = dict(vars(args) if isinstance(args, argparse.Namespace) else (args or {}))
    defaults = DataConfig()
    args.update({name: getattr(defaults, name) for name in DataConfig.FILE_SETTINGS})
    out = {"args": args, "model_kwargs": kwargs, **{k: ckpt[k] for k in KEPT if ckpt.get(k) is not None},
           "converted_from": dict(origin or {})}
    out = to_plain(out)
    generator_from_checkpoint(out, source)  # every weight loads into the model its kwargs describe
    return out


def convert_file(src: str | os.PathLike, dest: str | os.PathLike, trust: bool,
                 origin: dict[str, Any] | None = None) -> dict:
    """Read ``src`` (a pickle: ``trust`` must be given), write its converted form to ``dest`` atomically; return
    a summary (model size, vocabulary sizes, keys dropped)."""
    from sg2im.data.fetch.http import sha256_of

    if not src or not dest:
        raise ParamsError("give --input (an original checkpoint) and --output (where the converted one goes)")
    src, dest = Path(src), Path(dest)
    if not trust:
        raise DataError(f"{src}: converting an original checkpoint reads a pickle, which runs code from the file. "
                        "Give --trust_checkpoint 1 if you trust it (the released models are trusted by "
                        "download_models when they come from their recorded URL).")
    ckpt = read_checkpoint(src, trust=True)
    origin = {"file": src.name, "sha256": sha256_of(src), **(origin or {})}
    out = converted(ckpt, str(src), origin)
    atomic_torch_save(out, dest)
    vocab = out["model_kwargs"]["vocab"]
    dropped = sorted(k for k in ckpt["model_kwargs"] if k in DEPRECATED_MODEL_KWARGS)
    return {"file": str(dest), "source": str(src), "sha256": origin["sha256"],
            "objects": len(vocab["object_idx_to_name"]), "predicates": len(vocab["pred_idx_to_name"]),
            "discriminators": [k[:-6] for k in ("d_obj_state", "d_img_state") if k in out],
            "dropped_kwargs": dropped, "image_size": list(out["model_kwargs"].get("image_size", ()))}
