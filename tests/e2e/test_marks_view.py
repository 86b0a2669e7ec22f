"""Marks the customer can actually see, end to end: the phone crops the picture and
says which part it shows, the agent's view outlines that part and flags marks outside
it, labels wrap and stay on the phone's screen, and marks go when the session ends."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.test_live_session import end_for_everyone
from tests.e2e.test_tools import PAGE_POINT, drag, live_pair, marks_on

pytestmark = pytest.mark.e2e


def view_of(page: Page) -> list[float]:
    value = page.get_by_test_id("annotation-layer").get_attribute("data-view") or ""
    return [float(v) for v in value.split(",")] if value else []


def label_box(page: Page) -> Any:
    return page.get_by_test_id("annotation-layer").evaluate(
        """canvas => ({ box: canvas.dataset.labelBox.split(',').map(Number),
                        lines: Number(canvas.dataset.labelLines),
                        width: canvas.clientWidth, height: canvas.clientHeight })"""
    )


def test_the_agent_sees_what_the_phone_shows_and_marks_outside_it(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent, customer = live_pair(new_page, live_server, "visible")
    agent.get_by_test_id("mark-fade").select_option("0")
    layer = agent.get_by_test_id("annotation-layer")
    # The portrait phone crops the landscape camera picture to a band in the middle.
    expect(layer).to_have_attribute("data-view", customer.get_by_test_id(
        "annotation-layer").get_attribute("data-view") or "-")  # fmt: skip
    x, y, w, h = view_of(agent)
    assert 0 < x < 0.5 < x + w < 1 and w < 0.6 and (y, h) == (0, 1)
    outside = agent.get_by_test_id("marks-outside")
    expect(outside).to_be_hidden()

    # An arrow pointing at something left of the band: the customer cannot see its tip.
    agent.get_by_test_id("tool-arrow").click()
    drag(agent, (x / 2, 0.3), (x / 3, 0.6))
    expect(outside).to_have_text(re.compile(r"^1 mark .*outside the customer.s screen"))
    expect(layer).to_have_attribute("data-outside", "1")
    drag(agent, (0.5, 0.3), (0.5, 0.6))  # inside: not flagged
    marks_on(customer).to_have_attribute("data-marks", "2")
    expect(layer).to_have_attribute("data-outside", "1")

    # A long label placed at the band's right edge wraps and stays on the phone's screen.
    agent.get_by_test_id("tool-text").click()
    px, py = agent.evaluate(PAGE_POINT, [x + w - 0.01, 0.5])
    agent.mouse.click(px, py)
    agent.get_by_test_id("mark-text-input").fill("Turn the blue valve clockwise until it stops")
    agent.get_by_test_id("mark-text-input").press("Enter")
    marks_on(customer).to_have_attribute("data-marks", "3")
    customer.wait_for_function(
        "() => document.querySelector('[data-testid=annotation-layer]').dataset.labelBox"
    )
    on_phone = label_box(customer)
    left, top, width, height = on_phone["box"]
    assert on_phone["lines"] > 1
    assert left >= 0 and left + width <= on_phone["width"] + 0.5
    assert top >= 0 and top + height <= on_phone["height"] + 0.5
    # The agent sees it break into the same lines, inside the outline.
    assert label_box(agent)["lines"] == on_phone["lines"]

    # Turned sideways, the phone shows the whole picture: no outline, nothing flagged.
    customer.set_viewport_size({"width": 844, "height": 390})
    expect(layer).to_have_attribute("data-view", "0,0,1,1")
    expect(outside).to_be_hidden()

    # The end takes the marks away on both screens.
    end_for_everyone(agent)
    expect(customer.get_by_test_id("session-ended")).to_be_visible()
    expect(customer.get_by_test_id("annotation-layer")).to_have_count(0)
    expect(layer).to_have_attribute("data-marks", "0")
