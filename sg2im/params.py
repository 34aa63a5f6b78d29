"""One parameter mechanism for every stage.

A stage declares its parameters once, as a list of :class:`Param` (name, original default,
meaning).  The values in effect come from the stage's section of ``params.yaml``; the original
scripts' flags (``--batch_size 8``) override them on the command line; ``--help`` lists every
parameter with the value in effect, the original/paper value and its meaning.

    PARAMS = [Param("batch_size", 32, "Images per minibatch.", type=int), ...]
    args = load_params("train", PARAMS)          # argparse.Namespace-like
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


from sg2im.errors import ParamsError, Sg2imError


# --------------------------------------------------------------------------- value parsers
def bool_flag(value: Any) -> bool:
    """Accept 1/0 (the original's flags), true/false and YAML booleans."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError(f"expected 1 or 0 (or true/false), got {value!r}")


def int_tuple(value: Any) -> tuple[int, ...]:
    """``"64,64"``, ``[64, 64]`` or ``64`` -> ``(64, 64)`` / ``(64,)``."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    if isinstance(value, int):
        return (value,)
    return tuple(int(v) for v in str(value).split(",") if v.strip())


def str_tuple(value: Any) -> tuple[str, ...] | None:
    """``"cat,dog"`` or ``["cat", "dog"]`` -> ``("cat", "dog")``; empty/None -> None."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


def optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a parser so that ``None``, ``""``, ``"none"`` and ``"null"`` mean None."""

    def parse_optional(value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
            return None
        return parse(value)

    parse_optional.__name__ = f"optional_{getattr(parse, '__name__', 'value')}"
    return parse_optional


def _identity(value: Any) -> Any:
    return value


# --------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Param:
    """One stage parameter.

    ``default`` is the original script's default (what the paper used unless ``paper`` says
    otherwise); the value in effect comes from ``params.yaml``.
    """

    name: str
    default: Any
    help: str
    type: Callable[[Any], Any] = _identity
    paper: Any = None
    choices: Sequence[Any] | None = None

    def parse(self, value: Any, where: str) -> Any:
        try:
            parsed = self.type(value)
        except (TypeError, ValueError) as exc:
            raise ParamsError(f"{where}: bad value {value!r} for '{self.name}': {exc}. {self.help}") from None
        if self.choices is not None and parsed not in self.choices:
            raise ParamsError(
                f"{where}: '{self.name}' must be one of {list(self.choices)}, got {value!r}"
            )
        return parsed


def params_path() -> Path:
    """The params file: ``$SG2IM_PARAMS``, else ``params.yaml`` in the working directory,
    else the repository's own."""
    env = os.environ.get("SG2IM_PARAMS")
    if env:
        return Path(env)
    local = Path.cwd() / "params.yaml"
    return local if local.exists() else REPO_ROOT / "params.yaml"


def read_section(stage: str, path: Path | None = None) -> dict[str, Any]:
    """Read the ``stage:`` section of the params file (an empty dict if the file has none)."""
    path = Path(path) if path is not None else params_path()
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc}). Fix the file or restore it with git.") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of stage sections, got {type(data).__name__}")
    section = data.get(stage) or {}
    if not isinstance(section, dict):
        raise ParamsError(f"{path}: section '{stage}' must be a mapping of parameter: value")
    return section


def build_parser(stage: str, params: Sequence[Param], values: dict[str, Any], description: str = "") -> argparse.ArgumentParser:
    """An argparse parser whose ``--help`` shows each flag's value in effect, original value and meaning."""
    parser = argparse.ArgumentParser(
        prog=f"python stages/{stage}.py",
        description=(description or f"Stage '{stage}'.")
        + f" Values come from the '{stage}:' section of params.yaml; flags override them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    for p in params:
        shown = values.get(p.name, p.default)
        extra = f"[params.yaml: {_show(shown)}; original: {_show(p.default)}"
        if p.paper is not None:
            extra += f"; paper: {_show(p.paper)}"
        extra += "]"
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "metavar": p.name.upper(), "help": f"{p.help} {extra}"}
        if p.choices is not None:
            kwargs["help"] += f" Choices: {', '.join(map(str, p.choices))}."
        parser.add_argument(f"--{p.name}", **kwargs)
    parser.add_argument("--params", default=None, help="Read this params file instead of params.yaml.")
    return parser


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def load_params(
    stage: str,
    params: Sequence[Param],
    argv: Sequence[str] | None = None,
    description: str = "",
) -> argparse.Namespace:
    """Resolve a stage's parameters: declared defaults < params.yaml section < command-line flags.

    Unknown keys in the params file are an error (a typo must not be silently ignored).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    path = params_path()
    # --params may point elsewhere; find it before reading the section.
    for i, arg in enumerate(argv):
        if arg == "--params" and i + 1 < len(argv):
            path = Path(argv[i + 1])
        elif arg.startswith("--params="):
            path = Path(arg.split("=", 1)[1])
    section = read_section(stage, path)
    known = {p.name: p for p in params}
    unknown = sorted(set(section) - set(known))
    if unknown:
        close = {u: _closest(u, known) for u in unknown}
        hint = "; ".join(f"'{u}' (did you mean '{c}'?)" if c else f"'{u}'" for u, c in close.items())
        raise ParamsError(f"{path}: unknown parameter(s) in section '{stage}': {hint}. Remove or rename them.")
    parser = build_parser(stage, params, section, description)
    cli = vars(parser.parse_args(argv))
    cli.pop("params", None)
    resolved: dict[str, Any] = {}
    for p in params:
        if p.name in cli:
            resolved[p.name] = p.parse(cli[p.name], f"command line --{p.name}")
        elif p.name in section:
            resolved[p.name] = p.parse(section[p.name], f"{path} [{stage}.{p.name}]")
        else:
            resolved[p.name] = p.parse(p.default, f"default of {stage}.{p.name}")
    return argparse.Namespace(**resolved)


def _closest(name: str, known: dict[str, Param]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1)
    return match[0] if match else None


def run_stage(main: Callable[[], Any]) -> None:
    """Run a stage's ``main`` and turn expected errors into a one-line message and exit code 2."""
    try:
        main()
    except (Sg2imError, FileNotFoundError, NotImplementedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
