"""The signalling protocol: versioned JSON messages over one WebSocket per participant.

Every message is ``{"v": 1, "type": ..., ...fields}``. Each type lists who may
send it and its fields with their types and bounds; anything else is refused with
a :class:`ProtocolError` whose code the server sends back (the connection
survives one bad message; a flood of them is cut).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024

Sender = Literal["agent", "customer"]


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class FieldSpec:
    kind: Literal["str", "bool", "str_list"]
    required: bool = True
    max_length: int = 200  # characters for str, items for str_list


@dataclass(frozen=True)
class MessageSpec:
    senders: frozenset[Sender]
    fields: dict[str, FieldSpec]


BOTH: frozenset[Sender] = frozenset({"agent", "customer"})
CUSTOMER: frozenset[Sender] = frozenset({"customer"})

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
    "end": MessageSpec(BOTH, {}),
    "ping": MessageSpec(BOTH, {}),
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


def parse(raw: str | bytes, sender: Sender) -> Message:
    """Validate one incoming message from a participant in role ``sender``."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size >= MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "too_large", f"Messages must be smaller than {MAX_MESSAGE_BYTES} bytes."
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", "Message is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "Message must be a JSON object.")
    if data.get("v") != VERSION:
        raise ProtocolError("unsupported_version", f"Protocol version must be {VERSION}.")
    kind = data.get("type")
    spec = SPECS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise ProtocolError("unknown_type", f"Unknown message type {str(kind)[:40]!r}.")
    if sender not in spec.senders:
        raise ProtocolError("not_allowed", f"A {sender} may not send {kind!r}.")
    assert isinstance(kind, str)
    fields = {k: v for k, v in data.items() if k not in ("v", "type")}
    unknown = set(fields) - set(spec.fields)
    if unknown:
        raise ProtocolError("unknown_field", f"Unknown field {sorted(unknown)[0][:40]!r}.")
    for name, field in spec.fields.items():
        if name not in fields:
            if field.required:
                raise ProtocolError("missing_field", f"Field {name!r} is required.")
            continue
        _check_field(name, field, fields[name])
    return Message(kind, fields)


def _check_field(name: str, field: FieldSpec, value: object) -> None:
    if field.kind == "bool" and not isinstance(value, bool):
        raise ProtocolError("invalid_field", f"Field {name!r} must be true or false.")
    if field.kind == "str" and (not isinstance(value, str) or len(value) > field.max_length):
        raise ProtocolError(
            "invalid_field", f"Field {name!r} must be a string (max {field.max_length})."
        )
    if field.kind == "str_list" and (
        not isinstance(value, list)
        or len(value) > field.max_length
        or not all(isinstance(v, str) and len(v) <= 40 for v in value)
    ):
        raise ProtocolError("invalid_field", f"Field {name!r} must be a short list of strings.")


def encode(kind: str, **fields: object) -> str:
    """A server → participant message."""
    return json.dumps({"v": VERSION, "type": kind, **fields})
