"""A real ``livelens serve`` process and Debian's Chromium, driven by Playwright.

One server runs for the whole e2e session (tests use their own users, so they do
not disturb each other); a second one, reached through a NAT-like UDP forwarder,
serves the tests that cut the media path. Every page is watched for console errors, uncaught
exceptions and Content-Security-Policy violations; any of them fails the test.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.e2e.udp_nat import UdpNat
from tests.processes import stop, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("LIVELENS_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
PASSWORD = "Correct-horse-42"
# How long a running session waits for its customer or an agent to come back: short, so
# that the tests of what does (and does not) end a session stay fast.
REJOIN_GRACE = 3.0

# Reports CSP violations from inside the page to the test (exposed bindings and
# init scripts are not subject to the page's CSP).
WATCH_CSP = """
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile || ''}:${e.lineNumber || ''}`;
  window.__livelensReport(
    `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${where}`);
}, true);
"""


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    role: str


class ApiClient:
    """A cookie-keeping JSON client for setting up test data through the real API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _xsrf(self) -> str:
        for cookie in self.jar:
            if cookie.name == "_xsrf" and cookie.value:
                return cookie.value
        self.request("GET", "/api/me", expect=(200, 401))
        return self._xsrf()

    def request(
        self, method: str, path: str, body: object = None, expect: tuple[int, ...] = (200, 201)
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if method != "GET":
            headers["Content-Type"] = "application/json"
            headers["X-XSRFToken"] = self._xsrf()
            data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.base_url + path, data, headers, method=method)  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        payload = json.loads(raw) if raw else {}
        assert status in expect, f"{method} {path} answered {status}: {payload}"
        return payload

    def login(self, account: Account) -> ApiClient:
        self.request(
            "POST", "/api/auth/login", {"email": account.email, "password": account.password}
        )
        return self


@dataclass
class LiveServer:
    base_url: str
    tenant: str
    admin: Account
    agent: Account
    # A second account, for tests that change account-wide policy.
    other_tenant: str
    other_admin: Account
    other_agent: Account
    data_dir: Path | None = None
    _counter: int = field(default=0, repr=False)

    def new_account(self, label: str) -> Account:
        """The administrator of a brand-new account (no policy or 2FA set by other tests)."""
        assert self.data_dir is not None
        self._counter += 1
        admin = Account(self.unique_email(label, f"{label}.test"), PASSWORD, "admin")
        _cli(self.data_dir, "tenant", "create", "--name", f"{label} {self._counter}",
             "--region", "eu", "--admin-email", admin.email,
             "--admin-password", admin.password)  # fmt: skip
        return admin

    def unique_email(self, label: str, domain: str = "acme.test") -> str:
        self._counter += 1
        return f"{label}-{self._counter}-{time.monotonic_ns() % 10**6}@{domain}"

    def create_user(
        self, label: str, role: str = "agent", *, admin: Account | None = None
    ) -> Account:
        """A new user in the account of `admin` (default: the main administrator)."""
        admin = admin or self.admin
        domain = admin.email.split("@", 1)[1]
        account = Account(self.unique_email(label, domain), PASSWORD, role)
        client = ApiClient(self.base_url).login(admin)
        client.request(
            "POST", "/api/users", {"email": account.email, "role": role, "password": PASSWORD}
        )
        return account


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(data_dir: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "livelens", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, f"livelens {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


@contextlib.contextmanager
def serving(data_dir: Path, *args: str, media_port: int = 0) -> Iterator[LiveServer]:
    """``livelens serve`` on loopback with two accounts made by the CLI; extra ``args``
    go to ``serve``. Its output is shown when something failed."""
    admin = Account("admin@acme.test", PASSWORD, "admin")
    agent = Account("alice@acme.test", PASSWORD, "agent")
    other_admin = Account("admin@globex.test", PASSWORD, "admin")
    other_agent = Account("bob@globex.test", PASSWORD, "agent")
    for tenant, region, boss, worker in (
        ("Acme Support", "eu", admin, agent),
        ("Globex", "us", other_admin, other_agent),
    ):
        _cli(data_dir, "tenant", "create", "--name", tenant, "--region", region,
             "--admin-email", boss.email, "--admin-password", boss.password)  # fmt: skip
        _cli(data_dir, "user", "create", "--tenant", tenant, "--email", worker.email,
             "--role", "agent", "--password", worker.password)  # fmt: skip

    port = _free_port()
    log_path = data_dir / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "livelens", "serve", "--data-dir", str(data_dir),
             "--host", "127.0.0.1", "--port", str(port), "--rejoin-grace", str(REJOIN_GRACE),
             *args],
            stdout=log, stderr=subprocess.STDOUT, text=True, cwd=REPO,
            # Any free UDP port for media, so parallel runs on one machine do not collide.
            env={**os.environ, "LIVELENS_MEDIA_PORT": str(media_port) if media_port
                 else os.environ.get("LIVELENS_MEDIA_PORT", "0")},
        )  # fmt: skip
    # With --tls-cert the caller makes urllib trust the certificate (SSL_CERT_FILE).
    scheme = "https" if "--tls-cert" in args else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    failed = False
    try:
        wait_until_serving(base_url, process)
        yield LiveServer(base_url, "Acme Support", admin, agent, "Globex", other_admin, other_agent,
                         data_dir)  # fmt: skip
    except BaseException:
        failed = True
        raise
    finally:
        stop(process)
        output = log_path.read_text(errors="replace")
        if failed or process.returncode not in (0, -15):
            print(f"--- livelens serve output (exit {process.returncode}) ---\n{output}")
        elif os.environ.get("LIVELENS_E2E_SERVER_LOG"):
            print(output)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("livelens-data")) as server:
        yield server


@dataclass(frozen=True)
class NattedServer:
    server: LiveServer
    nat: UdpNat


@pytest.fixture(scope="module")
def natted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NattedServer]:
    """A server whose media port is reached through a NAT-like UDP forwarder: the port
    is bound to 127.0.0.1 and announces 127.0.0.2 (``--media-announce-ip``), where the
    forwarder listens on the same port number and can cut the media path."""
    with UdpNat("127.0.0.2") as nat:
        data_dir = tmp_path_factory.mktemp("livelens-natted")
        with serving(data_dir, "--media-announce-ip", "127.0.0.2", media_port=nat.port) as server:
            nat.forward_to(("127.0.0.1", nat.port))
            yield NattedServer(server, nat)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class PageWatch:
    """Collects what a strict-CSP page must never produce."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        text = message.text
        url = message.location.get("url", "") if message.location else ""
        # The API answers expected outcomes (signed out, wrong password, locked, ...) with
        # 4xx statuses; Chromium logs every one of them. Anything else is a real problem.
        if "Failed to load resource" in text and "/api/" in url and "status of 4" in text:
            return
        if message.type == "warning" and "Content Security Policy" not in text:
            return
        self.problems.append(f"console {message.type}: {text} ({url})")

    def report(self, text: str) -> None:
        self.problems.append(text)

    def check(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "The page produced errors:\n" + "\n".join(problems)

    def watch(self, context: BrowserContext) -> None:
        context.expose_function("__livelensReport", self.report)
        context.add_init_script(WATCH_CSP)
        context.on("page", self.watch_page)

    def watch_page(self, page: Page) -> None:
        page.on("console", self.on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))


NewPage = Callable[..., Page]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (not just its teardown) when a page misbehaved."""
    result = yield
    watch: PageWatch | None = getattr(item, "page_watch", None)
    if watch is not None:
        watch.check()
    return result


@contextlib.contextmanager
def page_factory(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Pages in fresh browser contexts (their own cookies), watched for errors."""
    watch = PageWatch()
    request.node.page_watch = watch
    contexts: list[BrowserContext] = []

    def factory(
        width: int = 1280, height: int = 860, *, mobile: bool = False, locale: str = "en-GB"
    ) -> Page:
        # The locale sets navigator.languages and the Accept-Language header.
        context = browser.new_context(
            base_url=live_server.base_url,
            viewport={"width": width, "height": height},
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
            locale=locale,
            timezone_id="Europe/Berlin",
        )
        context.set_default_timeout(10_000)
        watch.watch(context)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()
    watch.check()


@pytest.fixture
def new_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Open a page in a fresh browser context (its own cookies): new_page(width=, height=)."""
    with page_factory(browser, live_server, request) as factory:
        yield factory


@pytest.fixture(scope="session")
def two_camera_browser(browser: Browser) -> Iterator[Browser]:
    """A second Chromium whose fake device has two cameras (for switching cameras)."""
    assert browser.browser_type.executable_path  # launched the same way as `browser`
    two_cameras = [
        "--use-fake-device-for-media-stream=device-count=2" if arg.startswith(
            "--use-fake-device-for-media-stream") else arg
        for arg in CHROMIUM_ARGS
    ]  # fmt: skip
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=two_cameras
    )
    yield chromium
    chromium.close()


@pytest.fixture
def new_two_camera_page(
    two_camera_browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Like new_page, in the Chromium whose fake device has two cameras."""
    with page_factory(two_camera_browser, live_server, request) as factory:
        yield factory


@pytest.fixture
def new_natted_page(
    browser: Browser, natted_server: NattedServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Like new_page, against the server behind the UDP forwarder."""
    with page_factory(browser, natted_server.server, request) as factory:
        yield factory


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
