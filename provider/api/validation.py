"""Sane ranges for what a client sends: finite numbers, 64-bit integers, valid text, bounded depth.

Every JSON body goes through ``check_json`` before its model is validated, so no value that
breaks later code (``Infinity`` turned into an int, a lone surrogate that cannot be written as
UTF-8, an integer too large for a float or for SQLite, a nesting too deep to store) gets past
the schema, wherever it sits: typed fields and free-form objects (``metadata``,
``algocustomdata``, ``userdata``, ``fileObject``, ``payment``, ``output``) alike. A refusal is a
``PydanticCustomError`` of type ``out_of_range`` whose message names the field as sent; the
error handler answers such problems with 400.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_AMOUNT",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_SAFE_INTEGER",
    "MAX_SECONDS",
    "OUT_OF_RANGE",
    "check_json",
    "out_of_range",
    "printable",
]

OUT_OF_RANGE = "out_of_range"
# Durations in seconds: what fits a signed 32-bit integer (about 68 years).
MAX_SECONDS = 2**31 - 1
# Any integer: what SQLite and every JSON parser with 64-bit integers can hold.
MAX_INTEGER = 2**63 - 1
# Integers a JavaScript client (ocean.js) can send exactly, e.g. Date.now() in validUntil.
MAX_SAFE_INTEGER = 2**53 - 1
# A resource amount (CPUs, GiB): far beyond any machine, small enough to compute with.
MAX_AMOUNT = 1_000_000
MAX_DEPTH = 32
_NAME_CHARS = 40


def out_of_range(problem: str, where: str = "") -> PydanticCustomError:
    """The refusal; ``where`` names the value when the error's location does not (a check of a
    whole body, or of a value inside a field)."""
    if not where:
        return PydanticCustomError(OUT_OF_RANGE, "{problem}", {"problem": problem})
    return PydanticCustomError(
        OUT_OF_RANGE, "{where}: {problem}", {"where": where, "problem": problem}
    )


def printable(text: str) -> str:
    """``text`` as it may appear in an error message: valid UTF-8, capped."""
    shown = text if len(text) <= _NAME_CHARS else text[:_NAME_CHARS] + "…"
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def check_json(value: Any, where: str = "", depth: int = 0) -> None:
    """Raise ``out_of_range`` naming the first value of a parsed JSON document (``where`` is its
    path) that is not a finite number, a 64-bit integer or valid text, or that nests deeper than
    ``MAX_DEPTH``. Values of other types (already validated models) are left alone."""
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise out_of_range(
                f"integer out of range (at most {MAX_INTEGER} either way; send it as a string)",
                where,
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise out_of_range("must be a finite number", where)
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise out_of_range(f"nested deeper than {MAX_DEPTH} levels", where)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                inner = f"{where}.{printable(key)}" if where else printable(key)
                _check_text(key, inner, what="name")
            else:
                inner = f"{where}[{key}]"
            check_json(item, inner, depth + 1)


def _check_text(text: str, where: str, what: str = "text") -> None:
    if "\x00" in text:
        raise out_of_range(f"{what} must not contain NUL characters", where)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise out_of_range(
            f"{what} is not valid Unicode (it holds a lone surrogate)", where
        ) from None
