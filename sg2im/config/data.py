"""Which scene graphs a model learns from: the dataset, its files and the loaders' filters (paper 4.1).

The original's ``build_coco_dsets`` / ``build_vg_dsets`` flags. Image and mask sizes belong to the
model (:class:`sg2im.config.model.ModelConfig`): the loaders resize to what the generator makes.
"""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import setting

VG = "data/vg"
COCO = "data/coco"


@dataclass(frozen=True)
class DataConfig:
    # the settings that name files of a machine (a converted original checkpoint gets this project's)
    FILE_SETTINGS = ("vg_image_dir", "train_h5", "val_h5", "test_h5", "vocab_json", "coco_train_image_dir",
                     "coco_val_image_dir", "coco_train_instances_json", "coco_train_stuff_json",
                     "coco_val_instances_json", "coco_val_stuff_json")

    dataset: str = setting("coco", "Dataset to train on.", choices=("coco", "vg"))
    num_train_samples: int | None = setting(None, "Cap on training images (None: all).")
    num_val_samples: int = setting(1024, "Images used by each validation check (COCO: the val split is the first "
                                   "this many filtered val2017 images; the test split follows them).", identity=False)
    shuffle_val: bool = setting(True, "Shuffle the validation images (1/0).", identity=False)
    loader_num_workers: int = setting(4, "DataLoader worker processes (0: load in the main process; resume is "
                                      "bit-exact only with 0). On CUDA the batches are pinned and the workers persist.", identity=False)
    include_relationships: bool = setting(True, "Use relationships (0: the 'no relationships' ablation).")
    # ---- Visual Genome (the files of preprocess_vg)
    vg_image_dir: str = setting(f"{VG}/images", "VG image folder (original datasets/vg/images).")
    train_h5: str = setting(f"{VG}/train.h5", "VG train split from preprocess_vg.")
    val_h5: str = setting(f"{VG}/val.h5", "VG val split from preprocess_vg.")
    test_h5: str = setting(f"{VG}/test.h5", "VG test split from preprocess_vg (evaluate's split).", new=True)
    vocab_json: str = setting(f"{VG}/vocab.json", "VG vocabulary from preprocess_vg.")
    max_objects_per_image: int = setting(10, "VG: objects per image are randomly sub-sampled to this.")
    vg_use_orphaned_objects: bool = setting(True, "VG: include objects in no relationship (1/0).")
    vg_original_object_sampling: bool = setting(
        False, "VG: 1 = the original's off-by-one (up to max_objects_per_image real objects plus __image__); "
        "0 = at most max_objects_per_image objects in all. Not in the original.", new=True)
    # ---- COCO 2017 + COCO-Stuff
    coco_train_image_dir: str = setting(f"{COCO}/images/train2017", "COCO train images.")
    coco_val_image_dir: str = setting(f"{COCO}/images/val2017", "COCO val images.")
    coco_train_instances_json: str = setting(f"{COCO}/annotations/instances_train2017.json", "COCO train instances.")
    coco_train_stuff_json: str = setting(f"{COCO}/annotations/stuff_train2017.json", "COCO-Stuff train annotations.")
    coco_val_instances_json: str = setting(f"{COCO}/annotations/instances_val2017.json", "COCO val instances.")
    coco_val_stuff_json: str = setting(f"{COCO}/annotations/stuff_val2017.json", "COCO-Stuff val annotations.")
    instance_whitelist: tuple[str, ...] | None = setting(None, "Comma list of COCO thing categories to keep "
                                                         "(None: all).")
    stuff_whitelist: tuple[str, ...] | None = setting(None, "Comma list of COCO stuff categories to keep "
                                                      "(None: all but 'other').")
    coco_include_other: bool = setting(False, "Keep COCO-Stuff 'other' annotations (1/0).")
    min_object_size: float = setting(0.02, "COCO: drop objects smaller than this fraction of the image.")
    min_objects_per_image: int = setting(3, "COCO: drop images with fewer objects.")
    coco_max_objects_per_image: int = setting(8, "COCO: drop images with more objects (the original's fixed 8; "
                                              "max_objects_per_image is a VG flag there).", new=True)
    coco_stuff_only: bool = setting(True, "COCO: only images with Stuff annotations (1/0).")
    cache_dir: str = setting("data/cache", "Decoded image/mask cache (not in the original; empty: no cache).",
                             new=True, local=True, identity=False)
    max_unreadable_fraction: float = setting(
        0.01, "Images that cannot be decoded (truncated, empty) are skipped, counted and named in the log and "
        "the metrics JSON, while they are at most this fraction of a split; above it the run stops (the original "
        "crashed on the first). Found when the image cache is built: with cache_dir empty, one stops the run.",
        new=True, identity=False)

    def check(self) -> None:
        if self.num_val_samples < 1:
            raise ValueError("num_val_samples must be >= 1")
        if not 0.0 <= self.max_unreadable_fraction <= 1.0:
            raise ValueError("max_unreadable_fraction must be between 0 and 1")
        if self.max_objects_per_image < 2:
            raise ValueError("max_objects_per_image must be at least 2 (one real object + __image__)")

    def files_for(self, splits: tuple[str, ...]) -> list[str]:
        """The files and folders read for ``splits`` (``train``, ``val``, ``test``) of this dataset."""
        if self.dataset == "vg":
            h5 = {"train": self.train_h5, "val": self.val_h5, "test": self.test_h5}
            return [h5[s] for s in splits] + [self.vocab_json, self.vg_image_dir]
        files = []
        for split in splits:  # COCO: val and test are both cut from val2017
            files += ([self.coco_train_instances_json, self.coco_train_stuff_json, self.coco_train_image_dir]
                      if split == "train" else
                      [self.coco_val_instances_json, self.coco_val_stuff_json, self.coco_val_image_dir])
        return [p for p in dict.fromkeys(files) if p]

    def input_files(self) -> list[str]:
        """The files and folders training reads (its data identity): the train and val splits."""
        return self.files_for(("train", "val"))
