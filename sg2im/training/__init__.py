"""Training: the loop (loop.py), checkpoints and resume (checkpoint.py), torchrun/DDP (distributed.py),
validation and sample grids (validate.py), loss history files (history.py)."""
