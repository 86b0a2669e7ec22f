"""The signalling schema refuses everything it does not describe."""

import json

import pytest

from livelens.signalling.messages import MAX_MESSAGE_BYTES, ProtocolError, encode, parse


def msg(**fields: object) -> str:
    return json.dumps({"v": 1, **fields})


def test_valid_messages_parse() -> None:
    offer = parse(msg(type="offer", sdp="v=0\r\n"), "agent")
    assert offer.type == "offer"
    assert offer.text("sdp") == "v=0\r\n"
    consent = parse(msg(type="consent", accept=True, scopes=["camera"]), "customer")
    assert consent.flag("accept") is True
    assert consent.texts("scopes") == ("camera",)
    assert parse(msg(type="end"), "customer").type == "end"


@pytest.mark.parametrize(
    ("raw", "sender", "code"),
    [
        ("not json", "agent", "invalid_json"),
        ("[1]", "agent", "invalid_message"),
        (json.dumps({"type": "end"}), "agent", "unsupported_version"),
        (json.dumps({"v": 2, "type": "end"}), "agent", "unsupported_version"),
        (msg(type="explode"), "agent", "unknown_type"),
        (msg(type=5), "agent", "unknown_type"),
        (msg(type="consent", accept=True), "agent", "not_allowed"),
        (msg(type="end", extra=1), "agent", "unknown_field"),
        (msg(type="offer"), "agent", "missing_field"),
        (msg(type="offer", sdp=5), "agent", "invalid_field"),
        (msg(type="consent", accept="yes"), "customer", "invalid_field"),
        (msg(type="consent", accept=True, scopes="camera"), "customer", "invalid_field"),
        (msg(type="consent", accept=True, scopes=[1]), "customer", "invalid_field"),
        (msg(type="media_state", muted=1), "customer", "invalid_field"),
    ],
)
def test_bad_messages_are_refused_with_a_code(raw: str, sender: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(raw, sender)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_oversize_message_is_refused_before_parsing() -> None:
    raw = msg(type="offer", sdp="x" * MAX_MESSAGE_BYTES)
    with pytest.raises(ProtocolError) as caught:
        parse(raw, "agent")
    assert caught.value.code == "too_large"


def test_encode_is_versioned() -> None:
    assert json.loads(encode("answer", sdp="v=0")) == {"v": 1, "type": "answer", "sdp": "v=0"}
