"""JSON from untrusted senders, with nesting and numbers bounded before they can hurt.

The standard parser recurses once per nesting level, so a few thousand ``[`` raise
RecursionError, and it turns any integer literal into an int, so one beyond a
float's range breaks the arithmetic done on it later. Neither is the ValueError a
caller expects. Here the depth is measured on the raw text before parsing, and
numbers are checked as they are parsed; every refusal is a :class:`JsonRejected`
whose reason can be shown to the sender. Both the HTTP API and signalling use it.
"""

from __future__ import annotations

import array
import itertools
import json
import math
import re
import sys

MAX_DEPTH = 32  # our messages nest 3 levels at most; this leaves room, not a stack overflow
_MAX_INT_DIGITS = 310  # a double's range (about 1.8e308), checked exactly below

# A JSON string: a quote, then anything but a quote or backslash, or an escape; or an
# unterminated one, up to the end (the parser fails there, nesting no deeper). Always
# matching where it starts keeps this linear: no backtracking over a long escape run.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")


class JsonRejected(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads(raw: str | bytes, *, max_depth: int = MAX_DEPTH) -> object:
    """Parse ``raw`` as json.loads would, or raise :class:`JsonRejected`."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        except UnicodeDecodeError as exc:
            raise JsonRejected("it is not valid UTF-8 text") from exc
    else:
        text = raw
    _check_depth(text, max_depth)
    if text.startswith("\ufeff"):  # as json.loads refuses it; the decoder alone would not
        raise JsonRejected("it starts with a byte order mark")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonRejected(str(exc)) from exc
    except RecursionError as exc:  # only if the caller's own stack was already deep
        raise JsonRejected(f"it is nested more than {max_depth} levels deep") from exc


def _check_depth(text: str, max_depth: int) -> None:
    if text.count("[") + text.count("{") <= max_depth:
        return  # the usual case: too few brackets to nest that deep
    # The nesting depth is the running count of brackets opened and not yet closed
    # (outside strings, whatever their kind), summed in C: +1 and -1 as signed bytes.
    outside = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    steps = array.array("b", outside.translate(_STEPS, _NOT_BRACKET))
    if max(itertools.accumulate(steps), default=0) > max_depth:
        raise JsonRejected(f"it is nested more than {max_depth} levels deep")


def _int(literal: str) -> int:
    if len(literal) <= _MAX_INT_DIGITS:
        value = int(literal)
        if abs(value) <= sys.float_info.max:
            return value
    raise JsonRejected("it has a number too large for a double")


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise JsonRejected("it has a number too large for a double")
    return value


def _no_constant(literal: str) -> float:
    raise JsonRejected(f"{literal} is not a JSON number")


# Made once: json.loads with hooks builds a new decoder (and its scanner) on every call,
# about half of a small message's parse.
_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_no_constant)
