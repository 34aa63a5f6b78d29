"""The models the authors released, in one table: the original's ``scripts/download_models.sh`` (coco64, vg64,
vg128), ``download_ablated_models.sh`` (the 12 ablations of the paper's Table 1) and ``download_full_models.sh``
(the same 15 with their training history, under ``full/``), and the paper's numbers for each.

Sizes: the table has a ``size`` per model for a check of the transfer, but this repository was written without
access to the bucket, so none is recorded; the server's Content-Length is checked instead (a dropped or short
transfer is resumed or refused), and every file is checked to be a working sg2im checkpoint before it is kept.

The paper's numbers are those of arXiv 1804.01622 (Table 1: Inception scores at 64x64 on the test set's scene
graphs; Table 2: predicted-box recall and per-category spread), as recalled in the project's specification: check
them against the PDF before quoting them.
"""
from __future__ import annotations

from dataclasses import dataclass

BASE_URL = "https://storage.googleapis.com/sg2im-data"


@dataclass(frozen=True)
class Released:
    """One released checkpoint: its file name, what it is, and its row of the paper's Table 1."""

    name: str  # file stem in the bucket: small/<name>.pt and full/<name>.pt
    dataset: str  # coco | vg
    image_size: int
    row: str  # the paper's Table 1 row
    group: str  # main | ablated
    gt_layout: bool = False  # trained and evaluated with ground-truth layouts (the "GT layout" rows)
    size: int | None = None  # bytes, where recorded

    @property
    def file(self) -> str:
        return f"{self.name}.pt"

    def url(self, base_url: str = BASE_URL, full: bool = False) -> str:
        return f"{base_url.rstrip('/')}/{'full' if full else 'small'}/{self.file}"


MODELS: tuple[Released, ...] = (
    Released("coco64", "coco", 64, "full model", "main"),
    Released("vg64", "vg", 64, "full model", "main"),
    Released("vg128", "vg", 128, "full model (128x128)", "main"),
    Released("coco64_no_gconv", "coco", 64, "no gconv", "ablated"),
    Released("coco64_no_relations", "coco", 64, "no relationships", "ablated"),
    Released("coco64_no_discriminators", "coco", 64, "no discriminators", "ablated"),
    Released("coco64_no_img_discriminator", "coco", 64, "no D_img", "ablated"),
    Released("coco64_no_obj_discriminator", "coco", 64, "no D_obj", "ablated"),
    Released("coco64_gt_layout", "coco", 64, "GT layout", "ablated", gt_layout=True),
    Released("coco64_gt_layout_no_gconv", "coco", 64, "GT layout, no gconv", "ablated", gt_layout=True),
    Released("vg64_no_relations", "vg", 64, "no relationships", "ablated"),
    Released("vg64_no_gconv", "vg", 64, "no gconv", "ablated"),
    Released("vg64_no_discriminators", "vg", 64, "no discriminators", "ablated"),
    Released("vg64_no_img_discriminator", "vg", 64, "no D_img", "ablated"),
    Released("vg64_no_obj_discriminator", "vg", 64, "no D_obj", "ablated"),
)
BY_NAME = {m.name: m for m in MODELS}
MAIN = tuple(m.name for m in MODELS if m.group == "main")
ABLATED = tuple(m.name for m in MODELS if m.group == "ablated")

# Table 1: Inception score (mean +- std over splits), 64x64, by row and dataset.
PAPER_INCEPTION = {
    ("real images", "coco"): (16.3, 0.4), ("real images", "vg"): (13.9, 0.5),
    ("no gconv", "coco"): (4.6, 0.1), ("no gconv", "vg"): (4.2, 0.1),
    ("no relationships", "coco"): (3.7, 0.1), ("no relationships", "vg"): (4.9, 0.1),
    ("no discriminators", "coco"): (4.8, 0.1), ("no discriminators", "vg"): (3.6, 0.1),
    ("no D_obj", "coco"): (5.6, 0.1), ("no D_obj", "vg"): (5.0, 0.2),
    ("no D_img", "coco"): (5.6, 0.1), ("no D_img", "vg"): (5.7, 0.3),
    ("full model", "coco"): (6.7, 0.1), ("full model", "vg"): (5.5, 0.1),
    ("GT layout, no gconv", "coco"): (7.0, 0.2), ("GT layout, no gconv", "vg"): (6.6, 0.1),
    ("GT layout", "coco"): (7.3, 0.1), ("GT layout", "vg"): (6.3, 0.2),
}
# Table 2: predicted boxes, R@0.3 and R@0.5 in percent, per-category std of x and area.
PAPER_BOXES = {
    ("no gconv", "coco"): {"R@0.3": 46.9, "R@0.5": 20.2, "sigma_x": 0.000, "sigma_area": 0.000},
    ("no relationships", "coco"): {"R@0.3": 21.8, "R@0.5": 7.6, "sigma_x": 0.062, "sigma_area": 0.158},
    ("full model", "coco"): {"R@0.3": 52.4, "R@0.5": 32.2, "sigma_x": 0.078, "sigma_area": 0.082},
    ("no gconv", "vg"): {"R@0.3": 17.8, "R@0.5": 6.7, "sigma_x": 0.000, "sigma_area": 0.000},
    ("no relationships", "vg"): {"R@0.3": 18.3, "R@0.5": 7.2, "sigma_x": 0.062, "sigma_area": 0.145},
    ("full model", "vg"): {"R@0.3": 21.9, "R@0.5": 10.6, "sigma_x": 0.11, "sigma_area": 0.14},
}


def select(models: tuple[str, ...], ablated: bool) -> list[Released]:
    """The released models named in ``models`` (plus the 12 ablations with ``ablated``), in table order.
    An unknown name is an error that lists the known ones."""
    from sg2im.errors import ParamsError

    unknown = [n for n in models if n not in BY_NAME]
    if unknown:
        raise ParamsError(f"download_models.models: unknown model(s) {', '.join(unknown)}; the released models are "
                          f"{', '.join(MAIN)} and the ablations {', '.join(ABLATED)}")
    wanted = set(models) | (set(ABLATED) if ablated else set())
    return [m for m in MODELS if m.name in wanted]


def paper_row(name: str) -> str:
    """The Table 1 row of a released model, or '' for a model of your own."""
    model = BY_NAME.get(name)
    return model.row if model is not None else ""
