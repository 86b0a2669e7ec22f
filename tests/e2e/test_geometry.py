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


def test_a_cropping_phone_shows_a_band_of_a_landscape_frame(geometry_page: Page) -> None:
    page = geometry_page
    # cover on the portrait phone: 390 of the picture's 1500.4 px, centred.
    band = call(page, "visibleRegion", PHONE_BOX, LANDSCAPE, "cover", 0)
    width = 390 / (1280 * 844 / 720)
    assert close(band, {"x": (1 - width) / 2, "y": 0}) and abs(band["w"] - width) < 1e-9
    assert band["h"] == 1
    assert call(page, "compactRegion", band) == {"x": 0.37, "y": 0, "w": 0.2599, "h": 1}
    # A letterboxed console shows all of it, so it crops nothing.
    whole = call(page, "visibleRegion", AGENT_BOX, LANDSCAPE, "contain", 0)
    assert whole == {"x": 0, "y": 0, "w": 1, "h": 1}
    assert call(page, "isWholeFrame", whole) and not call(page, "isWholeFrame", band)
    # The band outlined on the agent's 800 x 450 picture (letterboxed at y = 75).
    outline = call(page, "regionRect", band, AGENT_BOX, LANDSCAPE, "contain", 0)
    assert abs(outline["x"] - 800 * band["x"]) < 1e-6 and outline["y"] == 75
    assert abs(outline["width"] - 800 * band["w"]) < 1e-6 and outline["height"] == 450
    # Turned a quarter, the same band runs across the console's picture.
    turned = call(page, "regionRect", band, AGENT_BOX, LANDSCAPE, "contain", 90)
    assert turned["width"] > turned["height"]


def test_marks_are_flagged_by_their_anchor(geometry_page: Page) -> None:
    page = geometry_page
    band = {"x": 0.37, "y": 0, "w": 0.26, "h": 1}
    cases = {
        # An arrow pointing into the band from outside is seen: its tip is inside.
        "arrow": ([{"x": 0.1, "y": 0.5}, {"x": 0.5, "y": 0.5}], True),
        "circle": ([{"x": 0.1, "y": 0.1}, {"x": 0.3, "y": 0.3}], False),
        "pen": ([{"x": 0.3, "y": 0.2}, {"x": 0.6, "y": 0.4}], True),
        "text": ([{"x": 0.9, "y": 0.5}], False),
        "pointer": ([{"x": 0.9, "y": 0.5}, {"x": 0.4, "y": 0.5}], True),
    }
    for tool, (pts, seen) in cases.items():
        anchor = call(page, "markAnchor", tool, pts)
        assert call(page, "insideRegion", anchor, band) is seen, tool


def layout(page: Page, text: str, anchor: dict[str, float], size: float, max_width: float,
           area: dict[str, float]) -> Any:  # fmt: skip
    """layoutLabel with a monospaced measure: 0.6 of the size per character."""
    return page.evaluate(
        """([text, anchor, size, maxWidth, area]) => window.geometry.layoutLabel(text, anchor,
            {size, maxWidth, area, measure: (s) => s.length * size * 0.6})""",
        [text, anchor, size, max_width, area],
    )


def test_labels_wrap_and_stay_on_the_customers_screen(geometry_page: Page) -> None:
    page = geometry_page
    phone = {"x": 0, "y": 0, "width": 390, "height": 844}
    text = "Turn the blue valve clockwise until it stops"
    # Near the right edge of the phone: wrapped to the screen's width, moved left.
    label = layout(page, text, {"x": 370, "y": 20}, 30, 600, phone)
    assert len(label["lines"]) > 1 and " ".join(label["lines"]) == text
    box = label["box"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844
    assert all(len(line) * 18 <= 390 for line in label["lines"])
    # The same label on the agent's view, where the phone's part is 208 px wide: the
    # sizes are relative to the picture, so it breaks into the same lines.
    scale = 450 / 844
    outline = {"x": 296, "y": 75, "width": 390 * scale, "height": 450}
    agent = layout(page, text, {"x": 296 + 370 * scale, "y": 75 + 20 * scale}, 30 * scale,
                   600 * scale, outline)  # fmt: skip
    assert agent["lines"] == label["lines"]
    assert abs(agent["box"]["x"] - (296 + box["x"] * scale)) < 1e-6
    # A word wider than the screen is broken inside; nothing is lost.
    long = layout(page, "x" * 40, {"x": 10, "y": 400}, 30, 600, phone)
    assert "".join(long["lines"]) == "x" * 40 and len(long["lines"]) == 2  # 20 fit a line


def test_a_rectangle_is_moved_inside_an_area(geometry_page: Page) -> None:
    area = {"x": 10, "y": 10, "width": 100, "height": 50}
    moved = call(geometry_page, "clampRect", {"x": 90, "y": -5, "width": 40, "height": 20}, area)
    assert moved == {"x": 70, "y": 10, "width": 40, "height": 20}
    too_big = call(geometry_page, "clampRect", {"x": 0, "y": 0, "width": 300, "height": 20}, area)
    assert too_big == {"x": 10, "y": 10, "width": 100, "height": 20}


def test_tool_modules_load_under_the_strict_csp(new_page: NewPage) -> None:
    """The page watch fails the test on any CSP violation or console error."""
    page = new_page()
    page.goto("/join")
    for module, name in [("annotate", "MarkLayer"), ("chat", "ChatPanel"), ("geometry", "toFrame")]:
        kind = page.evaluate(f"async () => typeof (await import('/static/{module}.js')).{name}")
        assert kind == "function", module
