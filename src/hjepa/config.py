"""Typed configs: dataclasses that load from YAML/JSON and take `section.key=value` overrides.

    cfg = from_dict(TrainRunConfig, yaml.safe_load(open("run.yaml")))
    cfg = apply_overrides(cfg, ["loss.idm=0", "train.batch_size=128"])

A config class derives from `Checked` and declares its ranges as class attributes (POSITIVE,
NONNEGATIVE, FRACTION, CHOICES, ORDERED), checked when it is built, so the CLI, a YAML file and
the Python API all get the same one-line ConfigError naming the key. Every float must be finite.
RESUME_SAFE names the keys a resumed run may change (budgets, logging): `resume_changes` finds
any other.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """An unknown key, a value of the wrong type or out of range in a config or override."""


class ConfigValueError(ConfigError):
    """A value out of range: `key` (dotted once the config is nested) and what is wrong with it."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key} {problem}")
        self.key, self.problem = key, problem


def _declared(cls, name: str) -> set:
    """The union of class attribute `name` over cls and its bases (each class adds its own)."""
    out: set = set()
    for klass in cls.__mro__:
        value = klass.__dict__.get(name, ())
        out.update(value.items() if isinstance(value, dict) else value)
    return out


def _numbers(value) -> list:
    items = value if isinstance(value, (tuple, list)) else (value,)
    return [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


class Checked:
    """Range checks for a config dataclass, run when it is built (see the module docstring).
    POSITIVE: > 0; NONNEGATIVE: >= 0; FRACTION: in [0, 1] (tuples: each item); CHOICES: {key: names};
    ORDERED: (low, high) pairs; `check()` adds the checks that involve several keys."""
    POSITIVE: tuple[str, ...] = ()
    NONNEGATIVE: tuple[str, ...] = ()
    FRACTION: tuple[str, ...] = ()
    ORDERED: tuple[str, ...] = ()
    CHOICES: dict = {}
    RESUME_SAFE: tuple[str, ...] = ()

    def __post_init__(self):
        cls = type(self)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            for v in _numbers(value):
                if isinstance(v, float) and not math.isfinite(v):
                    raise ConfigValueError(f.name, f"must be a finite number, got {value!r}")
        rules = ((_declared(cls, "POSITIVE"), lambda v: v > 0, "must be > 0"),
                 (_declared(cls, "NONNEGATIVE"), lambda v: v >= 0, "must be >= 0"),
                 (_declared(cls, "FRACTION"), lambda v: 0 <= v <= 1, "must be in [0, 1]"))
        for names, ok, problem in rules:
            for name in names:
                value = getattr(self, name)
                if value is not None and not all(ok(v) for v in _numbers(value)):
                    raise ConfigValueError(name, f"{problem}, got {value!r}")
                if isinstance(value, tuple) and not value:
                    raise ConfigValueError(name, "must not be empty")
        for name in _declared(cls, "ORDERED"):
            value = getattr(self, name)
            if value is not None and (len(value) != 2 or value[0] > value[1]):
                raise ConfigValueError(name, f"must be a range [low, high] with low <= high, got {list(value)}")
        for name, allowed in _declared(cls, "CHOICES"):
            if getattr(self, name) not in allowed:
                raise ConfigValueError(name, f"must be one of {list(allowed)}, got {getattr(self, name)!r}")
        self.check()

    def check(self) -> None:
        """Checks across keys; raise ConfigValueError(key, problem)."""


def resume_changes(saved, new, where: str = "") -> list[str]:
    """The dotted keys whose value differs between two configs of one class and that the owning
    config does not declare RESUME_SAFE."""
    changed = []
    for f in dataclasses.fields(saved):
        old, value = getattr(saved, f.name), getattr(new, f.name)
        if dataclasses.is_dataclass(old):
            changed += resume_changes(old, value, f"{where}{f.name}.")
        elif old != value and f.name not in _declared(type(saved), "RESUME_SAFE"):
            changed.append(f"{where}{f.name}")
    return changed


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def _convert(value, hint, where: str):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(hint, value, f"{where}.")
    if origin is typing.Union or str(origin) == "types.UnionType":
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else typing.Any
        return tuple(_convert(v, item, where) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if hint in (int, float, str):
        try:
            if hint is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return hint(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}") from None
    return value


def from_dict(cls, data: dict, where: str = ""):
    """Build dataclass `cls` from a (possibly partial) nested dict; unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown config key(s) {sorted(unknown)} in {where.rstrip('.') or cls.__name__}; known: {sorted(names)}")
    kwargs = {k: _convert(v, hints[k], f"{where}{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigValueError as err:  # name the key by its full path
        raise ConfigValueError(f"{where}{err.key}", err.problem) from None


def apply_overrides(cfg, overrides: list[str]):
    """Return a copy of cfg with each `a.b.c=value` (value parsed as YAML) applied."""
    return from_dict(type(cfg), overridden_dict(cfg, overrides))


def overridden_dict(cfg, overrides: list[str]) -> dict:
    """cfg as a dict with each `a.b.c=value` applied, keys checked but values not yet: a value's
    range may depend on keys set later (a map latent's size on the dataset's image channels)."""
    data = to_dict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        node, parts = data, key.strip().split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a config section")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"override {item!r}: unknown key {parts[-1]!r}; known: {sorted(node)}")
        node[parts[-1]] = yaml.safe_load(raw)
    return data


def load_file(cls, path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(data).__name__}")
    return from_dict(cls, data)


def save_json(cfg, path: str | Path) -> None:
    Path(path).write_text(json.dumps(to_dict(cfg), indent=2))
