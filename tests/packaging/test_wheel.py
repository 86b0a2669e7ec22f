"""The wheel as a user installs it: built by maturin, installed with pip into a fresh
virtualenv outside the checkout, ``livelens serve`` started from there, and the console
signed in to through Chromium. Nothing may come from the source tree: the pages
(``livelens/web``) are package data, and a wheel without them answers ``GET /`` with
a 500.

Cost: the wheel is built with the project's maturin into the checkout's cargo target
directory, for the interpreter of ``.venv`` (the one ``scripts/setup.sh`` builds the
editable install for), so cargo finds setup.sh's release build up to date and the build
takes seconds; only sources changed since setup.sh ran are compiled again. The fresh
venv gets no pip of its own (``ensurepip`` takes seconds): the project's pip installs into
it (``pip --python``), from the package index pip is configured with, as in setup.sh.
Marked ``e2e`` (it drives Chromium, so it runs with the browser tests, last) and
``packaging``: ``-m "not packaging"`` leaves it out.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Response, expect, sync_playwright

from livelens.http.pages import render_join
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Account, PageWatch
from tests.e2e.console import sign_in
from tests.processes import STARTUP_TIMEOUT, stop

pytestmark = [pytest.mark.e2e, pytest.mark.packaging]

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "livelens" / "web"
# The first account's administrator, as `livelens serve` suggests it on an empty store.
ADMIN = Account("admin@example.com", PASSWORD, "admin")
# A Rust change costs one release build (fat LTO) here if setup.sh has not made it.
BUILD_TIMEOUT = 1800
INSTALL_TIMEOUT = 600

T = TypeVar("T")


def test_installed_wheel_serves_the_console(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    assert not tmp_path.resolve().is_relative_to(REPO), "must run outside the checkout"
    wheel = build_wheel(tmp_path / "dist")
    check_wheel(wheel, tmp_path)


def build_wheel(out: Path) -> Path:
    """``maturin build --release`` of the checkout; the wheel's path."""
    maturin = Path(sys.executable).parent / "maturin"
    done = subprocess.run(
        [str(maturin), "build", "--release", "--interpreter", sys.executable, "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"maturin build failed:\n{done.stdout}{done.stderr}"
    (wheel,) = out.glob("livelens-*.whl")
    return wheel


def check_wheel(wheel: Path, work: Path) -> None:
    """Install ``wheel`` into a fresh venv under ``work`` and use it as a user would."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name.removeprefix("livelens/web/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith("livelens/web/") and not name.endswith("/")
        }
    pages = sorted(
        path.relative_to(WEB).as_posix()
        for path in WEB.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    missing = [name for name in pages if name not in shipped]
    assert not missing, f"the wheel lacks these files of livelens/web: {missing}"

    venv = work / "venv"
    env = install(wheel, venv)
    data_dir, home = work / "data", work / "home"
    home.mkdir()
    with serving(venv, data_dir, home, env) as server:
        create_first_account(server, venv, home, env)
        status, content_type, body = get(server.url)
        assert status == 200, f"GET / answered {status}"
        assert content_type.startswith("text/html")
        assert body == shipped["index.html"]
        # The customer's page is its template with the texts of the browser's language
        # (none asked for here: English) filled in from the shipped catalogue.
        status, _, body = get(server.url + "join")
        english = json.loads(shipped["locales/en.json"])
        page = render_join(shipped["join.html"].decode(), english, "en")
        assert (status, body) == (200, page.encode())
        for name, content in shipped.items():
            status, _, body = get(f"{server.url}static/{name}")
            assert status == 200, f"GET /static/{name} answered {status}"
            assert body == content, f"GET /static/{name} is not the file of the wheel"
        in_own_thread(lambda: sign_in_with_chromium(server.url, ADMIN))


def install(wheel: Path, venv: Path) -> dict[str, str]:
    """A fresh venv with ``wheel`` and its dependencies; the environment to run it in
    (as if activated, and with nothing of the checkout's)."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=60, check=True
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LIVELENS_")
        and k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    python = venv / "bin" / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-input",
         "--disable-pip-version-check", str(wheel)],
        cwd=venv.parent, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}{done.stderr}"
    where = subprocess.run(
        [str(python), "-c", "import livelens; print(livelens.__file__)"],
        cwd=venv.parent, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    return env


class Serving:
    """A running ``livelens serve`` whose output a thread keeps reading (so that its
    pipe never fills), line by line into ``lines`` and a queue to wait on."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.done = threading.Event()  # the output has ended
        threading.Thread(target=self._read, daemon=True).start()
        self.banner = self.wait_for("sign in with")
        self.url = next(line.split(" at ", 1)[1] for line in self.banner if "is running at" in line)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(self.lines[-1])
        self._queue.put(None)
        self.done.set()

    def wait_for(self, text: str) -> list[str]:
        """The lines up to the first one that contains ``text`` (case-insensitive)."""
        seen: list[str] = []
        while True:
            try:
                line = self._queue.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"livelens serve said no {text!r} in {STARTUP_TIMEOUT} s:\n"
                            + self.output())  # fmt: skip
            if line is None:
                pytest.fail(f"livelens serve exited ({self.process.wait()}):\n{self.output()}")
            seen.append(line)
            if text.lower() in line.lower():
                return seen

    def output(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def serving(venv: Path, data_dir: Path, cwd: Path, env: dict[str, str]) -> Iterator[Serving]:
    """``<venv>/bin/livelens serve`` on a free loopback port, run from ``cwd``."""
    process = subprocess.Popen(
        [str(venv / "bin" / "livelens"), "serve", "--data-dir", str(data_dir),
         "--host", "127.0.0.1", "--port", "0", "--media-port", "0"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    server: Serving | None = None
    try:
        server = Serving(process)
        yield server
    except BaseException:
        stop(process)
        if server is not None:
            server.done.wait(timeout=10)
            print(f"--- livelens serve output (exit {process.returncode}) ---")
            print(server.output())
        raise
    finally:
        stop(process)


def create_first_account(server: Serving, venv: Path, cwd: Path, env: dict[str, str]) -> None:
    """Run the command the banner of an empty store prints, as it stands."""
    text = "\n".join(server.banner)
    assert "no account yet" in text, text
    line = next(line for line in server.banner if " tenant create " in line)
    command = shlex.split(line)
    program = shutil.which(command[0], path=env["PATH"]) or str(cwd / command[0])
    assert Path(program) == venv / "bin" / "livelens", f"the banner names {command[0]}"
    assert f"--admin-email {ADMIN.email}" in line, line
    done = subprocess.run(
        command, cwd=cwd, env=env, input=ADMIN.password + "\n", capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{line}\nfailed:\n{done.stdout}{done.stderr}"


def get(url: str) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our loopback server
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def sign_in_with_chromium(base_url: str, account: Account) -> None:
    """Sign in on the console page; every page asset must load and the page stay free
    of errors."""
    watch = PageWatch()
    assets: list[Response] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(base_url=base_url)
            context.set_default_timeout(10_000)
            watch.watch(context)
            page = context.new_page()
            page.on("response", lambda response: assets.append(response))
            sign_in(page, account)
            expect(page.get_by_test_id("logout")).to_be_visible()
            loaded = {
                r.url.split("/static/", 1)[1]: r.status for r in assets if "/static/" in r.url
            }
        finally:
            browser.close()
    watch.check()
    assert {"console.js", "style.css", "views/login.js"} <= loaded.keys(), loaded
    assert set(loaded.values()) == {200}, loaded


def in_own_thread(work: Callable[[], T]) -> T:
    """Playwright's sync API in a thread of its own: the e2e tests' session browser,
    when they ran first, keeps its event loop on the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()
