"""Settings of download_coco: COCO 2017 + COCO-Stuff 2017 (synthetic or official)."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.download import OFFICIAL_URLS, SOURCES, DrawConfig, FetchConfig, LocalConfig, _check_urls, _strip_slashes
from sg2im.config.schema import group, setting


@dataclass(frozen=True)
class SyntheticCocoConfig:
    num_train_images: int = setting(2000, "Synthetic train2017 images (official train2017: 118,287).", new=True)
    num_val_images: int = setting(400, "Synthetic val2017 images (official val2017: 5,000); the COCO loader takes the "
                                  "first num_val_samples filtered ones as val and the next ones as test.", new=True)
    image_size: int = setting(128, "Width of the synthetic images in pixels (height too, except 4:3 ones).", new=True)

    def check(self) -> None:
        for name in ("num_train_images", "num_val_images", "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class DownloadCocoConfig:
    """COCO 2017 + COCO-Stuff 2017 in the official layout and schema."""

    HOME = "out_dir"

    source: str = setting("official", "Where the data comes from: synthetic (cartoon world drawn offline), local "
                          "(a dataset of your own in local_dir, validated) or "
                          "official (the COCO 2017 + COCO-Stuff downloads of the original download_coco.sh).",
                          choices=SOURCES)
    out_dir: str = setting("data/coco", "Folder that receives images/ and annotations/ (original: datasets/coco).",
                           local=True, output=True)
    synthetic: SyntheticCocoConfig = group(SyntheticCocoConfig)
    draw: DrawConfig = group(DrawConfig)
    coco_base_url: str = setting(OFFICIAL_URLS["coco_base_url"], "Where annotations_trainval2017.zip and "
                                 "stuff_annotations_trainval2017.zip are (source=official).")
    coco_images_base_url: str = setting(OFFICIAL_URLS["coco_images_base_url"], "Where train2017.zip and "
                                        "val2017.zip are (source=official).")
    fetch: FetchConfig = group(FetchConfig)
    local: LocalConfig = group(LocalConfig)

    def __post_init__(self) -> None:
        _strip_slashes(self, ("coco_base_url", "coco_images_base_url"))

    def check(self) -> None:
        _check_urls(self, ("coco_base_url", "coco_images_base_url"))
        if self.source == "local" and not self.local.local_dir:
            raise ValueError("source local needs local_dir: your dataset's folder (README, 'Your own data')")

    @property
    def base_urls(self) -> dict[str, str]:
        return {"coco_base_url": self.coco_base_url, "coco_images_base_url": self.coco_images_base_url}
