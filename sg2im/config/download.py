"""What the two download stages share: the sources, the official URLs, how archives are fetched and how the
synthetic world is written.

``source: synthetic`` draws the cartoon world of :mod:`sg2im.synthetic` (the embedded default);
``source: official`` fetches the files of the original ``download_coco.sh`` / ``download_vg.sh``;
``source: local`` brings a dataset of your own (``local_dir``, in the same format) in, validated.
"""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import setting

SOURCES = ("synthetic", "official", "local")
OFFICIAL_URLS = {
    "coco_base_url": "http://images.cocodataset.org/annotations",
    "coco_images_base_url": "http://images.cocodataset.org/zips",
    "vg_base_url": "https://visualgenome.org/static/data/dataset",
    "vg_images_base_url": "https://cs.stanford.edu/people/rak248/VG_100K_2",
}


def _strip_slashes(config: object, names: tuple[str, ...]) -> None:
    for name in names:
        object.__setattr__(config, name, str(getattr(config, name)).rstrip("/"))


def _check_urls(config: object, names: tuple[str, ...]) -> None:
    for name in names:
        if not str(getattr(config, name)).startswith(("http://", "https://")):
            raise ValueError(f"{name} must be an http:// or https:// URL, got {getattr(config, name)!r}")


@dataclass(frozen=True)
class LocalConfig:
    """A dataset of your own (source=local)."""

    local_dir: str = setting("", "Your dataset's folder, in this dataset's format (source=local): validated, then "
                             "linked into out_dir without copying its images (README, 'Your own data').", new=True,
                             local=True)


@dataclass(frozen=True)
class TransferConfig:
    """How files are fetched over HTTP (official data, released models)."""

    min_free_gb: float = setting(5.0, "Disk space (GB) to leave free on top of what the download (and extraction) "
                                 "needs; the stage stops up front if there is not enough.", new=True, local=True)
    retries: int = setting(5, "Consecutive failed attempts (with exponential backoff: 2, 4, 8 ... s, at most 120 s) "
                           "before a download gives up; a connection that drops after making progress resumes at "
                           "once.", new=True, local=True)


@dataclass(frozen=True)
class FetchConfig(TransferConfig):
    """How official archives are fetched (source=official)."""

    keep_archives: bool = setting(False, "Keep the downloaded .zip files after a verified extraction (1) or delete "
                                  "them (0: the default, so the archive and the unpacked tree do not both stay on "
                                  "disk).", new=True)


@dataclass(frozen=True)
class DrawConfig:
    """How the synthetic world is written (both datasets)."""

    seed: int = setting(0, "Seed of the synthetic world (same seed = same bytes).", new=True)
    annotations_only: bool = setting(False, "1 = write only the annotation files, no JPEGs (scale tests).", new=True)
    workers: int = setting(2, "Processes drawing synthetic images (the output does not depend on it).", new=True,
                           local=True)
    jpeg_quality: int = setting(85, "JPEG quality of the synthetic images.", new=True)
    aspect_fraction: float = setting(0.1, "Fraction of synthetic images that are 4:3 instead of square.", new=True)

    def check(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
