"""The same pages in Debian's Firefox ESR: a customer's phone and an agent's console.

Playwright's Firefox needs Playwright's own patched build, and its WebDriver BiDi
channel (``channel="moz-firefox"``) sends commands that Firefox ESR does not know yet
(``emulation.setMediaFeaturesOverride``), so Firefox is driven here the standard way:
Selenium through geckodriver (built from crates.io by scripts/ensure-geckodriver.sh).
Selenium's BiDi connection reports the page's console errors, uncaught exceptions and
Content-Security-Policy violations; any of them fails the test, as in Chromium.

Firefox's fake devices (a test pattern and a tone) stand in for the phone's camera and
microphone; the agent's Chromium (Playwright) must decode that video. The other way
round, the agent's console in Firefox must decode a customer's Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.firefox.options import Options
from selenium.webdriver.firefox.service import Service
from selenium.webdriver.support.wait import WebDriverWait

from tests.e2e.conftest import REPO, WATCH_CSP, Account, LiveServer, NewPage, page_factory, serving
from tests.e2e.test_live_session import (
    MEDIA_TIMEOUT,
    end_for_everyone,
    phone,
    start_session,
    status_of,
    wait_for_frames,
    wait_for_stat,
)
from tests.e2e.udp_nat import UdpNat

pytestmark = pytest.mark.e2e

FIREFOX = os.environ.get("LIVELENS_E2E_FIREFOX", "/usr/bin/firefox-esr")
TIMEOUT = 10.0  # s, like the Playwright pages' default
PREFS: dict[str, bool | int | str] = {
    # Fake camera and microphone, allowed without a prompt.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # ICE between two ends on this machine (without them ICE fails even on the routable
    # address; with them still not to a loopback server: see firefox_server).
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.no_host": False,
    "intl.accept_languages": "en-GB",
    # Autoplay of the agent's voice without a click (Chromium's fake UI allows it too).
    "media.autoplay.default": 0,
}
# The console's error reporting also covers CSP violations reported from inside the page
# (a preload script, which the page's CSP does not govern).
REPORT_CSP = "() => {\nwindow.__livelensReport = (text) => console.error(text);\n" + WATCH_CSP + "}"


@pytest.fixture(scope="module")
def geckodriver() -> str:
    """geckodriver's path once Firefox is known to be there, or a skip that says why not."""
    if not Path(FIREFOX).exists() and shutil.which(FIREFOX) is None:
        pytest.skip(f"Firefox not found at {FIREFOX} (Debian's firefox-esr package)")
    configured = os.environ.get("LIVELENS_GECKODRIVER")
    if configured:
        return configured
    found = subprocess.run(
        [str(REPO / "scripts" / "ensure-geckodriver.sh"), "--cached"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(found.stderr.strip() or "geckodriver is not built")
    return found.stdout.strip()


class FirefoxPage:
    """One Firefox (one device) on one page: the few steps these tests need."""

    def __init__(self, driver: webdriver.Firefox, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.problems: list[str] = []

    def goto(self, url: str) -> None:
        self.driver.get(url if "://" in url else self.base_url + url)

    def _wait(self, condition: Callable[[Any], Any], what: str, timeout: float) -> Any:
        # An element can be replaced between finding and reading it: then look again.
        wait = WebDriverWait(
            self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
        )
        return wait.until(condition, f"timed out: {what}")

    def evaluate(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait_for(self, script: str, *args: Any, what: str = "", timeout: float = TIMEOUT) -> Any:
        """Wait until the script (a function body, `arguments` as usual) returns truthy."""
        return self._wait(lambda d: d.execute_script(script, *args), what or script, timeout)

    def visible(self, testid: str, timeout: float = TIMEOUT) -> Any:
        """The element with that data-testid, once it is displayed."""

        def shown(driver: Any) -> Any:
            for element in driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]'):
                if element.is_displayed():
                    return element
            return False

        return self._wait(shown, f"{testid} visible", timeout)

    def click(self, testid: str) -> None:
        self._wait(lambda _: self.visible(testid).is_enabled(), f"{testid} enabled", TIMEOUT)
        self.visible(testid).click()

    def fill(self, testid: str, text: str) -> None:
        field = self.visible(testid)
        field.clear()
        field.send_keys(text)

    def attribute_becomes(
        self, testid: str, name: str, value: str, timeout: float = TIMEOUT
    ) -> None:
        self.wait_for(
            "const el = document.querySelector(`[data-testid=\"${arguments[0]}\"]`);"
            "return !!el && el.getAttribute(arguments[1]) === arguments[2];",
            testid, name, value, what=f"{testid}[{name}={value!r}]", timeout=timeout,
        )  # fmt: skip

    def frames(self, testid: str, more_than: int) -> int:
        """Wait until the <video> has shown more than `more_than` new frames (Firefox keeps
        getVideoPlaybackQuality() at 0 for a MediaStream, so frames are counted here)."""
        script = (
            'const video = document.querySelector(`[data-testid="${arguments[0]}"]`);'
            "if (!video || !video.srcObject || !video.videoWidth) return false;"
            "if (video.__shown === undefined) {"
            "  video.__shown = 0;"
            "  const count = () => { video.__shown += 1; video.requestVideoFrameCallback(count); };"
            "  video.requestVideoFrameCallback(count);"
            "}"
            "return video.__shown > arguments[1] ? video.__shown : false;"
        )
        seconds = MEDIA_TIMEOUT / 1000
        return int(self.wait_for(script, testid, more_than, what="frames", timeout=seconds))

    def stat(self, attribute: str, more_than: float) -> float:
        """Wait until the connection indicator's `data-<attribute>` exceeds `more_than`."""
        script = (
            "const el = document.querySelector('[data-testid=\"connection-quality\"]');"
            "const value = el ? Number(el.getAttribute('data-' + arguments[0])) : NaN;"
            "return value > arguments[1] ? value : false;"
        )
        seconds = MEDIA_TIMEOUT / 1000
        return float(self.wait_for(script, attribute, more_than, what=attribute, timeout=seconds))

    def screenshot(self, directory: Path, name: str) -> None:
        self.driver.save_screenshot(str(directory / f"{name}.png"))

    def watch(self) -> None:
        """Collect console errors, uncaught exceptions and CSP violations (via BiDi)."""
        script = self.driver.script
        script.add_console_message_handler(self._on_console)
        script.add_javascript_error_handler(
            lambda entry: self.problems.append(f"page error: {entry.text}")
        )
        script.pin(REPORT_CSP)

    def _on_console(self, entry: Any) -> None:
        if entry.level == "error":
            self.problems.append(f"console error: {entry.text}")

    def check(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "The Firefox page produced errors:\n" + "\n".join(problems)


NewFirefox = Callable[..., FirefoxPage]


def _routable_address() -> str | None:
    """This machine's IPv4 address on its default route (connecting UDP sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def firefox_server(
    geckodriver: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server whose media port is also reached on the machine's routable address.

    Firefox ESR gathers no loopback candidate and pairs none with the server's 127.0.0.1
    (``media.peerconnection.ice.loopback`` and ``...ice.force_interface=lo`` do not change
    that), so it cannot reach the media port of a loopback server: ICE fails. The pages
    stay on http://127.0.0.1 (a secure context, needed for the camera); media goes to the
    routable address, where a UDP forwarder passes it on to the server's port. (It takes
    `geckodriver` first so that a machine without Firefox skips before a server starts.)
    """
    address = _routable_address()
    if address is None:
        pytest.skip("no routable IPv4 address: Firefox refuses loopback ICE candidates")
    with UdpNat(address) as nat:
        data_dir = tmp_path_factory.mktemp("livelens-firefox")
        with serving(data_dir, "--media-announce-ip", address, media_port=nat.port) as server:
            nat.forward_to(("127.0.0.1", nat.port))
            yield server


@pytest.fixture
def new_agent_page(
    browser: Browser, firefox_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Chromium pages (Playwright) against the Firefox tests' server."""
    with page_factory(browser, firefox_server, request) as factory:
        yield factory


@pytest.fixture
def new_firefox(
    geckodriver: str, firefox_server: LiveServer, tmp_path: Path
) -> Iterator[NewFirefox]:
    """Start a headless Firefox ESR: new_firefox(width, height, mobile=) sets its viewport."""
    pages: list[FirefoxPage] = []

    def start(width: int = 1280, height: int = 860, *, mobile: bool = False) -> FirefoxPage:
        options = Options()
        options.binary_location = FIREFOX
        options.add_argument("-headless")
        options.enable_bidi = True
        for name, value in PREFS.items():
            options.set_preference(name, value)
        log = tmp_path / f"geckodriver-{len(pages)}.log"
        driver = webdriver.Firefox(
            options=options, service=Service(geckodriver, log_output=str(log))
        )
        page = FirefoxPage(driver, firefox_server.base_url)
        pages.append(page)
        # The viewport, as Playwright sets it (a window is at least 500 px wide).
        driver.browsing_context.set_viewport(
            context=driver.current_window_handle,
            viewport={"width": width, "height": height},
            device_pixel_ratio=2 if mobile else 1,
        )
        size = page.evaluate("return [window.innerWidth, window.innerHeight];")
        assert size == [width, height], f"the Firefox viewport is {size}, not {width}x{height}"
        page.watch()
        return page

    try:
        yield start
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.driver.quit()


def sign_in(page: FirefoxPage, account: Account) -> None:
    page.goto("/")
    page.fill("login-email", account.email)
    page.fill("login-password", account.password)
    page.click("login-submit")
    page.wait_for(
        "const el = document.querySelector('[data-testid=\"current-user\"]');"
        "return !!el && el.textContent.trim() === arguments[0];",
        f"{account.email} ({account.role})", what="signed in",
    )  # fmt: skip


def test_customer_on_firefox_goes_live_with_an_agent_in_chromium(
    new_agent_page: NewPage, new_firefox: NewFirefox, firefox_server: LiveServer, artifacts: Path
) -> None:
    agent = new_agent_page()
    invitation = start_session(agent, firefox_server, "ffcustomer")

    customer = new_firefox(390, 844, mobile=True)
    customer.goto(invitation.link)
    notice = customer.visible("consent-notice")
    assert "identity documents" in notice.text, notice.text
    assert customer.evaluate("return location.hash;") == "", "the token stayed in the address"
    status_of(agent).to_have_attribute("data-state", "joined")
    customer.screenshot(artifacts, "firefox-customer-consent-phone")

    customer.click("consent-accept")
    customer.frames("local-video", 0)  # Firefox's fake camera plays on the phone
    status_of(agent).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    wait_for_frames(agent, "remote-video", 10)  # ... and Chromium decodes it at the agent
    size = agent.get_by_test_id("remote-video").evaluate("v => [v.videoWidth, v.videoHeight]")
    assert size[0] > 0 and size[1] > 0, size
    wait_for_stat(agent, "audio-packets-received", 0)  # the fake microphone's tone too
    customer.attribute_becomes("live-status", "data-state", "live", timeout=MEDIA_TIMEOUT / 1000)
    customer.stat("audio-packets-received", 0)  # the agent's voice reaches the phone
    customer.stat("kbps-out", 0)  # the phone's upload rate, from Firefox's own stats
    customer.screenshot(artifacts, "firefox-customer-live-phone")

    end_for_everyone(agent)
    ended = customer.visible("session-ended")
    assert "ended" in ended.text.lower(), ended.text
    assert not customer.evaluate(
        "return !!document.querySelector('[data-testid=\"local-video\"]');"
    ), "the camera preview is still on screen"


def test_agent_on_firefox_starts_a_session_and_sees_the_customer(
    new_agent_page: NewPage, new_firefox: NewFirefox, firefox_server: LiveServer, artifacts: Path
) -> None:
    agent = firefox_server.create_user("ffagent")
    console = new_firefox(1366, 768)
    sign_in(console, agent)
    console.attribute_becomes("nav-sessions", "aria-current", "page")
    console.click("new-session")
    console.attribute_becomes("session-status", "data-state", "waiting")
    link = console.visible("join-link").get_attribute("value").strip()
    assert re.fullmatch(re.escape(firefox_server.base_url) + r"/join#[A-Za-z0-9_-]{20,}", link), (
        link
    )
    pin = re.sub(r"\s", "", console.visible("session-pin").text)
    assert re.fullmatch(r"\d{6}", pin), pin
    qr = console.visible("join-qr")
    assert console.evaluate("return arguments[0].complete && arguments[0].naturalWidth;", qr)
    console.screenshot(artifacts, "firefox-agent-waiting-desktop")

    # A customer on a phone (Chromium) joins by that link: the console in Firefox decodes it.
    customer = phone(new_agent_page)
    customer.goto(link)
    console.attribute_becomes("session-status", "data-state", "joined")
    customer.get_by_test_id("consent-accept").click()
    console.attribute_becomes("session-status", "data-state", "live", timeout=MEDIA_TIMEOUT / 1000)
    console.frames("remote-video", 10)
    console.stat("audio-packets-received", 0)
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    console.screenshot(artifacts, "firefox-agent-live-desktop")
