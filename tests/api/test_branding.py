"""The customer page's branding through the real server (on both store engines): who
may read and set it, how bad colours and images are refused, that changes are audited,
and that a customer who joined a session gets the account's brand, and its logo only
with the cookies of that join."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.api.governance import account, signed_in, token_of
from tests.api.harness import Client, Response, Server
from tests.unit.test_branding_rules import png_claiming

NOT_SET = {"display_name": None, "accent_color": None, "logo_url": None, "logo_type": None,
           "logo_bytes": None, "shown_name": "Acme", "updated_at": None}  # fmt: skip


def png(size: tuple[int, int] = (120, 40), color: tuple[int, ...] = (15, 118, 110)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def decoded(raw: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


async def joined_customer(server: Server, agent: Client) -> tuple[Client, Response]:
    """A customer who joined a new session of ``agent`` by its link, and the answer."""
    created = await agent.post("/api/sessions")
    assert created.status == 201, created.body
    customer = server.client()
    answer = await customer.post("/api/join", {"token": token_of(created.body)})
    assert answer.status == 200, answer.body
    return customer, answer


async def put(client: Client, path: str, body: object) -> Response:
    return await client.request("PUT", path, body)


def actions(events: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in events if e["action"].startswith("account.")]


# -- setting it --------------------------------------------------------------------------


async def test_an_administrator_sets_the_name_and_colour_and_it_is_audited(
    server: Server,
) -> None:
    _, admin = await account(server)
    assert (await admin.get("/api/account/branding")).body["branding"] == NOT_SET

    answer = await put(admin, "/api/account/branding",
                       {"display_name": "  Acme Care ", "accent_color": "#0F766E"})  # fmt: skip
    assert answer.status == 200, answer.body
    shown = answer.body["branding"]
    assert (shown["display_name"], shown["accent_color"], shown["shown_name"]) == (
        "Acme Care", "#0f766e", "Acme Care")  # fmt: skip
    assert (await admin.get("/api/account/branding")).body["branding"] == shown

    # Empty or null: back to the account's name and LiveLens's colour.
    cleared = await put(admin, "/api/account/branding", {"display_name": "", "accent_color": None})
    assert cleared.body["branding"]["shown_name"] == "Acme"
    assert cleared.body["branding"]["accent_color"] is None
    events = (await admin.get("/api/audit")).body["events"]
    changes = [e for e in events if e["action"] == "account.branding_changed"]
    assert [e["details"] for e in changes] == [
        {"display_name": "Acme Care → none", "accent_color": "#0f766e → none"},
        {"display_name": "none → Acme Care", "accent_color": "none → #0f766e"},
    ]
    assert changes[0]["actor"] == "boss@acme.test" and changes[0]["ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"accent_color": "#ffcc00"}, "accent_color", "contrast ratio of 1.51:1"),
        ({"accent_color": "#777777"}, "accent_color", "at least 4.5:1"),
        ({"accent_color": "teal"}, "accent_color", "#rrggbb"),
        ({"display_name": "Acme\nCare"}, None, "line breaks"),
        ({"display_name": "x" * 101}, None, "at most 100 characters"),
        ({"logo": "x"}, "logo", "Unknown field"),
    ],
)
async def test_bad_branding_is_refused_with_the_reason_and_changes_nothing(
    server: Server, body: dict[str, Any], field: str | None, words: str
) -> None:
    _, admin = await account(server)
    answer = await put(admin, "/api/account/branding", body)
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "invalid_input"
    assert words in answer.body["message"]
    if field:
        assert answer.body["field"] == field
    if body.get("accent_color") == "#ffcc00":
        assert answer.body["contrast"] == 1.51
    assert (await admin.get("/api/account/branding")).body["branding"] == NOT_SET


async def test_only_administrators_of_the_account_reach_its_branding(server: Server) -> None:
    _, admin = await account(server)
    assert (await put(admin, "/api/account/branding", {"display_name": "Acme Care"})).status == 200
    assert (await put(admin, "/api/account/branding/logo", png())).status == 200
    agent = await signed_in(server, "ann@acme.test")
    for answer in (
        await agent.get("/api/account/branding"),
        await put(agent, "/api/account/branding", {"display_name": "Mine"}),
        await agent.get("/api/account/branding/logo"),
        await put(agent, "/api/account/branding/logo", png()),
        await agent.delete("/api/account/branding/logo"),
    ):
        assert (answer.status, answer.body["error"]) == (403, "forbidden")
    anonymous = server.client()
    assert (await anonymous.get("/api/account/branding")).status == 401
    assert (await anonymous.get("/api/account/branding/logo")).status == 401

    # Another account's administrator sees their own (unset) branding, never this one.
    _, other = await account(server, name="Globex")
    theirs = (await other.get("/api/account/branding")).body["branding"]
    assert (theirs["display_name"], theirs["shown_name"], theirs["logo_url"]) == (
        None, "Globex", None)  # fmt: skip
    assert (await other.get("/api/account/branding/logo")).status == 404
    assert (await other.delete("/api/account/branding/logo")).status == 404
    mine = (await admin.get("/api/account/branding")).body["branding"]
    assert mine["display_name"] == "Acme Care" and mine["logo_url"]


# -- the logo ----------------------------------------------------------------------------


async def test_a_logo_is_kept_re_encoded_shown_and_removed(server: Server) -> None:
    _, admin = await account(server)
    sent = png((300, 100)) + b"<script>alert(1)</script>"
    answer = await put(admin, "/api/account/branding/logo", sent)
    assert answer.status == 200, answer.body
    shown = answer.body["branding"]
    assert shown["logo_type"] == "image/png"
    assert shown["logo_url"].startswith("/api/account/branding/logo?v=")
    image = await admin.get(shown["logo_url"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    assert b"<script>" not in image.raw and len(image.raw) == shown["logo_bytes"]
    assert decoded(image.raw).size == (300, 100)

    # Name and colour leave the logo as it is; a new logo is a new URL.
    await put(admin, "/api/account/branding", {"accent_color": "#1d4ed8"})
    assert (await admin.get("/api/account/branding")).body["branding"]["logo_url"] == shown[
        "logo_url"
    ]
    again = await put(admin, "/api/account/branding/logo", png((64, 64), (200, 0, 0)))
    assert again.body["branding"]["logo_url"] != shown["logo_url"]

    removed = await admin.delete("/api/account/branding/logo")
    assert removed.status == 200 and removed.body["branding"]["logo_url"] is None
    assert removed.body["branding"]["accent_color"] == "#1d4ed8"
    assert (await admin.get("/api/account/branding/logo")).status == 404
    assert (await admin.delete("/api/account/branding/logo")).status == 404
    events = (await admin.get("/api/audit")).body["events"]
    assert actions(events)[:4] == ["account.logo_removed", "account.logo_set",
                                   "account.branding_changed", "account.logo_set"]  # fmt: skip
    first_set = [e for e in events if e["action"] == "account.logo_set"][-1]
    assert first_set["details"] == {"media_type": "image/png", "width": 300, "height": 100,
                                    "bytes": shown["logo_bytes"]}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 30, 400, "this file is a GIF"),
        (b"", 400, "Send the logo"),
        (png()[:40], 400, "damaged or incomplete"),
        (png() + b"\x00" * 256 * 1024, 413, "at most 256 KiB"),
    ],
)
async def test_images_that_are_no_logo_are_refused_with_the_reason(
    server: Server, body: bytes, status: int, words: str
) -> None:
    _, admin = await account(server)
    answer = await put(admin, "/api/account/branding/logo", body)
    assert answer.status == status, answer.body
    assert words in answer.body["message"]
    assert (await admin.get("/api/account/branding")).body["branding"]["logo_url"] is None


async def test_a_logo_claiming_ten_thousand_pixels_square_is_refused(server: Server) -> None:
    _, admin = await account(server)
    answer = await put(admin, "/api/account/branding/logo", png_claiming(10000, 10000))
    assert answer.status == 400
    assert "10000 x 10000 pixels; at most 1024 x 1024" in answer.body["message"]


# -- the customer's page -----------------------------------------------------------------


async def test_the_customer_who_joined_gets_the_brand_and_the_logo(server: Server) -> None:
    _, admin = await account(server)
    await put(admin, "/api/account/branding", {"display_name": "Acme Care",
                                               "accent_color": "#0f766e"})  # fmt: skip
    await put(admin, "/api/account/branding/logo", png((200, 50)))
    customer, joined = await joined_customer(server, admin)
    brand = joined.body["brand"]
    assert (brand["name"], brand["accent_color"]) == ("Acme Care", "#0f766e")
    assert joined.body["company"] == "Acme Care"  # consent texts name the company
    assert brand["logo_url"].startswith("/api/join/logo?v=")

    logo = await customer.get(brand["logo_url"])
    assert logo.status == 200 and logo.headers["Content-Type"] == "image/png"
    assert decoded(logo.raw).size == (200, 50)
    assert "private" in logo.headers["Cache-Control"]
    # Without the join's cookies there is nothing to see.
    stranger = await server.client().get(brand["logo_url"])
    assert stranger.status == 401 and stranger.body["error"] == "not_authenticated"


async def test_a_customer_sees_only_the_brand_of_the_session_they_joined(server: Server) -> None:
    _, acme = await account(server)
    await put(acme, "/api/account/branding", {"display_name": "Acme Care"})
    await put(acme, "/api/account/branding/logo", png())
    _, globex = await account(server, name="Globex")
    customer, joined = await joined_customer(server, globex)
    assert joined.body["brand"] == {"name": "Globex", "accent_color": None, "logo_url": None}
    assert joined.body["company"] == "Globex"
    # Globex has no logo: its customer gets none, and never Acme's.
    refused = await customer.get("/api/join/logo")
    assert refused.status == 404 and refused.body["error"] == "not_found"
