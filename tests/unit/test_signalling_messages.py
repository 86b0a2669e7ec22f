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


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1000 + "]" * 1000,
        '{"v": 1, "type": "end", "x": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
        "[" * 30_000,  # never closed: the parser would recurse just as deep
    ],
)
def test_deep_nesting_is_refused_before_parsing(raw: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(raw, "agent")
    assert caught.value.code == "invalid_json"


def test_nesting_in_strings_is_not_nesting() -> None:
    chat = parse(msg(type="chat", text="[[[[" * 200, ref="a"), "agent")
    assert chat.text("text") == "[[[[" * 200


BIG = "9" * 400  # beyond a double's range


@pytest.mark.parametrize(
    "raw",
    [
        '{"v": 1, "type": "quality", "level": "good", "kbps_in": BIG, "kbps_out": 1, "loss": 0}',
        '{"v": 1, "type": "mark_add", "id": "m1", "pts": [[BIG, 0.5]]}',
        '{"v": 1, "type": "camera", "zoom": -BIG}',
        '{"v": 1, "type": "camera", "zoom": 1e400}',
        '{"v": 1, "type": "camera", "zoom": NaN}',
        '{"v": 1, "type": "camera", "zoom": -Infinity}',
        '{"v": BIG, "type": "end"}',
    ],
)
def test_numbers_beyond_a_double_are_refused(raw: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(raw.replace("BIG", BIG), "agent")
    assert caught.value.code == "invalid_json"
    assert "number" in caught.value.message


@pytest.mark.parametrize("version", ["true", "1.0"])
def test_version_is_the_integer_one(version: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse('{"v": VERSION, "type": "end"}'.replace("VERSION", version), "agent")
    assert caught.value.code == "unsupported_version"


@pytest.mark.parametrize("raw", ["\ud800", b"\xff\xfe\xfd", b'{"v": 1, "type": "end"\xc3}'])
def test_text_that_is_not_unicode_is_refused(raw: str | bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(raw, "customer")
    assert caught.value.code == "invalid_json"
