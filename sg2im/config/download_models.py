"""Settings of download_models: the released models of the paper (the original's scripts/download_models.sh,
download_ablated_models.sh and download_full_models.sh), fetched and converted once to the weights-only format."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.download import TransferConfig, _check_urls, _strip_slashes
from sg2im.config.schema import group, setting
from sg2im.released import BASE_URL


@dataclass(frozen=True)
class DownloadModelsConfig:
    HOME = None  # its models go to out_dir (not a pipeline output: they never change); its record under runs/

    models: tuple[str, ...] = setting((), "Released models to fetch, comma list: coco64, vg64, vg128 (empty: none, "
                                      "so the embedded default downloads nothing).", new=True)
    ablated: bool = setting(False, "1 = also the 12 ablated models of the paper's Table 1 (about 1.25 GB).", new=True)
    full: bool = setting(False, "1 = the full checkpoints, with the training history (full/ in the bucket) instead "
                         "of the stripped ones (small/).", new=True)
    base_url: str = setting(BASE_URL, "Where small/ and full/ are: the original's bucket, or a mirror of it.",
                            new=True)
    trust_mirror: bool = setting(False, "1 = convert files fetched from a base_url other than the original's bucket. "
                                 "The released files are pickles (loading one runs code from it): give 1 only for "
                                 "a mirror you trust.", new=True, local=True)
    out_dir: str = setting("models/released", "Folder of the converted models (<name>.pt, weights-only); "
                           "git-ignored, not a DVC output: 1.6 GB that never change.", new=True, local=True)
    keep_original: bool = setting(False, "1 = keep each downloaded original pickle in <out_dir>/original/.",
                                  new=True, local=True)
    record: str = setting("metrics/released_models.json", "What was fetched and converted: one entry per model "
                          "(file, SHA-256, size, vocabulary).", new=True, local=True, output=True)
    transfer: TransferConfig = group(TransferConfig)

    def __post_init__(self) -> None:
        _strip_slashes(self, ("base_url",))

    def check(self) -> None:
        _check_urls(self, ("base_url",))

    @property
    def official(self) -> bool:
        return self.base_url == BASE_URL
