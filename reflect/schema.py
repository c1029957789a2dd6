"""A small declarative check of parsed JSON, run before any field of it is used.

A spec is one of:
    str, int, float, bool      that type (an int is never a bool; a float may be an int)
    {"key": spec, ...}         an object holding at least these keys (others are ignored, so
                               a newer reflect may add fields)
    optional(spec)             inside an object: the key may be missing or null
    list_of(spec), dict_of(spec), row(spec, spec, ...)   arrays, string-keyed maps, and
                               fixed-length arrays
    a function value -> bool   anything else (hex_string)

Callers turn a mismatch into one error of their own that names the structure ("the key file
is damaged"): which field was wrong would tell a person nothing they could act on.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Optional:
    spec: Any


@dataclass(frozen=True, slots=True)
class _ListOf:
    spec: Any


@dataclass(frozen=True, slots=True)
class _DictOf:
    spec: Any


@dataclass(frozen=True, slots=True)
class _Row:
    specs: tuple[Any, ...]


def optional(spec: Any) -> Any:
    return _Optional(spec)


def list_of(spec: Any) -> Any:
    return _ListOf(spec)


def dict_of(spec: Any) -> Any:
    return _DictOf(spec)


def row(*specs: Any) -> Any:
    return _Row(specs)


def hex_string(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) % 2 == 0
        and all(c in string.hexdigits for c in value)
    )


def matches(value: Any, spec: Any) -> bool:
    if spec is bool:
        return isinstance(value, bool)
    if spec is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if spec is float:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
    if spec is str:
        return isinstance(value, str)
    if isinstance(spec, dict):
        return isinstance(value, dict) and all(
            _field_matches(value, key, sub) for key, sub in spec.items()
        )
    if isinstance(spec, _Optional):
        return value is None or matches(value, spec.spec)
    if isinstance(spec, _ListOf):
        return isinstance(value, list) and all(matches(v, spec.spec) for v in value)
    if isinstance(spec, _DictOf):
        return isinstance(value, dict) and all(
            isinstance(k, str) and matches(v, spec.spec) for k, v in value.items()
        )
    if isinstance(spec, _Row):
        return (
            isinstance(value, list)
            and len(value) == len(spec.specs)
            and all(matches(v, s) for v, s in zip(value, spec.specs, strict=True))
        )
    if callable(spec):
        return bool(spec(value))
    raise TypeError(f"not a schema spec: {spec!r}")


def _field_matches(obj: dict[str, Any], key: str, spec: Any) -> bool:
    if key not in obj:
        return isinstance(spec, _Optional)
    return matches(obj[key], spec)


def require(value: Any, spec: Any, error: Callable[[], Exception]) -> None:
    """Raise `error()` unless `value` matches `spec`."""
    if not matches(value, spec):
        raise error()
