"""The documents that repeat the declarations stay true to them: the README's parameter table and the
'# paper: ...' / '# original: ...' comments of params.yaml."""
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
