"""The README's parameter table, generated from the declarations (``python -m sg2im.config.docs`` prints it;
``--write README.md`` replaces the table between its markers). tests/test_docs.py fails when they drift."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from sg2im.config.loader import REPO_ROOT
from sg2im.config.schema import flat_fields, show
from sg2im.config.stages import STAGE_CONFIGS

BEGIN, END = "<!-- parameter table: python -m sg2im.config.docs --write README.md -->", "<!-- end of parameter table -->"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def parameter_table(params_file: Path = REPO_ROOT / "params.yaml") -> str:
    """One collapsible table per stage: setting, value in params.yaml, the original's (paper's) value, meaning."""
    values = yaml.safe_load(params_file.read_text()) or {}
    out = []
    for stage, cls in STAGE_CONFIGS.items():
        section = values.get(stage) or {}
        infos = flat_fields(cls)
        out += [f"<details><summary><code>{stage}</code> ({len(infos)} settings)</summary>", "",
                "| setting | params.yaml | default | original / paper | meaning |", "|---|---|---|---|---|"]
        for i in infos:
            original = "not in the original" if i.meta.new else f"`{_cell(show(i.default))}`"
            if i.paper_value != i.default and not i.meta.new:
                original += f" / `{_cell(show(i.paper_value))}`"
            value = f"`{_cell(show(section[i.name]))}`" if i.name in section else "(not set)"
            out.append(f"| `{i.name}` | {value} | `{_cell(show(i.default))}` | {original} | {_cell(i.meta.help)} |")
        out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def replace_table(readme: str, table: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README has no parameter-table markers ({BEGIN} ... {END})")
    return pattern.sub(lambda _: f"{BEGIN}\n{table}{END}", readme)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", metavar="README", help="Replace the table between the markers of this file.")
    args = parser.parse_args(argv)
    table = parameter_table()
    if args.write:
        path = Path(args.write)
        path.write_text(replace_table(path.read_text(), table))
        print(f"{path}: parameter table updated")
    else:
        print(table, end="")


if __name__ == "__main__":
    main()
