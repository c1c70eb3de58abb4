"""RFC 8785 JSON Canonicalization Scheme (JCS); compiled by mypyc (see the last paragraph).

Trail events hold only integers, strings, booleans, null, lists and objects with ASCII keys; for
those, JCS is compact JSON with sorted keys and ECMAScript string escaping, which a fast encoder
produces directly (see ``events``). This module is the general form, floats included, used by
``seal``, by the slow path of the verifier and as the reference in tests.

Compiled by mypyc (``setup.py``'s ``MYPYC``), so the rules that bite here: one exception type
per ``except ... as``; no msgspec ``Struct`` defined here (those stay in Python modules such as
``events``); monkeypatching a name here is invisible to compiled callers (patch it where a
Python module looks it up); and after an edit in an editable install, rebuild
(``pip install -e .``) or the old build keeps running (``HARNESS_AUDIT_BUILD_EXT=0`` installs
without compiling).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_SAFE_INTEGER = 2**53 - 1  # I-JSON (RFC 7493) and JCS: integers beyond this lose precision


MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a trail line may have (an event needs 3); deeper
lines are refused before a recursive parser or encoder sees them."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class CanonicalizationError(ValueError):
    """A value JCS cannot represent (NaN, infinity, a lone surrogate, a non-text key)."""


def nesting_depth(line: bytes) -> int:
    """How deep arrays and objects nest in a JSON line, outside strings, without parsing it
    (so without recursion): an upper bound for malformed lines, exact for valid ones."""
    depth = top = 0
    for b in _STRING.sub(b"", line).translate(None, _NOT_BRACKET):
        if b in b"[{":
            depth += 1
            top = max(top, depth)
        else:
            depth -= 1
    return top


def number_to_text(x: float | int) -> str:
    """ECMAScript Number::toString (ECMA-262 §7.1.12.1), as RFC 8785 §3.2.2.3 requires."""
    if isinstance(x, bool):
        raise CanonicalizationError("a boolean is not a number")
    if isinstance(x, int):
        if abs(x) > MAX_SAFE_INTEGER:
            try:
                x = float(x)  # what a JavaScript producer would see
            except OverflowError as err:
                raise CanonicalizationError("an integer is too large for a JSON number") from err
        else:
            return str(x)
    if not math.isfinite(x):
        raise CanonicalizationError(f"{x!r} has no JSON form")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    text = repr(abs(x))  # shortest round-trip digits, as ECMAScript requires
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac.rstrip("0") if frac != "0" else whole
    stripped = digits.lstrip("0")
    n = len(whole) + (int(exp) if exp else 0) - (len(digits) - len(stripped))
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = (digits if k == 1 else digits[0] + "." + digits[1:]) + ("e+" if e >= 0 else "e-")
        out += str(abs(e))
    return sign + out


def _string(s: str) -> str:
    # json.dumps escapes exactly as ECMAScript JSON.stringify: \b \t \n \f \r, other controls
    # as lowercase \u00xx, and " and \; everything else (non-ASCII included) stays as is.
    return json.dumps(s, ensure_ascii=False)


def _utf16_key(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def _emit(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int | float):
        out.append(number_to_text(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _emit(item, out)
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CanonicalizationError("object keys must be text")
        out.append("{")
        # RFC 8785 §3.2.3: sort by the keys' UTF-16 code units
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _emit(value[key], out)
        out.append("}")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether a value is of the narrow form trail events have (integers within ±2^53 - 1, no
    floats, ASCII keys, strings, booleans, null, lists and objects, at most ``MAX_DEPTH``
    deep), for which RFC 8785 is compact JSON with sorted keys: what orjson writes. (The depth
    bound keeps the recursion far from Python's limit.)"""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if depth >= MAX_DEPTH:
        return False
    if t is dict:
        for k, x in value.items():
            if type(k) is not str or not k.isascii():
                return False
            tx = type(x)
            if tx is str or tx is bool or x is None:
                continue
            if tx is int:
                if -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER:
                    continue
                return False
            if not is_plain(x, depth + 1):
                return False
        return True
    if t is list:
        return all(is_plain(x, depth + 1) for x in value)
    return False  # a float, a tuple, anything else: the general form decides


def canonicalize(value: Any, plain: bool | None = None) -> bytes:
    """The JCS bytes of a JSON value (UTF-8). Plain values (:func:`is_plain`; ``plain`` says
    so when the caller knows) are written by orjson (sorted keys; its string escaping is
    ECMAScript's), anything else by the general form; a test keeps the two equal."""
    if plain if plain is not None else is_plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: the general form names the problem
    return canonicalize_general(value)


def canonicalize_general(value: Any) -> bytes:
    """The JCS bytes of any JSON value, floats included (RFC 8785 in full)."""
    out: list[str] = []
    try:
        _emit(value, out)
    except RecursionError as deep:
        raise CanonicalizationError(
            f"nested too deeply (more than {MAX_DEPTH} is refused)"
        ) from deep
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as e:
        raise CanonicalizationError("text contains a lone surrogate") from e
