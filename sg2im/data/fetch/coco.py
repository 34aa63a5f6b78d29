"""COCO 2017 + COCO-Stuff 2017 for the download_coco stage: drawn by the synthetic world, or the official files."""
from __future__ import annotations

from pathlib import Path

from sg2im.config.download_coco import DownloadCocoConfig
from sg2im.data.card import describe_dataset
from sg2im.data.fetch.sources import COCO_OUTPUTS, switch_source


def get_coco(cfg: DownloadCocoConfig) -> dict:
    """COCO 2017 + COCO-Stuff 2017 into ``cfg.out_dir`` in the official layout; returns what was done."""
    out = Path(cfg.out_dir)
    if cfg.source == "local":
        from sg2im.data.fetch.local import import_local

        return import_local(cfg.local.local_dir, out, "coco")
    switch_source(out, cfg.source, COCO_OUTPUTS)
    if cfg.source == "official":
        from sg2im.data.fetch.official import fetch_from_config

        done = fetch_from_config("coco", out, cfg.base_urls, cfg.fetch)
    else:
        from sg2im.synthetic.coco_writer import write_coco

        s, d = cfg.synthetic, cfg.draw
        done = write_coco(out, s.num_train_images, s.num_val_images, image_size=s.image_size, seed=d.seed,
                          aspect_fraction=d.aspect_fraction, annotations_only=d.annotations_only, workers=d.workers,
                          jpeg_quality=d.jpeg_quality)
    return {**done, "card": str(describe_dataset(out, "coco", cfg.source))}
