"""A small declarative check of parsed JSON, run before any field of it is used.

A spec is one of:
    str, int, float, bool      that type (an int is never a bool and fits in 64 bits; a
                               float is finite and may be an int)
    int_in(low, high), natural an int in that range (natural: not negative)
    {"key": spec, ...}         an object holding at least these keys (others are ignored, so
                               a newer reflect may add fields)
    optional(spec)             inside an object: the key may be missing or null; elsewhere
                               (a row, a list): null or spec
    defaulted(spec)            inside an object: the key may be missing (the reader uses its
                               default), but if present it matches spec (null only if spec says)
    list_of(spec), dict_of(spec), row(spec, spec, ...)   arrays, string-keyed maps, and
                               fixed-length arrays
    a function value -> bool   anything else (anything, hex_string, iso_date)

Callers turn a mismatch into one error of their own that names the structure ("the key file
is damaged"): which field was wrong would tell a person nothing they could act on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Around:
    """A spec applied in some way to the spec it wraps; the subclass says how."""

    spec: Any


class _Optional(_Around):
    __slots__ = ()


class _Defaulted(_Around):
    __slots__ = ()


class _ListOf(_Around):
    __slots__ = ()


class _DictOf(_Around):
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _IntIn:
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class _Row:
    specs: tuple[Any, ...]


def optional(spec: Any) -> Any:
    return _Optional(spec)


def defaulted(spec: Any) -> Any:
    return _Defaulted(spec)


def int_in(low: int, high: int) -> Any:
    return _IntIn(low, high)


# Nothing reflect stores counts past this; a bigger number is damage, and would overflow
# numpy, struct or a float conversion further on.
_INT64 = 2**63
natural = _IntIn(0, _INT64 - 1)


def list_of(spec: Any) -> Any:
    return _ListOf(spec)


def dict_of(spec: Any) -> Any:
    return _DictOf(spec)


def row(*specs: Any) -> Any:
    return _Row(specs)


def anything(value: Any) -> bool:
    """Any JSON value: for parts checked later, where they are used."""
    return True


def hex_string(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) % 2 == 0 and all(c in string.hexdigits for c in value)
    )


def iso_date(value: Any) -> bool:
    """A calendar date written YYYY-MM-DD."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def matches(value: Any, spec: Any) -> bool:
    if spec is bool:
        return isinstance(value, bool)
    if spec is int:
        return _is_int(value) and -_INT64 <= value < _INT64
    if isinstance(spec, _IntIn):
        return _is_int(value) and spec.low <= value <= spec.high
    if spec is float:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if spec is str:
        return isinstance(value, str)
    if isinstance(spec, dict):
        return isinstance(value, dict) and all(
            _field_matches(value, key, sub) for key, sub in spec.items()
        )
    if isinstance(spec, _Optional):
        return value is None or matches(value, spec.spec)
    if isinstance(spec, _Defaulted):
        return matches(value, spec.spec)
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
        return isinstance(spec, _Optional | _Defaulted)
    return matches(obj[key], spec)


def require(value: Any, spec: Any, error: Callable[[], Exception]) -> None:
    """Raise `error()` unless `value` matches `spec`."""
    if not matches(value, spec):
        raise error()


def load(data: bytes | str, spec: Any, error: Callable[[], Exception]) -> Any:
    """Parse JSON and check it against `spec`; anything unreadable or mismatched is `error()`.

    Covers what `json.loads` itself throws on hostile input: bad UTF-8, syntax, nesting deep
    enough to exhaust the stack, and integers longer than Python converts (4,300 digits).
    """
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise error() from None
    require(value, spec, error)
    return value
