"""Visual Genome v1.4 for the download_vg stage: drawn by the synthetic world, or the official files."""
from __future__ import annotations

from pathlib import Path

from sg2im.config.download_vg import DownloadVgConfig
from sg2im.data.card import describe_dataset
from sg2im.data.fetch.sources import VG_OUTPUTS, switch_source
from sg2im.errors import ParamsError


def get_vg(cfg: DownloadVgConfig) -> dict:
    """Visual Genome v1.4 into ``cfg.out_dir`` in the official layout; returns what was done."""
    out = Path(cfg.out_dir)
    if cfg.source == "local":
        from sg2im.data.fetch.local import import_local

        return import_local(cfg.local.local_dir, out, "vg")
    if cfg.source == "synthetic":
        from sg2im.synthetic.vg_writer import vg_image_ids

        try:
            vg_image_ids(cfg.synthetic.num_images)
        except ValueError as exc:
            raise ParamsError(f"download_vg.num_images: {exc}") from None
    switch_source(out, cfg.source, VG_OUTPUTS)
    if cfg.source == "official":
        from sg2im.data.fetch.official import fetch_from_config

        done = fetch_from_config("vg", out, cfg.base_urls, cfg.fetch)
    else:
        from sg2im.synthetic.vg_writer import write_vg

        s, d = cfg.synthetic, cfg.draw
        done = write_vg(out, s.num_images, image_size=s.image_size, seed=d.seed, annotations_only=d.annotations_only,
                        workers=d.workers, jpeg_quality=d.jpeg_quality, small_image_fraction=s.small_image_fraction,
                        aspect_fraction=d.aspect_fraction, sparse_fraction=s.sparse_fraction,
                        name_variant_fraction=s.name_variant_fraction,
                        predicate_variant_fraction=s.predicate_variant_fraction,
                        dangling_fraction=s.dangling_fraction, clutter_objects=s.clutter_objects,
                        clutter_relationships=s.clutter_relationships)
    return {**done, "card": str(describe_dataset(out, "vg", cfg.source))}
