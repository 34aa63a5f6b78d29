"""How a setting is declared: a dataclass field with its meaning and the original's value.

    @dataclass(frozen=True)
    class LossConfig:
        mask_loss_weight: float = setting(0.0, "Mask BCE weight (0: masks weakly supervised).", paper=0.1)

The field's default is the value of the original scripts (``scripts/train.py`` and friends); ``paper``
is the value the paper / TRAINING.md used where that differs; ``new=True`` marks settings the original
did not have. ``local=True`` marks settings that describe this machine or the pipeline's wiring
(presets leave them alone); ``output=True`` marks paths the stage writes (a run by hand never writes
the pipeline's own files there, see :mod:`sg2im.pipeline`); ``identity=False`` marks training settings
that do not shape the run, so a checkpoint written with another value may still be resumed
(:mod:`sg2im.training.identity`).

A config class groups fields; a field whose type is itself a config class is a *group*: its fields
appear flat in ``params.yaml`` (``train.mask_loss_weight``, not ``train.losses.mask_loss_weight``),
so every flag of the original keeps its name. :func:`flat_fields` lists them.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any, Iterator

from sg2im.errors import ParamsError

UNSET: Any = object()


@dataclass(frozen=True)
class Meta:
    """What a setting means, beyond its name, type and default."""

    help: str
    paper: Any = UNSET
    choices: tuple[Any, ...] | None = None
    new: bool = False
    local: bool = False
    output: bool = False
    identity: bool = True


def setting(default: Any, help: str, *, paper: Any = UNSET, choices: tuple[Any, ...] | None = None,
            new: bool = False, local: bool = False, output: bool = False, identity: bool = True) -> Any:
    """A dataclass field declaring one setting (see the module docstring)."""
    meta = Meta(help=help, paper=paper, choices=tuple(choices) if choices else None, new=new, local=local,
                output=output, identity=identity)
    return dataclasses.field(default=default, metadata={"sg2im": meta})


def group(cls: type) -> Any:
    """A dataclass field holding a group of settings (its own config class, defaults all round)."""
    return dataclasses.field(default_factory=cls)


@dataclass(frozen=True)
class FieldInfo:
    """One flat setting of a config class: where it lives and how it is parsed."""

    name: str
    path: tuple[str, ...]  # attribute path from the root config, e.g. ("losses", "mask_loss_weight")
    type: Any
    default: Any
    meta: Meta

    @property
    def group(self) -> str:
        return self.path[0] if len(self.path) > 1 else ""

    @property
    def paper_value(self) -> Any:
        """The paper's value where declared, else the original's (the default)."""
        return self.default if self.meta.paper is UNSET else self.meta.paper


def is_config(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def flat_fields(cls: type, prefix: tuple[str, ...] = ()) -> list[FieldInfo]:
    """Every setting of ``cls`` and its groups, in declaration order (names are unique per stage)."""
    hints = typing.get_type_hints(cls)
    out: list[FieldInfo] = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if is_config(tp):
            out += flat_fields(tp, prefix + (f.name,))
            continue
        meta = f.metadata.get("sg2im")
        if meta is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
        out.append(FieldInfo(f.name, prefix + (f.name,), tp, f.default, meta))
    names = [i.name for i in out]
    if len(names) != len(set(names)) and not prefix:
        dup = sorted({n for n in names if names.count(n) > 1})
        raise TypeError(f"{cls.__name__}: setting names must be unique across groups: {dup}")
    return out


def closest(name: str, names: list[str]) -> str | None:
    match = difflib.get_close_matches(name, names, n=1)
    return match[0] if match else None


# --------------------------------------------------------------------------- values
def _optional_inner(tp: Any) -> Any | None:
    """``X`` for ``X | None`` (or ``Optional[X]``), else None."""
    args = typing.get_args(tp)
    if (typing.get_origin(tp) in (typing.Union, types.UnionType)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return None


def type_name(tp: Any) -> str:
    inner = _optional_inner(tp)
    if inner is not None:
        return f"{type_name(inner)} or null"
    if typing.get_origin(tp) is tuple:
        item = typing.get_args(tp)[0]
        return f"comma-separated {type_name(item)}s"
    return {bool: "1 or 0", int: "integer", float: "number", str: "text"}.get(tp, getattr(tp, "__name__", str(tp)))


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError
    return int(str(value).strip())


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    return float(value)


def _str(value: Any) -> str:
    if isinstance(value, (dict, list, tuple, bool)):
        raise ValueError
    return str(value)


def _tuple(value: Any, item: Any) -> tuple:
    if isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parts = [value]
    else:
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
    return tuple(parse_value(p, item) for p in parts)


def parse_value(value: Any, tp: Any) -> Any:
    """``value`` (from YAML or the command line) as type ``tp``; ValueError when it is not one."""
    inner = _optional_inner(tp)
    if inner is not None:
        if _is_null(value) or value == []:
            return None
        return parse_value(value, inner)
    if typing.get_origin(tp) is tuple:
        return _tuple(value, typing.get_args(tp)[0])
    parser = {bool: _bool, int: _int, float: _float, str: _str}.get(tp)
    if parser is None:
        raise TypeError(f"unsupported setting type {tp!r}")
    return parser(value)


def parse_setting(info: FieldInfo, value: Any, where: str) -> Any:
    """Parse one setting with an error that names where it came from, the key, the value and the type."""
    try:
        parsed = parse_value(value, info.type)
    except (TypeError, ValueError):
        raise ParamsError(f"{where}: {value!r} is not a valid value for '{info.name}' (expected "
                          f"{type_name(info.type)}). {info.meta.help}") from None
    choices = info.meta.choices
    if choices is not None and parsed not in choices and not (parsed is None and _optional_inner(info.type)):
        raise ParamsError(f"{where}: '{info.name}' must be one of {list(choices)}, got {value!r}")
    return parsed


def show(value: Any) -> str:
    """A value as params.yaml and --help write it (tuples as ``64,64``, booleans as 1/0)."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(int(value))
    return "null" if value is None else str(value)


def plain(value: Any) -> Any:
    """A value as it goes into YAML/JSON (tuples as ``"64,64"`` strings, booleans as 1/0)."""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return int(value)
    return value


# --------------------------------------------------------------------------- build and flatten
def build(cls: type, values: dict[str, Any], where: str = "", section: str = "", checks: bool = True) -> Any:
    """An instance of ``cls`` from flat ``values`` (parsed already or not): unknown keys are an error
    naming the closest key; missing keys take their declared default; ``check()`` methods run (unless
    ``checks`` is False: a section that the command line completes)."""
    infos = flat_fields(cls)
    known = {i.name: i for i in infos}
    unknown = sorted(set(values) - set(known))
    if unknown:
        hint = "; ".join(f"'{u}' (did you mean '{c}'?)" if (c := closest(u, list(known))) else f"'{u}'"
                         for u in unknown)
        raise ParamsError(f"{where}: unknown parameter(s) in section '{section}': {hint}. Remove or rename them.")
    parsed = {name: parse_setting(known[name], v, f"{where} [{section}.{name}]") for name, v in values.items()}
    config = _construct(cls, parsed)
    if checks:
        run_checks(config, where, section)
    return config


def _construct(cls: type, parsed: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if is_config(tp):
            kwargs[f.name] = _construct(tp, parsed)
        elif f.name in parsed:
            kwargs[f.name] = parsed[f.name]
    return cls(**kwargs)


def run_checks(config: Any, where: str, section: str) -> None:
    """Call every group's ``check()`` (cross-field rules); a ValueError becomes a ParamsError."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            run_checks(value, where, section)
    check = getattr(config, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            raise ParamsError(f"{where} [{section}]: {exc}") from None


def flatten(config: Any) -> dict[str, Any]:
    """Flat ``{name: value}`` of every setting of ``config`` and its groups (declaration order)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out.update(flatten(value))
        else:
            out[f.name] = value
    return out


def with_values(config: Any, **values: Any) -> Any:
    """A copy of ``config`` with flat settings replaced (groups found by name)."""
    flat = flatten(config)
    flat.update(values)
    return build(type(config), flat, "override", "")


def iter_groups(config: Any) -> Iterator[tuple[str, Any]]:
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            yield f.name, value
