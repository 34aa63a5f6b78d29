"""The documents that repeat the declarations and the results stay true to them: the README's parameter table,
the '# paper: ...' / '# original: ...' comments of params.yaml, and the README's results tables (the committed
metrics/*.json)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from sg2im.config.docs import BEGIN, END, parameter_table
from sg2im.config.schema import flat_fields, parse_value
from sg2im.config.stages import STAGE_CONFIGS, stage_of

REPO = Path(__file__).resolve().parent.parent
COMMENT = re.compile(r"^  (\w+): .*#\s*(paper|original):\s*([^\s(;]+)")


def test_readme_parameter_table_is_generated_from_the_declarations():
    readme = (REPO / "README.md").read_text()
    table = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == parameter_table().strip(), "README's parameter table drifted: run python -m sg2im.config.docs " \
                                               "--write README.md"


def test_params_yaml_comments_give_the_declared_original_and_paper_values():
    text = (REPO / "params.yaml").read_text()
    data = yaml.safe_load(text)
    checked, section = 0, None
    for line in text.splitlines():
        if re.match(r"^\w+:\s*$", line):
            section = line.rstrip(":").strip()
            continue
        m = COMMENT.match(line)
        if not m:
            continue
        key, kind, shown = m.groups()
        shown = shown.rstrip(".,")
        info = {i.name: i for i in flat_fields(STAGE_CONFIGS[stage_of(section)])}[key]
        declared = info.paper_value if kind == "paper" else info.default
        if isinstance(declared, str) and shown.startswith("datasets/"):  # the original's folder for data/
            shown = "data/" + shown[len("datasets/"):]
        try:
            value = parse_value(shown, info.type)
        except (TypeError, ValueError):
            value = shown
        assert value == declared or str(value) == str(declared), \
            f"params.yaml [{section}.{key}]: the comment says {kind} {shown!r}, the declaration {declared!r}"
        assert key in data[section]
        checked += 1
    assert checked >= 80  # both models' sections


# README's results tables: (table's first header cell, row label) -> the metric of each numeric column, by
# column: predicted layout, GT layout, class-mean-box baseline, real crops ("a / b": all / things)
B, A = ("boxes",), ("object_accuracy",)
RESULT_CELLS = {
    "evaluate": ("| COCO model", {
        "box R@0.5 (all / things)": [[B + ("all", "predicted", "R@0.5"), B + ("things", "predicted", "R@0.5")], None,
                                     [B + ("all", "class_mean_baseline", "R@0.5"),
                                      B + ("things", "class_mean_baseline", "R@0.5")], None],
        "box R@0.3 (all / things)": [[B + ("all", "predicted", "R@0.3"), B + ("things", "predicted", "R@0.3")], None,
                                     [B + ("all", "class_mean_baseline", "R@0.3"),
                                      B + ("things", "class_mean_baseline", "R@0.3")], None],
        "box mean IoU (all)": [[B + ("all", "predicted", "mean_iou")], None,
                               [B + ("all", "class_mean_baseline", "mean_iou")], None],
        "object accuracy (all / things)": [[A + ("pred_layout",), A + ("things", "pred_layout")],
                                           [A + ("gt_layout",), A + ("things", "gt_layout")], None,
                                           [A + ("real_crops_ceiling",), A + ("things", "real_crops_ceiling")]],
        "crop FID (classifier features)": [[("crop_fid", "pred_layout")], [("crop_fid", "gt_layout")], None, None],
        "diversity (pixel L1, 2 samples)": [[("diversity", "pred_layout", "l1")], [("diversity", "gt_layout", "l1")],
                                            None, None]}),
    "evaluate_vg": ("| Visual Genome model", {
        "box R@0.5": [[B + ("all", "predicted", "R@0.5")], None, [B + ("all", "class_mean_baseline", "R@0.5")], None],
        "box R@0.3": [[B + ("all", "predicted", "R@0.3")], None, [B + ("all", "class_mean_baseline", "R@0.3")], None],
        "object accuracy": [[A + ("pred_layout",)], [A + ("gt_layout",)], None, [A + ("real_crops_ceiling",)]],
        "crop FID": [[("crop_fid", "pred_layout")], [("crop_fid", "gt_layout")], None, None]}),
}


def _table(text: str, first_cell: str) -> dict[str, list[str]]:
    lines = text[text.index(first_cell):].splitlines()
    rows = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_readme_results_are_the_committed_metrics():
    """Every number of the README's results tables is the committed metrics/*.json value (what `make repro`
    wrote and `dvc metrics show` shows), rounded as printed; a rerun that changes them must update both."""
    import json

    readme = (REPO / "README.md").read_text()
    for name, (first_cell, rows) in RESULT_CELLS.items():
        metrics = json.loads((REPO / "metrics" / f"{name}.json").read_text())
        table = _table(readme, first_cell)
        assert set(table) == set(rows), f"{name}: README rows {sorted(table)}"
        for label, columns in rows.items():
            for cell, keys in zip(table[label], columns):
                if keys is None:
                    assert cell in ("-", "0"), f"{name} {label}: {cell!r} has no metric behind it"
                    continue
                printed = [p.strip() for p in cell.split("/")]
                assert len(printed) == len(keys), f"{name} {label}: {cell!r}"
                for text, path in zip(printed, keys):
                    value = metrics
                    for key in path:
                        value = value[key]
                    decimals = len(text.split(".")[1]) if "." in text else 0
                    assert float(text) == round(value, decimals), f"{name} {label}: README {text}, metrics {value}"
