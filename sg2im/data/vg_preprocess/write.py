"""Step 7, write: one split as the original's HDF5 file (int32 datasets + vlen-str ``image_paths``), atomically."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import h5py
import numpy as np


H5_KEY_ORDER = ("image_ids", "object_ids", "object_names", "object_boxes", "objects_per_image", "relationship_ids",
                "relationship_subjects", "relationship_predicates", "relationship_objects", "relationships_per_image",
                "attributes_per_object", "object_attributes")


def write_h5(path: Path, arrays: dict[str, np.ndarray], image_paths: list[str]) -> None:
    """Write one split as the original did (int32 datasets + vlen-str ``image_paths``), atomically."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            for key in H5_KEY_ORDER:
                f.create_dataset(key, data=np.asarray(arrays[key]).astype(np.int32))
            f.create_dataset("image_paths", data=np.array(image_paths, dtype=object),
                             dtype=h5py.special_dtype(vlen=str), shape=(len(image_paths),))
        os.chmod(tmp, _default_mode(0o666))  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _default_mode(full: int) -> int:
    """``full`` minus the process umask (what a plain open()/mkdir would have given)."""
    umask = os.umask(0)
    os.umask(umask)
    return full & ~umask
