"""Your dataset checked on the way in, in the COCO or the Visual Genome format, before anything is written into
the pipeline's layout or trained (coco.py and vg.py: what is checked; report.py: the report):

    python -m sg2im.data.validate /data/mine --format coco [--params params.yaml] [--report report.json]

The command also counts the images the current parameters keep (survivors.py: the COCO loader's filters of
``train``, or ``preprocess_vg``'s thresholds); the download stages check a local dataset without counting
(their results do not depend on the training filters). Exit code 2 when there are errors.
"""
from __future__ import annotations

from pathlib import Path

from sg2im.data.validate.report import Report

FORMATS = ("coco", "vg")


def check_dataset(root: str | Path, fmt: str, check_pixels: bool = True) -> Report:
    """Check ``root`` as a ``fmt`` dataset (errors, warnings, summary, samples for the card)."""
    if fmt == "coco":
        from sg2im.data.validate.coco import validate_coco

        return validate_coco(root, check_pixels)
    if fmt == "vg":
        from sg2im.data.validate.vg import validate_vg

        return validate_vg(root, check_pixels)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
