"""The embedded data at toy size, in the project's layout, for tests that need real datasets on disk: the tiny
preset's synthetic COCO and Visual Genome written by the package's own stage functions (download_coco,
download_vg, preprocess_vg), a few dozen images each, in seconds."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def embedded_data(root: Path) -> Path:
    """Write ``root/data/{coco,vg}`` (and ``root/params.yaml``, the tiny preset); return the params file."""
    from sg2im.config.download_coco import DownloadCocoConfig
    from sg2im.config.download_vg import DownloadVgConfig
    from sg2im.config.loader import load_stage
    from sg2im.config.preprocess_vg import PreprocessVgConfig
    from sg2im.data.fetch.coco import get_coco
    from sg2im.data.fetch.vg import get_vg
    from sg2im.data.vg_preprocess import preprocess_vg

    root.mkdir(parents=True, exist_ok=True)
    params = root / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    subprocess.run([sys.executable, "-m", "sg2im.configure", "tiny", "--params", str(params)], check=True,
                   capture_output=True, cwd=root)
    flags = ["--params", str(params)]
    with contextlib.chdir(root):
        get_coco(load_stage("download_coco", DownloadCocoConfig, flags).config)
        get_vg(load_stage("download_vg", DownloadVgConfig, flags).config)
        preprocess_vg(load_stage("preprocess_vg", PreprocessVgConfig, flags).config)
    return params
