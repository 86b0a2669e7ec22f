"""The signalling protocol: versioned JSON messages over one WebSocket per participant.

Every message is ``{"v": 1, "type": ..., ...fields}``. Each type lists who may
send it and its fields with their types and bounds; anything else is refused with
a :class:`ProtocolError` whose code the server sends back (the connection
survives one bad message; a flood of them is cut).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NoReturn

from livelens import jsonlimits

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024

Sender = Literal["agent", "customer"]


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class FieldSpec:
    kind: Literal["str", "bool", "str_list", "num", "enum", "points"]
    required: bool = True
    max_length: int = 200  # characters for str, items for str_list and points
    minimum: float = 0.0  # num
    maximum: float = 1.0  # num
    choices: tuple[str, ...] = ()  # enum
    pattern: str | None = None  # str: the whole value must match


def text(max_length: int, *, required: bool = True, pattern: str | None = None) -> FieldSpec:
    return FieldSpec("str", required, max_length, pattern=pattern)


def num(minimum: float, maximum: float, *, required: bool = True) -> FieldSpec:
    return FieldSpec("num", required, minimum=minimum, maximum=maximum)


def enum(*choices: str, required: bool = True) -> FieldSpec:
    return FieldSpec("enum", required, choices=choices)


def flag(*, required: bool = True) -> FieldSpec:
    return FieldSpec("bool", required)


@dataclass(frozen=True)
class MessageSpec:
    senders: frozenset[Sender]
    fields: dict[str, FieldSpec]
    # A rule across fields, once each is valid: the reason the message is refused, or None.
    check: Callable[[dict[str, object]], str | None] | None = None


BOTH: frozenset[Sender] = frozenset({"agent", "customer"})
CUSTOMER: frozenset[Sender] = frozenset({"customer"})
AGENT: frozenset[Sender] = frozenset({"agent"})

CHAT_MAX_CHARS = 1000
MARK_TOOLS = ("pen", "arrow", "circle", "text", "pointer")
MARK_MAX_POINTS = 64  # per message: a stroke streams in many small batches
MARK_TEXT_MAX = 120
QUALITY_LEVELS = ("good", "fair", "poor", "connecting")
# Why the customer's camera cannot reach the agents, as their page finds out: the browser
# has no WebRTC (or it is turned off), the video did not connect after a few tries, the
# camera was refused, is missing, needs https, or is busy in another app.
MEDIA_PROBLEMS = ("no_webrtc", "connect_failed", "camera_blocked", "no_camera",
                  "insecure_page", "camera_busy")  # fmt: skip
# Client-chosen ids of marks and chat messages: short, no markup.
CLIENT_ID = text(40, pattern=r"[A-Za-z0-9_-]{1,40}")
REASON = text(160, required=False)
# Rounding slack when a region's edge is checked against the frame's.
VIEW_SLACK = 1e-3


def _region_in_frame(fields: dict[str, object]) -> str | None:
    x, y, w, h = (float(fields[k]) for k in ("x", "y", "w", "h"))  # type: ignore[arg-type]
    if w <= 0 or h <= 0 or x + w > 1 + VIEW_SLACK or y + h > 1 + VIEW_SLACK:
        return "The region must have a size and lie within the frame (x + w and y + h at most 1)."
    return None


SPECS: dict[str, MessageSpec] = {
    # WebRTC: the browser offers, the server answers (non-trickle: candidates in the SDP).
    "offer": MessageSpec(BOTH, {"sdp": FieldSpec("str", max_length=MAX_MESSAGE_BYTES)}),
    "consent": MessageSpec(
        CUSTOMER,
        {"accept": FieldSpec("bool"), "scopes": FieldSpec("str_list", required=False,
                                                          max_length=4)},
    ),
    # What the sender's own microphone/camera are doing, shown to the other side.
    "media_state": MessageSpec(
        BOTH, {"muted": FieldSpec("bool"), "video": FieldSpec("bool", required=False)}
    ),
    # End for everyone (the owner, an expert or the customer); an agent may instead
    # leave, and the session goes on for the others (see room_core.py).
    "end": MessageSpec(BOTH, {}),
    "leave": MessageSpec(AGENT, {}),
    "ping": MessageSpec(BOTH, {}),
    # In-session tools. Chat goes both ways; everything that changes what the customer's
    # device shows or does (marks, freeze, camera, bandwidth) comes from agents only.
    "chat": MessageSpec(BOTH, {"text": text(CHAT_MAX_CHARS), "ref": CLIENT_ID}),
    "chat_ack": MessageSpec(BOTH, {"ids": FieldSpec("str_list", max_length=50)}),
    "mark_start": MessageSpec(AGENT, {
        "id": CLIENT_ID, "tool": enum(*MARK_TOOLS),
        "color": text(7, pattern=r"#[0-9a-fA-F]{6}"),
        "pts": FieldSpec("points", max_length=MARK_MAX_POINTS),
        "text": text(MARK_TEXT_MAX, required=False),
        "fade": num(0, 600, required=False),  # seconds on live video; 0: pinned
    }),
    "mark_add": MessageSpec(AGENT, {"id": CLIENT_ID,
                                    "pts": FieldSpec("points", max_length=MARK_MAX_POINTS)}),
    "mark_end": MessageSpec(AGENT, {"id": CLIENT_ID}),
    "mark_remove": MessageSpec(AGENT, {"id": CLIENT_ID}),
    "marks_clear": MessageSpec(AGENT, {}),
    "freeze": MessageSpec(AGENT, {}),
    "unfreeze": MessageSpec(AGENT, {}),
    # A request the customer's page carries out on its own camera, if it can.
    "camera": MessageSpec(AGENT, {"torch": flag(required=False),
                                  "zoom": num(0, 1000, required=False),
                                  "switch": flag(required=False)}),
    "low_bandwidth": MessageSpec(AGENT, {"on": flag()}),
    # What the customer's camera can do (MediaStreamTrack.getCapabilities) and is doing.
    "device": MessageSpec(CUSTOMER, {
        "torch": flag(), "torch_on": flag(required=False), "torch_reason": REASON,
        "zoom": flag(), "zoom_min": num(0, 1000, required=False),
        "zoom_max": num(0, 1000, required=False), "zoom_step": num(0, 1000, required=False),
        "zoom_value": num(0, 1000, required=False), "zoom_reason": REASON,
        "switch": flag(), "switch_reason": REASON,
        "facing": enum("user", "environment", "unknown", required=False),
        "low_bandwidth": flag(required=False), "error": REASON,
    }),
    # The part of the camera's frame the customer's screen shows (it crops the picture),
    # in frame coordinates: the agents' view outlines it and flags marks outside it.
    "view": MessageSpec(CUSTOMER, {"x": num(0, 1), "y": num(0, 1), "w": num(0, 1),
                                   "h": num(0, 1)}, check=_region_in_frame),
    # The customer's page cannot send its camera, and why (shown to the agents).
    "media_problem": MessageSpec(CUSTOMER, {"reason": enum(*MEDIA_PROBLEMS)}),
    "quality": MessageSpec(BOTH, {
        "level": enum(*QUALITY_LEVELS), "kbps_in": num(0, 1e6), "kbps_out": num(0, 1e6),
        "loss": num(0, 100), "rtt": num(0, 60_000, required=False),
    }),
}  # fmt: skip

# Messages share a connection's budget by class, so a burst of one kind (a long pen
# stroke) neither starves the others nor looks like abuse.
RATE_CLASS: dict[str, str] = {
    **{kind: "marks" for kind in ("mark_start", "mark_add", "mark_end", "mark_remove",
                                  "marks_clear")},
    "chat": "chat",
    "quality": "quality",
    "device": "quality",
}  # fmt: skip


@dataclass(frozen=True)
class Message:
    type: str
    fields: dict[str, object]

    def text(self, name: str) -> str:
        value = self.fields.get(name, "")
        assert isinstance(value, str)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.fields.get(name, default)
        assert isinstance(value, bool)
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.fields.get(name, [])
        assert isinstance(value, list)
        return tuple(str(v) for v in value)

    def number(self, name: str) -> float | None:
        value = self.fields.get(name)
        assert value is None or isinstance(value, int | float)
        return None if value is None else float(value)

    def points(self, name: str) -> list[tuple[float, float]]:
        value = self.fields.get(name, [])
        assert isinstance(value, list)
        return [(float(x), float(y)) for x, y in value]


def parse(raw: str | bytes, sender: Sender) -> Message:
    """Validate one incoming message from a participant in role ``sender``."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size >= MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "too_large", f"Messages must be smaller than {MAX_MESSAGE_BYTES} bytes."
        )
    try:
        data = jsonlimits.loads(raw)
    except jsonlimits.JsonRejected as exc:
        raise ProtocolError("invalid_json", f"Message is not valid JSON: {exc.reason}.") from exc
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "Message must be a JSON object.")
    version = data.get("v")
    if type(version) is not int or version != VERSION:  # not true, nor 1.0
        raise ProtocolError("unsupported_version", f"Protocol version must be {VERSION}.")
    kind = data.get("type")
    spec = SPECS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise ProtocolError("unknown_type", f"Unknown message type {str(kind)[:40]!r}.")
    if sender not in spec.senders:
        raise ProtocolError("not_allowed", f"A {sender} may not send {kind!r}.")
    assert isinstance(kind, str)
    del data["v"], data["type"]  # what is left are the fields (a fresh dict: no copy)
    fields = data
    unknown = fields.keys() - spec.fields.keys()
    if unknown:
        raise ProtocolError("unknown_field", f"Unknown field {sorted(unknown)[0][:40]!r}.")
    for name, field in spec.fields.items():
        if name not in fields:
            if field.required:
                raise ProtocolError("missing_field", f"Field {name!r} is required.")
            continue
        if not _VALID[field.kind](field, fields[name]):
            _refuse(name, field)
    reason = spec.check(fields) if spec.check else None
    if reason is not None:
        raise ProtocolError("invalid_field", reason)
    return Message(kind, fields)


def _is_number(value: object, low: float, high: float) -> bool:
    # The parser refuses NaN, Infinity and numbers beyond a double; this stays as a
    # second line, since neither is a coordinate or a setting.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


# Each kind's test of a value, looked up once per field. Why a table of plain tests
# rather than one function trying every kind in turn: every field of every message is
# checked, and this (with the fields taken from the parsed dict rather than copied) cut
# parse's instructions by about 8 % (issue 16, callgrind).
def _valid_str(field: FieldSpec, value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= field.max_length
        and (field.pattern is None or _pattern(field.pattern).fullmatch(value) is not None)
    )


def _valid_points(field: FieldSpec, value: object) -> bool:
    return (
        isinstance(value, list)
        and 1 <= len(value) <= field.max_length
        and all(
            isinstance(p, list) and len(p) == 2 and all(_is_number(c, 0.0, 1.0) for c in p)
            for p in value
        )
    )


def _valid_str_list(field: FieldSpec, value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= field.max_length
        and all(isinstance(v, str) and len(v) <= 40 for v in value)
    )


_VALID: dict[str, Callable[[FieldSpec, object], bool]] = {
    "bool": lambda field, value: isinstance(value, bool),
    "str": _valid_str,
    "num": lambda field, value: _is_number(value, field.minimum, field.maximum),
    "enum": lambda field, value: value in field.choices,
    "points": _valid_points,
    "str_list": _valid_str_list,
}


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _refuse(name: str, field: FieldSpec) -> NoReturn:
    """The reason a field's value is refused, by its kind."""
    match field.kind:
        case "bool":
            reason = f"Field {name!r} must be true or false."
        case "str":
            reason = f"Field {name!r} must be a string (max {field.max_length})."
        case "num":
            reason = f"Field {name!r} must be a number from {field.minimum:g} to {field.maximum:g}."
        case "enum":
            reason = f"Field {name!r} must be one of {', '.join(field.choices)}."
        case "points":
            reason = f"Field {name!r} must be 1 to {field.max_length} [x, y] pairs within 0..1."
        case _:
            reason = f"Field {name!r} must be a short list of strings."
    raise ProtocolError("invalid_field", reason)


def encode(kind: str, **fields: object) -> str:
    """A server → participant message."""
    return json.dumps({"v": VERSION, "type": kind, **fields})
