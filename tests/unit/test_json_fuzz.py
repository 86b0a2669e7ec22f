"""Fuzzing the two parsers of untrusted JSON: whatever arrives, the answer is a value or
the protocol's refusal, never another exception (a 500, or a WebSocket cut with a
traceback in the log).

Bounded so that it runs in a few seconds with the rest of the suite.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livelens import jsonlimits
from livelens.errors import InvalidJson, PayloadTooLarge
from livelens.http.base import parse_json_body
from livelens.signalling.messages import SPECS, FieldSpec, Message, ProtocolError, Sender, parse

FUZZ = settings(
    max_examples=200,
    deadline=None,  # a busy CI core is no finding
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SENDERS: list[Sender] = ["agent", "customer"]

# Numbers around and far beyond a double's range, besides the usual ones.
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=2 * 10**308, max_value=10**330),  # a double ends near 1.8e308
    st.integers(min_value=-(10**330), max_value=-2 * 10**308),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=50))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=40,
)

# Text built from JSON's own tokens, so that most of it nearly parses.
TOKENS = st.sampled_from(
    ["{", "}", "[", "]", ",", ":", '"', "\\", "1", "-", "e", "9" * 400, ".5", "true", "null",
     "NaN", "Infinity", '"v"', '"type"', '"end"', '"offer"', '"pts"', " ", "\ud800"]
)  # fmt: skip
JSONISH = st.lists(TOKENS, max_size=80).map("".join)


@st.composite
def deep(draw: st.DrawFn) -> str:
    """Nesting around and beyond the limit, closed or not, arrays or objects."""
    depth = draw(st.integers(0, 3000))
    opener = draw(st.sampled_from(["[", '{"a":', '{"v": 1, "type": "end", "x": [']))
    closer = {"[": "]", '{"a":': "}"}.get(opener, "]}")
    closes = draw(st.integers(0, depth))
    return opener * depth + "1" + closer * closes


def valid(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values that pass the field's check, so that fuzzing reaches the fields after it."""
    if spec.kind == "str":
        if spec.pattern:
            return st.from_regex(spec.pattern, fullmatch=True)
        return st.text(max_size=min(spec.max_length, 50))
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "enum":
        return st.sampled_from(spec.choices)
    if spec.kind == "num":
        return st.floats(spec.minimum, spec.maximum) | st.integers(0, int(spec.maximum))
    if spec.kind == "str_list":
        return st.lists(st.text(max_size=40), max_size=spec.max_length)
    point = st.lists(st.floats(0, 1), min_size=2, max_size=2)
    return st.lists(point, min_size=1, max_size=spec.max_length)


@st.composite
def messages(draw: st.DrawFn) -> str:
    """A message of a known type (mostly) with valid fields, then a few of them, the
    version or the type replaced by anything, or unknown fields added."""
    kind = draw(st.text()) if draw(st.integers(0, 9)) == 9 else draw(st.sampled_from(sorted(SPECS)))
    fields: dict[str, Any] = {}
    for name, spec in SPECS[kind].fields.items() if kind in SPECS else ():
        if spec.required or draw(st.booleans()):
            fields[name] = draw(valid(spec))
    names = [*(SPECS[kind].fields if kind in SPECS else ()), draw(st.text(max_size=5))]
    fields |= draw(st.dictionaries(st.sampled_from(names), NUMBERS | VALUES, max_size=2))
    version = draw(NUMBERS | st.booleans()) if draw(st.integers(0, 9)) == 9 else 1
    return json.dumps({"v": version, "type": kind, **fields})


RAW = st.one_of(
    JSONISH, deep(), messages(), st.text(max_size=200), st.binary(max_size=200),
    VALUES.map(json.dumps), messages().map(str.encode),
)  # fmt: skip


def _read_every_field(message: Message) -> None:
    """What the room does with a message must work on whatever parse lets through."""
    for name, spec in SPECS[message.type].fields.items():
        if spec.kind in ("str", "enum"):
            message.text(name)
        elif spec.kind == "bool":
            message.flag(name)
        elif spec.kind == "str_list":
            message.texts(name)
        elif spec.kind == "num":
            value = message.number(name)
            assert value is None or math.isfinite(value)
        else:
            assert all(0 <= c <= 1 for point in message.points(name) for c in point)


def _parse_or_refuse(raw: str | bytes, sender: Sender) -> None:
    try:
        message = parse(raw, sender)
    except ProtocolError:
        return  # what the socket answers with an error message
    assert sender in SPECS[message.type].senders
    _read_every_field(message)


@FUZZ
@given(raw=RAW, sender=st.sampled_from(SENDERS))
def test_signalling_parse_of_any_text_is_a_message_or_a_protocol_error(
    raw: str | bytes, sender: Sender
) -> None:
    _parse_or_refuse(raw, sender)


@settings(FUZZ, max_examples=600)  # the way to reach every field's check
@given(raw=messages(), sender=st.sampled_from(SENDERS))
def test_signalling_parse_of_messages_is_a_message_or_a_protocol_error(
    raw: str, sender: Sender
) -> None:
    _parse_or_refuse(raw, sender)


@FUZZ
@given(raw=RAW)
def test_http_body_is_a_json_object_or_a_400(raw: str | bytes) -> None:
    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        parsed = parse_json_body(body)
    except (InvalidJson, PayloadTooLarge):
        return  # a 400 or 413 with the reason
    assert isinstance(parsed, dict)


@FUZZ
@given(raw=RAW)
def test_bounded_loader_agrees_with_json_on_what_it_accepts(raw: str | bytes) -> None:
    try:
        value: Any = jsonlimits.loads(raw)
    except jsonlimits.JsonRejected:
        return
    assert value == json.loads(raw)
