"""Run a stage script with a fault or a probe injected from outside (the project itself has no test hooks).

    python tests/stage_wrapper.py kill-in-save N stages/train.py [flags]   # SIGKILL inside the N-th torch.save,
                                                                           # after the bytes, before the rename

rank_hash() is also loaded into every process (torchrun's workers too) by tests/rank_hash_site/sitecustomize.py.
"""
from __future__ import annotations

import hashlib
import os
import runpy
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def kill_in_save(n: int) -> None:
    import torch

    real, calls = torch.save, [0]

    def save(obj, handle, *args, **kwargs):
        real(obj, handle, *args, **kwargs)
        calls[0] += 1
        if calls[0] == n:
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    torch.save = save


def rank_hash(folder: Path) -> None:
    from sg2im.training import loop

    real = loop.train

    def write_hash(nets) -> None:
        digest, total = hashlib.sha256(), 0.0
        for name in ("model", "d_obj", "d_img"):
            module = nets.raw(name)
            for key, p in sorted(module.named_parameters()) if module is not None else []:
                data = p.detach().cpu().contiguous()
                digest.update(key.encode())
                digest.update(data.numpy().tobytes())
                total += float(data.double().sum())
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"rank{os.environ.get('RANK', '0')}.txt").write_text(f"{digest.hexdigest()} {total!r}\n")

    loop.train = lambda cfg, datasets=None, on_end=None: real(cfg, datasets, on_end=write_hash)


if __name__ == "__main__":
    mode, arg, script, *flags = sys.argv[1:]
    if mode == "kill-in-save":
        kill_in_save(int(arg))
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.argv = [script, *flags]
    runpy.run_path(str(REPO / script), run_name="__main__")
