"""Read a stage's settings: declared default < its ``params.yaml`` section < command-line flags.

    run = load_stage("train", TrainConfig)      # run.config: TrainConfig; run.explicit: flags given
    python stages/train.py --batch_size 8 --help

``--help`` lists every setting with the value in effect, the original's (and the paper's) value and
its meaning, grouped as the config class groups them. ``--params FILE`` (or ``$SG2IM_PARAMS``) reads
another params file. ``--section train_vg`` reads another model's section (``<stage>_<model>``, as complete
as the stage's own) instead of ``<stage>``: the pipeline's second model (``train_vg``, ``strip_vg``, ...). An unknown key names the closest real one; a wrong type names the key, the
value and the type expected.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Sequence, TypeVar

import yaml

from sg2im.config.schema import FieldInfo, build, flat_fields, parse_setting, show
from sg2im.errors import ParamsError, Sg2imError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
T = TypeVar("T")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A stage's settings and where they came from."""

    config: T
    explicit: frozenset[str]  # settings given on the command line
    params_file: Path
    section: str = ""  # the params.yaml section read last (the stage's, or a model's: train_vg)


def _option(argv: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` / ``--name=VALUE`` in ``argv`` (the last one given), else None."""
    found = None
    for i, arg in enumerate(argv):
        if arg == f"--{name}" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(f"--{name}="):
            found = arg.split("=", 1)[1]
    return found


def params_path(argv: Sequence[str] = ()) -> Path:
    """``--params FILE`` in ``argv``, else ``$SG2IM_PARAMS``, else ``./params.yaml``, else the repository's."""
    given = _option(argv, "params")
    if given:
        return Path(given)
    if os.environ.get("SG2IM_PARAMS"):
        return Path(os.environ["SG2IM_PARAMS"])
    local = Path.cwd() / "params.yaml"
    return local if local.exists() else REPO_ROOT / "params.yaml"


def read_params_file(path: Path) -> dict[str, Any]:
    """The whole params file as a mapping of sections ({} when the file does not exist)."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc}). Fix the file or restore it with git.") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of stage sections, got {type(data).__name__}")
    return data


def read_section(path: Path, section: str) -> dict[str, Any]:
    value = read_params_file(path).get(section) or {}
    if not isinstance(value, dict):
        raise ParamsError(f"{path}: section '{section}' must be a mapping of parameter: value")
    return value


def stage_section(stage: str, argv: Sequence[str]) -> str:
    """The params.yaml section a stage reads: its own, or a model's (``--section <stage>_<model>``)."""
    section = _option(argv, "section") or stage
    if section != stage and not section.startswith(f"{stage}_"):
        raise ParamsError(f"--section {section}: stage '{stage}' reads its own section or a model's section "
                          f"named {stage}_<model> (e.g. {stage}_vg)")
    return section


def build_parser(stage: str, cls: type, values: dict[str, Any], description: str,
                 section: str = "") -> argparse.ArgumentParser:
    """Flags named as the settings; ``--help`` shows the value in effect, the original's and the meaning."""
    parser = argparse.ArgumentParser(
        prog=f"python stages/{stage}.py",
        usage=f"python stages/{stage}.py [--help] [--params FILE] [--section {stage}_<model>] [--<setting> VALUE ...]",
        allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"{description}\nValues come from the '{section or stage}:' section of params.yaml; flags "
                    "override them.")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for info in flat_fields(cls):
        target = parser
        if info.group:
            target = groups.setdefault(info.group, parser.add_argument_group(f"{info.group} settings"))
        target.add_argument(f"--{info.name}", default=argparse.SUPPRESS, metavar=info.name.upper(),
                            help=help_text(info, values))
    parser.add_argument("--params", default=None, help="Read this params file instead of params.yaml.")
    parser.add_argument("--section", default=None, help=f"Read the section {stage}_<model> of params.yaml instead "
                        f"of '{stage}:' (the pipeline's second model: {stage}_vg).")
    return parser


def help_text(info: FieldInfo, values: dict[str, Any]) -> str:
    shown = values.get(info.name, info.default)
    original = "- (not in the original)" if info.meta.new else show(info.default)
    extra = f"params.yaml: {show(shown)}; original: {original}"
    if info.meta.paper is not None and info.paper_value != info.default:
        extra += f"; paper: {show(info.paper_value)}"
    text = f"{info.meta.help} [{extra}]"
    if info.meta.choices:
        text += f" Choices: {', '.join(map(str, info.meta.choices))}."
    return text.replace("%", "%%")


def load_stage(stage: str, cls: type[T], argv: Sequence[str] | None = None, description: str = "") -> Loaded[T]:
    """Resolve ``stage``'s settings into ``cls``: declared defaults < its section of params.yaml (or the
    model's, ``--section``) < the flags."""
    argv = list(sys.argv[1:] if argv is None else argv)
    path = params_path(argv)
    section = stage_section(stage, argv)
    if section != stage and section not in read_params_file(path):
        raise ParamsError(f"{path}: no section '{section}' (--section {section}). Add it (a copy of '{stage}:' "
                          f"with this model's values) or drop --section.")
    values = read_section(path, section)
    build(cls, values, str(path), section, checks=False)  # unknown keys and bad values, named with their section
    parser = build_parser(stage, cls, values, description, section)
    cli = vars(parser.parse_args(argv))
    cli.pop("params", None)
    cli.pop("section", None)
    infos = {i.name: i for i in flat_fields(cls)}
    flags = {k: parse_setting(infos[k], v, f"command line --{k}") for k, v in cli.items() if k in infos}
    config = build(cls, {**values, **flags}, str(path), section)
    return Loaded(config, frozenset(flags), path, section)


def run_stage(main: Callable[[], Any]) -> None:
    """Run a stage's ``main``; an expected error becomes one line on stderr and exit code 2: the project's own
    errors, a missing file, and a full disk met by a write outside :mod:`sg2im.atomic` (HDF5, lock files,
    images), named by the path that failed."""
    from sg2im.atomic import disk_full, is_disk_full
    from sg2im.locks import release

    try:
        main()
    except (Sg2imError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        print(f"error: {disk_full(Path(exc.filename or '.'), 0)}", file=sys.stderr)
        sys.exit(2)
    finally:
        release()  # this run's output locks (sg2im.locks)
