"""Loaded at start-up by every Python process of a test that puts this folder on PYTHONPATH (the torchrun
workers too): with RANK_HASH_DIR set, each rank writes RANK_HASH_DIR/rank<r>.txt, a hash and the sum of its
trained weights, through train()'s on_end seam. Test code only: the project has no test hooks."""
import os
import sys
from pathlib import Path

if os.environ.get("RANK_HASH_DIR"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from stage_wrapper import rank_hash

    rank_hash(Path(os.environ["RANK_HASH_DIR"]))
