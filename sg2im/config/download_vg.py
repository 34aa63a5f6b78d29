"""Settings of download_vg: Visual Genome v1.4 (synthetic or official)."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.download import OFFICIAL_URLS, SOURCES, DrawConfig, FetchConfig, LocalConfig, _check_urls, _strip_slashes
from sg2im.config.schema import group, setting


@dataclass(frozen=True)
class SyntheticVgConfig:
    num_images: int = setting(2500, "Synthetic images (official VG v1.4: 108,077); ids are the first ones of "
                              "sg2im/data/vg_splits.json.", new=True)
    image_size: int = setting(384, "Width of the synthetic images in pixels (height too, except 4:3 ones); objects "
                              "are drawn at least 0.09 x image_size, so they pass the 32 px min_object_size of "
                              "preprocess_vg.", new=True)
    small_image_fraction: float = setting(0.02, "Fraction of images below preprocess_vg's min_image_size (200 px).",
                                          new=True)
    sparse_fraction: float = setting(0.02, "Fraction of images annotated with only 1-2 objects.", new=True)
    name_variant_fraction: float = setting(0.04, "Fraction of object names written as an alias or in mixed case.",
                                           new=True)
    predicate_variant_fraction: float = setting(0.04, "Fraction of predicates written as an alias or in upper/mixed "
                                                "case.", new=True)
    dangling_fraction: float = setting(0.03, "Fraction of relationships whose subject or object id is not in "
                                       "objects.json.", new=True)
    clutter_objects: int = setting(0, "Scale tests only (needs annotations_only=1): mean extra small rare-name "
                                   "objects per image, real VG's long tail (real v1.4 has about 35 objects per "
                                   "image: use 24).", new=True)
    clutter_relationships: int = setting(0, "Scale tests only: mean extra relationships among them (real v1.4: "
                                         "about 21 per image: use 18).", new=True)

    def check(self) -> None:
        for name in ("num_images", "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class DownloadVgConfig:
    """Visual Genome v1.4 in the official layout and schema."""

    HOME = "out_dir"

    source: str = setting("official", "Where the data comes from: synthetic (cartoon world drawn offline), local "
                          "(a dataset of your own in local_dir, validated) or "
                          "official (the VG v1.4 downloads of the original download_vg.sh).", choices=SOURCES)
    out_dir: str = setting("data/vg", "Folder that receives images/VG_100K/ and the JSON/alias files (original: "
                           "datasets/vg).", local=True, output=True)
    synthetic: SyntheticVgConfig = group(SyntheticVgConfig)
    draw: DrawConfig = group(DrawConfig)
    vg_base_url: str = setting(OFFICIAL_URLS["vg_base_url"], "Where the VG v1.4 JSON zips and alias files are "
                               "(source=official). If visualgenome.org moved, "
                               "https://homes.cs.washington.edu/~ranjay/visualgenome/data/dataset is a known "
                               "mirror.")
    vg_images_base_url: str = setting(OFFICIAL_URLS["vg_images_base_url"], "Where images.zip and images2.zip are "
                                      "(source=official).")
    fetch: FetchConfig = group(FetchConfig)
    local: LocalConfig = group(LocalConfig)

    def __post_init__(self) -> None:
        _strip_slashes(self, ("vg_base_url", "vg_images_base_url"))

    @property
    def base_urls(self) -> dict[str, str]:
        return {"vg_base_url": self.vg_base_url, "vg_images_base_url": self.vg_images_base_url}

    def check(self) -> None:
        _check_urls(self, ("vg_base_url", "vg_images_base_url"))
        if self.source == "local" and not self.local.local_dir:
            raise ValueError("source local needs local_dir: your dataset's folder (README, 'Your own data')")
        if (self.synthetic.clutter_objects or self.synthetic.clutter_relationships) and not self.draw.annotations_only:
            raise ValueError("clutter_objects/clutter_relationships need annotations_only=1 (the clutter is not "
                             "drawn in the pictures); set --annotations_only 1 or the clutter to 0")
