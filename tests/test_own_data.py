"""Your own data: a hand-made COCO-format dataset (three categories with their own ids, no COCO-Stuff) and a Visual
Genome-format one (its own names and predicates), checked on the way in (every validation error on its own
broken copy, named by file, record and field; nothing written into the pipeline's layout), brought in without
copying (hard links), and described by a dataset card. The whole loop through `dvc exp run -S
download_coco.source=local ...` is in test_pipeline.py."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from helpers_data import OWN_COCO_CATEGORIES, own_coco, own_vg
from sg2im.data.fetch.local import import_local
from sg2im.data.validate import check_dataset
from sg2im.errors import DataError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("own")
    return {"coco": own_coco(root / "coco"), "vg": own_vg(root / "vg")}


def _copy(src: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(src, tmp_path / src.name))


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _problems(report) -> dict[str, object]:
    return {p.problem: p for p in report.errors + report.warnings}


def test_good_datasets_pass_with_their_summary(datasets):
    coco = check_dataset(datasets["coco"], "coco")
    assert not coco.errors and not coco.warnings
    assert set(coco.summary["categories"]) == {name for _, name, _ in OWN_COCO_CATEGORIES}
    assert coco.summary["splits"]["train"]["images"] == 24 and not coco.summary["stuff"]
    vg = check_dataset(datasets["vg"], "vg")
    assert not vg.errors and not vg.warnings
    assert set(vg.summary["predicates"]) == {"on", "next to", "under"} and len(vg.samples) == 4


COCO_ERRORS = [  # (what is broken, level, file, field, problem, the record it names)
    ("missing image", lambda root: (root / "images/train2017/000002.png").unlink(), "warning",
     "images/train2017", "file_name", "an image that is referenced but missing", "image id 2"),
    ("truncated image", lambda root: (root / "images/val2017/001003.png").write_bytes(
        (root / "images/val2017/001003.png").read_bytes()[:200]), "warning", "images/val2017", "file_name",
     "an unreadable image (OSError)", "image id 1003"),
    ("unknown image", lambda root: _edit(root / "annotations/instances_train2017.json",
                                         lambda d: d["annotations"][0].update(image_id=999)),
     "warning", "instances_train2017.json", "annotations", "an annotation with an unknown image_id", "image 999"),
    ("unknown category", lambda root: _edit(root / "annotations/instances_train2017.json",
                                            lambda d: d["annotations"][1].update(category_id=99)),
     "warning", "instances_train2017.json", "annotations", "an annotation with an unknown category_id", "id 11"),
    ("box outside", lambda root: _edit(root / "annotations/instances_val2017.json",
                                       lambda d: d["annotations"][0].update(bbox=[90, 90, 40, 40])),
     "warning", "instances_val2017.json", "annotations", "an annotation with a box outside its image or of zero "
     "size", "image 1000"),
    ("zero area", lambda root: _edit(root / "annotations/instances_val2017.json",
                                     lambda d: d["annotations"][2].update(bbox=[10, 10, 0, 5])),
     "warning", "instances_val2017.json", "annotations", "an annotation with a box outside its image or of zero "
     "size", "annotation id"),
    ("duplicate image id", lambda root: _edit(root / "annotations/instances_train2017.json",
                                              lambda d: d["images"].append(dict(d["images"][0]))),
     "error", "instances_train2017.json", "images.id", "a duplicate image id", "image id 1"),
    ("duplicate category id", lambda root: _edit(root / "annotations/instances_val2017.json",
                                                 lambda d: d["categories"].append({"id": 7, "name": "box"})),
     "error", "instances_val2017.json", "categories.id", "a duplicate category id", "id 7"),
    ("category id 0", lambda root: _edit(root / "annotations/instances_train2017.json",
                                         lambda d: d["categories"].append({"id": 0, "name": "thing"})),
     "error", "instances_train2017.json", "categories.id", "category id 0 (sg2im's vocabulary keeps index 0 for "
     "__image__)", "id 0 (thing)"),
    ("not JSON", lambda root: (root / "annotations/instances_val2017.json").write_text('{"images": ['),
     "error", "instances_val2017.json", "", "not valid JSON", "Expecting"),
    ("missing file", lambda root: (root / "annotations/instances_train2017.json").unlink(), "error",
     "instances_train2017.json", "", "the train instances file is missing", "instances_train2017.json"),
]


@pytest.mark.parametrize("case", COCO_ERRORS, ids=[c[0] for c in COCO_ERRORS])
def test_each_coco_problem_is_named_by_file_record_and_field(datasets, tmp_path, case):
    _, break_it, level, file, field, problem, record = case
    root = _copy(datasets["coco"], tmp_path)
    break_it(root)
    found = _problems(check_dataset(root, "coco")).get(problem)
    assert found is not None, [p.line() for p in check_dataset(root, "coco").problems.values()]
    assert found.level == level and found.file.endswith(file) and found.field == field
    assert any(record in example for example in found.examples), found.examples
    assert found.fix  # every problem says how to fix it


VG_ERRORS = [
    ("dangling relationship", lambda root: _edit(root / "relationships.json", lambda d: d[0]["relationships"][0]
                                                 ["object"].update(object_id=123456)),
     "warning", "relationships.json", "subject/object", "a relationship whose end is not among its image's objects",
     "object 123456"),
    ("objects of an unknown image", lambda root: _edit(root / "objects.json", lambda d: d.append(
        {"image_id": 999, "objects": []})), "warning", "objects.json", "image_id",
     "objects of an image not in image_data.json", "image 999"),
    ("duplicate object id", lambda root: _edit(root / "objects.json", lambda d: d[1]["objects"].append(
        dict(d[1]["objects"][0]))), "error", "objects.json", "object_id", "a duplicate object id in one image",
     "image 2"),
    ("box outside", lambda root: _edit(root / "objects.json", lambda d: d[2]["objects"][0].update(x=500)),
     "warning", "objects.json", "x, y, w, h", "a box outside its image or of zero area", "image 3"),
    ("object without a name", lambda root: _edit(root / "objects.json", lambda d: d[3]["objects"][0].update(
        names=[])), "warning", "objects.json", "names", "an object without a name", "image 4"),
    ("missing image", lambda root: (root / "images/photos/5.jpg").unlink(), "warning", "images", "url",
     "an image that is referenced but missing", "image 5"),
    ("duplicate image id", lambda root: _edit(root / "image_data.json", lambda d: d.append(dict(d[0]))),
     "error", "image_data.json", "image_id", "a duplicate image id", "image 1"),
    ("not a list", lambda root: (root / "objects.json").write_text("{}"), "error", "objects.json", "",
     "not a JSON list of per-image records", "top level"),
]


@pytest.mark.parametrize("case", VG_ERRORS, ids=[c[0] for c in VG_ERRORS])
def test_each_vg_problem_is_named_by_file_record_and_field(datasets, tmp_path, case):
    _, break_it, level, file, field, problem, record = case
    root = _copy(datasets["vg"], tmp_path)
    break_it(root)
    found = _problems(check_dataset(root, "vg")).get(problem)
    assert found is not None, [p.line() for p in check_dataset(root, "vg").problems.values()]
    assert found.level == level and found.file.endswith(file) and found.field == field
    assert any(record in example for example in found.examples), found.examples


def test_a_fatal_error_writes_nothing_into_the_pipelines_layout(datasets, tmp_path):
    root = _copy(datasets["coco"], tmp_path)
    _edit(root / "annotations/instances_train2017.json", lambda d: d["images"].append(dict(d["images"][0])))
    out = tmp_path / "data" / "coco"
    with pytest.raises(DataError, match=r"not a usable COCO-format dataset.*nothing was written"):
        import_local(root, out, "coco")
    assert not out.exists()


def test_import_links_without_copying_and_writes_the_card(datasets, tmp_path):
    out = tmp_path / "data" / "coco"
    done = import_local(datasets["coco"], out, "coco")
    original = datasets["coco"] / "images/train2017/000001.png"
    linked = out / "images/train2017/000001.png"
    assert linked.stat().st_ino == original.stat().st_ino  # a hard link: no second copy on disk
    assert sorted(p.name for p in (out / "annotations").iterdir()) == ["instances_train2017.json",
                                                                      "instances_val2017.json"]
    card = (out / "CARD.md").read_text()
    assert "| robot |" in card and f"local ({datasets['coco'].resolve()})" in card and done["warnings"] == 0
    assert Image.open(out / "card.png").size[0] >= 640
    report = json.loads((out / "validation.json").read_text())
    assert report["ok"] and report["summary"]["splits"]["val"]["images"] == 16
    vg_out = tmp_path / "data" / "vg"
    import_local(datasets["vg"], vg_out, "vg")
    assert (vg_out / "attributes.json").read_text() == "[]\n" and (vg_out / "object_alias.txt").read_text() == ""
    assert (vg_out / "images/photos/1.jpg").stat().st_ino == (datasets["vg"] / "images/photos/1.jpg").stat().st_ino


def test_the_validate_command_counts_what_the_current_filters_keep(datasets, tmp_path):
    params = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    done = subprocess.run([sys.executable, "-m", "sg2im.data.validate", str(datasets["vg"]), "--format", "vg",
                           "--params", str(params), "--report", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    surviving = json.loads((tmp_path / "r.json").read_text())["summary"]["surviving"]
    assert surviving["train"] > 0 and "surviving the filters of the current parameters: train" in done.stdout
    broken = _copy(datasets["coco"], tmp_path)
    (broken / "annotations/instances_val2017.json").write_text("[")
    refused = subprocess.run([sys.executable, "-m", "sg2im.data.validate", str(broken), "--format", "coco"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "not valid JSON" in refused.stdout
