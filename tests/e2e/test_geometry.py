"""Coordinate normalisation (livelens/web/geometry.js), run in Chromium by importing the module.

A mark is sent in frame coordinates (0..1 over the camera's picture) and each screen
maps them into its own element box: letterboxed on the agent's console (contain),
cropped on the customer's phone (cover), possibly turned by quarter turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import NewPage

pytestmark = pytest.mark.e2e

LANDSCAPE = {"width": 1280, "height": 720}  # a camera frame held sideways
PORTRAIT = {"width": 720, "height": 1280}  # a phone held upright
AGENT_BOX = {"width": 800, "height": 600}  # a landscape console stage
PHONE_BOX = {"width": 390, "height": 844}  # a portrait phone screen


@pytest.fixture(scope="module")
def geometry_page(browser: Any, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.base_url)
    page = context.new_page()
    page.goto("/join")
    page.evaluate("async () => { window.geometry = await import('/static/geometry.js'); }")
    yield page
    context.close()


def call(page: Page, fn: str, *args: object) -> Any:
    return page.evaluate("([fn, args]) => window.geometry[fn](...args)", [fn, list(args)])


def close(a: dict[str, float], b: dict[str, float], tolerance: float = 1e-6) -> bool:
    return abs(a["x"] - b["x"]) <= tolerance and abs(a["y"] - b["y"]) <= tolerance


def test_letterboxed_landscape_agent_to_cropped_portrait_phone(geometry_page: Page) -> None:
    page = geometry_page
    # contain: 800 x 450 picture, bars of 75 px above and below
    rect = call(page, "frameRect", AGENT_BOX, LANDSCAPE, "contain", 0)
    assert rect == {"x": 0, "y": 75, "width": 800, "height": 450}
    centre = call(page, "toFrame", {"x": 400, "y": 300}, AGENT_BOX, LANDSCAPE, "contain", 0)
    assert close(centre, {"x": 0.5, "y": 0.5})
    on_bar = call(page, "toFrame", {"x": 400, "y": 40}, AGENT_BOX, LANDSCAPE, "contain", 0)
    assert on_bar["y"] < 0 and not call(page, "insideFrame", on_bar)  # the letterbox

    # cover on the phone: the picture is 1500.4 px wide, cropped 555.2 px on each side
    phone = call(page, "fromFrame", centre, PHONE_BOX, LANDSCAPE, "cover", 0)
    assert close(phone, {"x": 195, "y": 422})
    scale = 844 / 720
    left = call(page, "fromFrame", {"x": 0.25, "y": 0.25}, PHONE_BOX, LANDSCAPE, "cover", 0)
    assert close(left, {"x": (390 - 1280 * scale) / 2 + 0.25 * 1280 * scale, "y": 211}, 1e-6)
    assert left["x"] < 0  # cropped off the phone's screen, as the picture is


def test_portrait_phone_frame_on_a_landscape_console(geometry_page: Page) -> None:
    page = geometry_page
    rect = call(page, "frameRect", AGENT_BOX, PORTRAIT, "contain", 0)
    assert rect == {"x": 231.25, "y": 0, "width": 337.5, "height": 600}  # pillarboxed
    clicked = {"x": 231.25 + 337.5 * 0.75, "y": 150}
    point = call(page, "toFrame", clicked, AGENT_BOX, PORTRAIT, "contain", 0)
    assert close(point, {"x": 0.75, "y": 0.25})
    scale = 844 / 1280  # cover on the phone: height fits, 42.375 px cropped each side
    phone = call(page, "fromFrame", point, PHONE_BOX, PORTRAIT, "cover", 0)
    assert close(phone, {"x": (390 - 720 * scale) / 2 + 0.75 * 720 * scale, "y": 211})


@pytest.mark.parametrize("rotation", [0, 90, 180, 270, -90, 450])
@pytest.mark.parametrize("fit", ["contain", "cover", "fill"])
def test_round_trips_for_every_fit_and_rotation(
    geometry_page: Page, rotation: int, fit: str
) -> None:
    for frame in (LANDSCAPE, PORTRAIT):
        for box in (AGENT_BOX, PHONE_BOX):
            for x, y in [(0, 0), (1, 1), (0.25, 0.8), (0.9, 0.1)]:
                shown = call(geometry_page, "fromFrame", {"x": x, "y": y}, box, frame, fit,
                             rotation)  # fmt: skip
                back = call(geometry_page, "toFrame", shown, box, frame, fit, rotation)
                assert close(back, {"x": x, "y": y}, 1e-9), (frame, box, x, y)


def test_a_quarter_turn_moves_the_corners_clockwise(geometry_page: Page) -> None:
    page = geometry_page
    box = {"width": 600, "height": 800}
    # The landscape frame shown turned 90° clockwise is 450 x 800 at x = 75.
    assert call(page, "frameRect", box, LANDSCAPE, "contain", 90) == {
        "x": 75, "y": 0, "width": 450, "height": 800,
    }  # fmt: skip
    corners = {
        (0, 0): {"x": 525, "y": 0},  # the picture's top left is now top right
        (1, 0): {"x": 525, "y": 800},
        (1, 1): {"x": 75, "y": 800},
        (0, 1): {"x": 75, "y": 0},
    }
    for (x, y), expected in corners.items():
        shown = call(page, "fromFrame", {"x": x, "y": y}, box, LANDSCAPE, "contain", 90)
        assert close(shown, expected), (x, y, shown)
    upside_down = call(page, "fromFrame", {"x": 0, "y": 0}, box, LANDSCAPE, "contain", 180)
    rect = call(page, "frameRect", box, LANDSCAPE, "contain", 180)
    assert close(upside_down, {"x": rect["x"] + rect["width"], "y": rect["y"] + rect["height"]})


def test_helpers_clamp_and_compact(geometry_page: Page) -> None:
    assert call(geometry_page, "clampToFrame", {"x": -0.2, "y": 1.4}) == {"x": 0, "y": 1}
    assert call(geometry_page, "compact", {"x": 0.123456, "y": 0.5}) == [0.1235, 0.5]
    # No picture yet (videoWidth 0): the box itself, never NaN.
    empty = call(geometry_page, "frameRect", AGENT_BOX, {"width": 0, "height": 0}, "contain", 0)
    assert empty == {"x": 0, "y": 0, "width": 800, "height": 600}


def test_tool_modules_load_under_the_strict_csp(new_page: NewPage) -> None:
    """The page watch fails the test on any CSP violation or console error."""
    page = new_page()
    page.goto("/join")
    for module, name in [("annotate", "MarkLayer"), ("chat", "ChatPanel"), ("geometry", "toFrame")]:
        kind = page.evaluate(f"async () => typeof (await import('/static/{module}.js')).{name}")
        assert kind == "function", module
