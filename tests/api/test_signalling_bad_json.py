"""Malformed JSON on a signalling WebSocket: the sender gets the protocol's error
message and keeps its connection; the server logs no traceback."""

from __future__ import annotations

import logging

import pytest

from tests.api.harness import Server
from tests.api.signalling import live_session

BIG = "9" * 400  # beyond a double's range

MALFORMED = {
    "nested arrays": "[" * 1000 + "]" * 1000,
    "unclosed": '{"v": 1, "type": "end", "x": ' + "[" * 5000,
    "nested objects": '{"v": 1, "type": "ping", "x": ' + '{"a": ' * 2000 + "1" + "}" * 2001,
    "huge number": '{"v": 1, "type": "quality", "level": "good", "kbps_in": BIG, '
    '"kbps_out": 1, "loss": 0}'.replace("BIG", BIG),
    "huge coordinate": '{"v": 1, "type": "mark_start", "id": "m1", "tool": "pen", '
    '"color": "#ff0000", "pts": [[BIG, 0.5]]}'.replace("BIG", BIG),
    "NaN": '{"v": 1, "type": "camera", "zoom": NaN}',
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_json_gets_an_error_reply_and_the_connection_survives(
    server: Server, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        async with live_session(server) as live:
            for ws in (live.agent_ws, live.customer_ws):
                ws.send_raw(raw)
                error = await ws.next("error")
                assert error["code"] == "invalid_json"
                assert "not valid JSON" in error["message"]
                ws.send("ping")
                await ws.next("pong")
    assert not caplog.records
