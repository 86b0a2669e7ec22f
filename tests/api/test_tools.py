"""In-session tools through the real server: chat, marks, freeze, camera requests,
snapshots, notes and expert invitations; content sealed at rest and only for the
people with rights to the session."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from tests.api.harness import Client, Server
from tests.api.signalling import Live, Signal, live_session

PNG = b"\x89PNG\r\n\x1a\n" + b"snapshot-plaintext-marker" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"frozen-frame-marker" * 40


@pytest.fixture
async def live(server: Server) -> AsyncIterator[Live]:
    """A session whose customer has joined and consented (no media needed here)."""
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as session:
        yield session


async def signed_in(server: Server, email: str) -> Client:
    client = server.client()
    assert (await client.login(email)).status == 200
    return client


# -- chat ---------------------------------------------------------------------------


async def test_chat_round_trips_with_delivery_and_is_sealed_at_rest(live: Live) -> None:
    text = '<img src=x onerror="alert(1)"> look at the blue cable'
    live.customer_ws.send("chat", text=text, ref="c1")
    at_agent = await live.agent_ws.next("chat")
    echo = await live.customer_ws.next("chat")  # the sender's "sent" confirmation
    assert at_agent["text"] == text  # kept verbatim: pages render it as text, never HTML
    assert at_agent["role"] == "customer" and echo["ref"] == "c1" and echo["id"] == at_agent["id"]
    live.agent_ws.send("chat_ack", ids=[at_agent["id"]])
    ack = await live.customer_ws.next("chat_ack")
    assert ack["ids"] == [at_agent["id"]] and ack["by"] == "agent"

    live.agent_ws.send("chat", text="Thanks, I see it", ref="a1")
    reply = await live.customer_ws.next("chat")
    assert reply["role"] == "agent" and reply["name"] == "Ann"
    assert "author_id" not in reply  # the customer's page goes by role
    mine = await live.agent_ws.next("chat", ref="a1")
    assert mine["author_id"] == (await live.agent.get("/api/me")).body["user"]["id"]

    assert b"blue cable" not in live.server.stored_bytes()
    history = (await live.agent.get(f"/api/sessions/{live.session_id}/chat")).body["messages"]
    assert [m["text"] for m in history] == [text, "Thanks, I see it"]

    # A participant who comes back gets the conversation so far.
    live.customer_ws.close()
    again = await Signal.open(live.customer, "/ws/customer")
    replay = await again.next("chat_history")
    assert [m["text"] for m in replay["messages"]] == [text, "Thanks, I see it"]
    again.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "x" * 1001, "ref": "r"},
        {"text": "hi"},
        {"text": "hi", "ref": "<script>"},
        {"text": 5, "ref": "r"},
    ],
)
async def test_bad_chat_messages_are_refused(live: Live, fields: dict[str, object]) -> None:
    live.customer_ws.send("chat", **fields)
    assert (await live.customer_ws.next("error"))["code"] in ("invalid_field", "missing_field")


async def test_empty_chat_message_is_refused(live: Live) -> None:
    live.customer_ws.send("chat", text="  \u0000 ", ref="r")
    assert (await live.customer_ws.next("error"))["code"] == "invalid_input"


async def test_chat_flood_is_throttled_not_cut(live: Live) -> None:
    for n in range(30):
        live.customer_ws.send("chat", text=f"spam {n}", ref=f"s{n}")
    error = await live.customer_ws.next("error")
    assert error["code"] == "rate_limited"
    live.customer_ws.send("ping")
    await live.customer_ws.next("pong")  # still connected
    history = (await live.agent.get(f"/api/sessions/{live.session_id}/chat")).body["messages"]
    assert 0 < len(history) < 30
    events = await live.server.ctx.store.scoped(live.tenant_id).list_security_events(50)
    assert sum(e.details.get("code") == "throttled" for e in events) == 1  # once per burst


# -- marks and device requests --------------------------------------------------------


async def test_marks_reach_the_customer_and_are_replayed(live: Live) -> None:
    live.agent_ws.send("mark_start", id="m1", tool="arrow", color="#ff3b30",
                       pts=[[0.1, 0.2]], fade=0)  # fmt: skip
    start = await live.customer_ws.next("mark_start")
    assert start["pts"] == [[0.1, 0.2]] and start["from"] and start["tool"] == "arrow"
    live.agent_ws.send("mark_add", id="m1", pts=[[0.5, 0.6]])
    assert (await live.customer_ws.next("mark_add"))["pts"] == [[0.5, 0.6]]
    live.agent_ws.send("mark_end", id="m1")
    await live.customer_ws.next("mark_end")
    live.customer_ws.close()
    again = await Signal.open(live.customer, "/ws/customer")
    marks = await again.next("marks")
    assert marks["items"][0]["pts"] == [[0.1, 0.2], [0.5, 0.6]]
    again.close()


@pytest.mark.parametrize(
    "kind",
    ["mark_start", "mark_add", "marks_clear", "freeze", "unfreeze", "camera", "low_bandwidth"],
)
async def test_customers_cannot_send_agent_commands(live: Live, kind: str) -> None:
    live.customer_ws.send(kind)
    assert (await live.customer_ws.next("error"))["code"] == "not_allowed"


async def test_agents_cannot_pose_as_the_customers_device(live: Live) -> None:
    live.agent_ws.send("device", torch=False, zoom=False, switch=False)
    assert (await live.agent_ws.next("error"))["code"] == "not_allowed"


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "m", "tool": "pen", "color": "#fff000", "pts": [[1.5, 0.2]]},
        {"id": "m", "tool": "pen", "color": "#fff000", "pts": [[0.5]]},
        {"id": "m", "tool": "pen", "color": "#fff000", "pts": [[True, 0.2]]},
        {"id": "m", "tool": "pen", "color": "#fff000", "pts": []},
        {"id": "m", "tool": "pen", "color": "#fff000", "pts": [[0.1, 0.1]] * 65},
        {"id": "m", "tool": "pen", "color": "red;x", "pts": [[0.1, 0.1]]},
        {"id": "m", "tool": "spray", "color": "#fff000", "pts": [[0.1, 0.1]]},
        {"id": "<m>", "tool": "pen", "color": "#fff000", "pts": [[0.1, 0.1]]},
        {"id": "m", "tool": "text", "color": "#fff000", "pts": [[0.1, 0.1]], "text": "x" * 121},
    ],
)
async def test_bad_marks_are_refused(live: Live, fields: dict[str, object]) -> None:
    live.agent_ws.send("mark_start", **fields)
    assert (await live.agent_ws.next("error"))["code"] == "invalid_field"


async def test_nan_coordinates_are_refused(live: Live) -> None:
    raw = '{"v": 1, "type": "mark_add", "id": "m", "pts": [[NaN, 0.5]]}'
    live.agent_ws.send_raw(raw)
    assert (await live.agent_ws.next("error"))["code"] == "invalid_json"  # not JSON at all


async def test_an_annotation_flood_is_throttled_and_the_session_goes_on(live: Live) -> None:
    live.agent_ws.send("mark_start", id="f", tool="pen", color="#00ff00", pts=[[0.5, 0.5]])
    for _ in range(300):
        live.agent_ws.send("mark_add", id="f", pts=[[0.5, 0.5]] * 64)
    assert (await live.agent_ws.next("error"))["code"] == "rate_limited"
    # The connection survives; once time passes, the budget is back (messages are
    # handled in order, so a ping answered means the flood is behind us).
    for _ in range(10):
        live.server.clock.advance(5)
        live.agent_ws.send("ping")
        with contextlib.suppress(TimeoutError):
            await live.agent_ws.next("pong", within=1)
            break
    else:
        raise AssertionError("the connection no longer answers")
    live.agent_ws.send("chat", text="still here", ref="r")  # other classes are unaffected
    await live.customer_ws.next("chat", text="still here")


async def test_camera_requests_go_to_the_customer_and_reports_to_agents(live: Live) -> None:
    live.agent_ws.send("camera", torch=True)
    request = await live.customer_ws.next("camera")
    assert request["torch"] is True and request["by"] == "Ann"
    live.customer_ws.send("device", torch=False, torch_reason="This camera has no torch.",
                          zoom=True, zoom_min=1, zoom_max=4, switch=False)  # fmt: skip
    report = await live.agent_ws.next("device")
    assert report["torch"] is False and report["zoom_max"] == 4
    live.agent_ws.send("low_bandwidth", on=True)
    await live.customer_ws.next("state", low_bandwidth=True)


async def test_the_customers_visible_part_reaches_the_agents_only(live: Live) -> None:
    # A portrait phone showing a landscape frame cropped (object-fit: cover).
    live.customer_ws.send("view", x=0.3, y=0, w=0.4, h=1)
    assert (await live.agent_ws.next("view")) == {"v": 1, "type": "view", "x": 0.3, "y": 0,
                                                 "w": 0.4, "h": 1}  # fmt: skip
    live.customer_ws.send("ping")
    await live.customer_ws.next("pong")
    assert not [m for m in live.customer_ws.seen if m["type"] == "view"]
    # An agent who comes back (or joins later) gets it at once.
    live.agent_ws.close()
    again = await Signal.open(live.agent, f"/ws/agent/{live.session_id}")
    assert (await again.next("view"))["w"] == 0.4
    again.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"x": 0.5, "y": 0, "w": 0.6, "h": 1},  # beyond the frame's right edge
        {"x": 0, "y": 0, "w": 0, "h": 1},  # no size
        {"x": -0.1, "y": 0, "w": 0.5, "h": 1},
        {"x": 0, "y": 0, "w": 1},
        {"x": 0, "y": 0, "w": 1, "h": 1, "zoom": 2},
    ],
)
async def test_bad_regions_are_refused(live: Live, fields: dict[str, object]) -> None:
    live.customer_ws.send("view", **fields)
    error = await live.customer_ws.next("error")
    assert error["code"] in {"invalid_field", "missing_field", "unknown_field"}


async def test_agents_cannot_report_the_customers_screen(live: Live) -> None:
    live.agent_ws.send("view", x=0, y=0, w=1, h=1)
    assert (await live.agent_ws.next("error"))["code"] == "not_allowed"


# -- freeze -------------------------------------------------------------------------


async def test_freeze_shows_the_customers_still_to_everyone(live: Live) -> None:
    assert (await live.customer.post("/api/join/frame", JPEG)).status == 409  # not asked
    live.agent_ws.send("freeze")
    await live.customer_ws.next("state", freezing=True)
    sent = await live.customer.post("/api/join/frame", JPEG)
    assert sent.status == 201
    frozen = await live.agent_ws.next("state", where=lambda m: m["frame"] is not None)
    assert frozen["frame"] == sent.body["frame"]
    assert (await live.agent.get(f"/api/sessions/{live.session_id}/frame")).raw == JPEG
    assert (await live.customer.get("/api/join/frame")).raw == JPEG
    assert b"frozen-frame-marker" not in live.server.stored_bytes()  # never stored
    stranger = await signed_in(live.server, "bob@acme.test")
    assert (await stranger.get(f"/api/sessions/{live.session_id}/frame")).status == 404

    live.agent_ws.send("unfreeze")
    await live.customer_ws.next("state", frame=None, freezing=False)
    assert (await live.customer.get("/api/join/frame")).status == 404


async def test_frames_must_be_images(live: Live) -> None:
    live.agent_ws.send("freeze")
    await live.customer_ws.next("state", freezing=True)
    answer = await live.customer.post("/api/join/frame", b"<svg onload=alert(1)>")
    assert answer.status == 400


# -- snapshots ----------------------------------------------------------------------


async def test_snapshots_are_sealed_and_only_for_people_with_rights(live: Live) -> None:
    server, path = live.server, f"/api/sessions/{live.session_id}/snapshots"
    taken = await live.agent.post(path + "?marked=1", PNG)
    assert taken.status == 201, taken.body
    snapshot = taken.body["snapshot"]
    assert snapshot["media_type"] == "image/png" and snapshot["size"] == len(PNG)
    assert b"snapshot-plaintext-marker" not in server.stored_bytes()

    listed = (await live.agent.get(path)).body["snapshots"]
    assert [s["id"] for s in listed] == [snapshot["id"]]
    download = await live.agent.get(snapshot["url"])
    assert download.status == 200 and download.raw == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert "attachment" in download.headers["Content-Disposition"]

    shown = await live.agent.get(snapshot["thumb_url"])  # the console's thumbnail
    assert shown.raw == PNG and "Content-Disposition" not in shown.headers
    admin = await signed_in(server, "boss@acme.test")
    assert (await admin.get(snapshot["url"])).raw == PNG
    colleague = await signed_in(server, "bob@acme.test")  # same account, not his session
    assert (await colleague.get(snapshot["url"])).status == 404
    assert (await colleague.get(path)).status == 404
    assert (await colleague.post(path, PNG)).status == 404
    other_tenant = await server.tenant("Globex", "boss@globex.test")
    assert other_tenant
    outsider = await signed_in(server, "boss@globex.test")
    assert (await outsider.get(snapshot["url"])).status == 404
    assert (await server.client().get(snapshot["url"])).status == 401

    events = await server.ctx.store.scoped(live.tenant_id).list_audit_events(50)
    actions = [e.action for e in events]
    assert actions.count("session.snapshot_taken") == 1
    # The agent's and the admin's downloads; the thumbnail shown is not one.
    assert actions.count("session.snapshot_downloaded") == 2


async def test_snapshot_must_be_an_image_of_bounded_size(live: Live) -> None:
    path = f"/api/sessions/{live.session_id}/snapshots"
    assert (await live.agent.post(path, b"GIF89a....")).status == 400
    # Above the server-wide 1 MiB body limit: allowed for an authorised upload...
    large = PNG + b"\x00" * (3 * 1024 * 1024)
    assert (await live.agent.post(path, large)).status == 201
    big = PNG + b"\x00" * (8 * 1024 * 1024)
    assert (await live.agent.post(path, big)).status == 413
    # ...but nobody else gets the server to take in megabytes.
    stranger = live.server.client()
    answer = await stranger.post(path, large)
    assert answer.status == 401, answer.status


async def test_no_snapshots_before_consent(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    assert tenant_id
    agent = await signed_in(server, "boss@acme.test")
    session_id = (await agent.post("/api/sessions")).body["session"]["id"]
    answer = await agent.post(f"/api/sessions/{session_id}/snapshots", PNG)
    assert answer.status == 400


# -- notes --------------------------------------------------------------------------


async def test_notes_are_sealed_and_private_to_the_session(live: Live) -> None:
    path = f"/api/sessions/{live.session_id}/notes"
    assert (await live.agent.get(path)).body["notes"]["text"] == ""
    saved = await live.agent.request("PUT", path, {"text": "Router model XR-500, firmware 2.1"})
    assert saved.status == 200
    await live.agent.request("PUT", path, {"text": "Router model XR-500, firmware 2.2"})
    assert (await live.agent.get(path)).body["notes"]["text"].endswith("2.2")
    assert b"XR-500" not in live.server.stored_bytes()
    colleague = await signed_in(live.server, "bob@acme.test")
    assert (await colleague.get(path)).status == 404
    assert (await colleague.request("PUT", path, {"text": "mine"})).status == 404
    admin = await signed_in(live.server, "boss@acme.test")
    assert (await admin.get(path)).body["notes"]["text"].endswith("2.2")
    assert (await live.agent.request("PUT", path, {"text": 5})).status == 400
    assert (await live.agent.request("PUT", path, {"text": "x" * 20_001})).status == 400


# -- experts ------------------------------------------------------------------------


async def test_an_invited_expert_joins_with_the_same_rights(live: Live) -> None:
    server, path = live.server, f"/api/sessions/{live.session_id}"
    bob = await signed_in(server, "bob@acme.test")
    assert (await bob.get(path)).status == 404
    invited = await live.agent.post(path + "/experts", {"email": " Bob@Acme.test "})
    assert invited.status == 201, invited.body
    assert invited.body["expert"]["email"] == "bob@acme.test"
    bob_id = invited.body["expert"]["id"]
    assert (await bob.get(path)).status == 200
    listed = (await bob.get("/api/sessions")).body["sessions"]
    assert [s["id"] for s in listed] == [live.session_id]

    expert_ws = await Signal.open(bob, f"/ws/agent/{live.session_id}")
    state = await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 3)
    experts = [p for p in state["participants"] if p["expert"]]
    assert [p["name"] for p in experts] == ["Bob"]
    assert experts[0]["id"] != bob_id  # the customer gets a handle, not the user id
    expert_ws.send("mark_start", id="m1", tool="circle", color="#0a84ff", pts=[[0.3, 0.3]])
    assert (await live.customer_ws.next("mark_start"))["from"] == experts[0]["id"]
    # The other agent sees it too, by the author's user id (consoles tell marks apart).
    assert (await live.agent_ws.next("mark_start"))["from"] == bob_id
    expert_ws.close()

    # A state change after the invitation keeps it (the room's record is current).
    live.agent_ws.send("end")
    await live.agent_ws.next("ended")
    stored = await server.ctx.store.scoped(live.tenant_id).get_support_session(live.session_id)
    assert stored is not None and stored.experts == (bob_id,)
    events = await server.ctx.store.scoped(live.tenant_id).list_audit_events(50)
    assert [e.details.get("expert") for e in events if e.action == "session.expert_invited"] == [
        "bob@acme.test"
    ]


async def test_only_agents_of_the_same_account_can_be_invited(live: Live) -> None:
    path = f"/api/sessions/{live.session_id}/experts"
    await live.server.tenant("Globex", "boss@globex.test")
    assert (await live.agent.post(path, {"email": "boss@globex.test"})).status == 404
    assert (await live.agent.post(path, {"email": "nobody@acme.test"})).status == 404
    bob = await signed_in(live.server, "bob@acme.test")
    assert (await bob.post(path, {"email": "bob@acme.test"})).status == 404  # not his session


async def test_openapi_lists_the_tool_endpoints(server: Server) -> None:
    paths = (await server.client().get("/api/openapi.json")).body["paths"]
    snapshot = paths["/api/sessions/{session_id}/snapshots/{snapshot_id}"]["get"]
    assert "image/*" in snapshot["responses"]["200"]["content"]
    assert "put" in paths["/api/sessions/{session_id}/notes"]
    assert json.dumps(paths["/api/join/frame"]["post"]["requestBody"]).count("image/") == 2


async def test_an_unasked_frame_is_refused_before_its_body_is_read(live: Live) -> None:
    """The refusal comes as soon as the headers are in: the server never takes in the
    megabytes (here it could not: they are never sent)."""
    host, port = live.server.base_url.removeprefix("http://").split(":")
    cookies = "; ".join(f"{k}={v}" for k, v in live.customer.cookies.items())
    head = (
        f"POST /api/join/frame HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\n"
        f"X-XSRFToken: {live.customer.cookies['_xsrf']}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {8 * 1024 * 1024}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode() + JPEG)
        await writer.drain()
        async with asyncio.timeout(10):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 409"), status
    finally:
        writer.close()
        await writer.wait_closed()
