"""The ``sg2im`` command: ``sg2im serve ...`` (the editor), ``sg2im validate ...`` (a dataset of your own),
``sg2im paper figures|tables`` (the released models). The pipeline itself runs with ``dvc repro``."""
from __future__ import annotations

import sys

COMMANDS = {"serve": "sg2im.serve", "validate": "sg2im.data.validate.__main__", "paper": "sg2im.paper"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print("usage: sg2im {serve,validate,paper} [--help]\n  serve     the interactive scene-graph editor\n"
              "  validate  check a dataset of your own (COCO or VG format)\n  paper     the paper's figures and tables "
              "from the released models", file=sys.stderr)
        sys.exit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    import importlib

    module = importlib.import_module(COMMANDS[argv[0]])
    result = module.main(argv[1:])
    if isinstance(result, int):
        sys.exit(result)
