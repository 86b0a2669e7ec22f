"""A MongoDB-protocol server for tests.

``LIVELENS_TEST_MONGO_URL`` names an existing server (e.g. a real ``mongod``);
otherwise FerretDB 1.24 with its SQLite backend is started on a free loopback port,
once per test session however many test folders ask for it. If no server can be
had, the tests that need one fail, unless ``LIVELENS_TEST_SKIP_MONGO=1`` says to
skip them.

Use it from a ``conftest.py``::

    from tests.mongo_server import mongo_base_url  # noqa: F401  (a fixture)

and give each test its own database with :func:`database_url`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pymongo
import pytest
from pymongo.errors import PyMongoError

from tests import processes

URL_ENV = "LIVELENS_TEST_MONGO_URL"
SKIP_ENV = "LIVELENS_TEST_SKIP_MONGO"
REPO = Path(__file__).resolve().parents[1]
ENSURE_SCRIPT = REPO / "scripts" / "ensure-ferretdb.sh"
START_TIMEOUT = 20.0
BUILD_TIMEOUT = 1800.0  # building FerretDB from source the first time takes minutes


class MongoServerError(RuntimeError):
    """No MongoDB-protocol server could be obtained."""


def database_url(base_url: str, database: str) -> str:
    """``base_url`` with its database (the URL path) replaced by ``database``."""
    return urlunsplit(urlsplit(base_url)._replace(path=f"/{database}"))


def unique_database() -> str:
    return f"livelens_test_{uuid.uuid4().hex[:16]}"


def ferretdb_binary() -> str:
    """Path of the FerretDB binary; built once per machine by scripts/ensure-ferretdb.sh."""
    try:
        done = subprocess.run(
            ["bash", str(ENSURE_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MongoServerError(f"{ENSURE_SCRIPT.name} did not run: {exc}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise MongoServerError(
            f"{ENSURE_SCRIPT.name} failed ({done.returncode}): {_tail(done.stderr)}"
        )
    return lines[-1]


@dataclass
class FerretDB:
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path

    def stop(self) -> None:
        processes.stop(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_ferretdb(binary: str | None = None) -> FerretDB:
    binary = binary or ferretdb_binary()
    last_error = ""
    # A port picked free can be taken before FerretDB binds it; try a few.
    for _ in range(3):
        workdir = Path(tempfile.mkdtemp(prefix="livelens-ferretdb-"))
        try:
            return _start_once(binary, workdir)
        except MongoServerError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            last_error = str(exc)
            if "address already in use" not in last_error:
                break
    raise MongoServerError(last_error)


def _start_once(binary: str, workdir: Path) -> FerretDB:
    data = workdir / "data"
    data.mkdir()
    port = _free_port()
    log_path = workdir / "ferretdb.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "--handler=sqlite",
                f"--sqlite-url=file:{data}/",
                f"--listen-addr=127.0.0.1:{port}",
                f"--state-dir={workdir}",
                "--telemetry=disable",
                "--debug-addr=-",  # no metrics/pprof listener on a fixed port
                "--log-level=ERROR",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = FerretDB(f"mongodb://127.0.0.1:{port}/", process, workdir)
    try:
        _wait_ready(server, log_path)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: FerretDB, log_path: Path) -> None:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise MongoServerError(
                f"FerretDB exited with {server.process.returncode}: {_tail(_read(log_path))}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise MongoServerError(
                    f"FerretDB did not listen within {START_TIMEOUT:.0f} s: "
                    f"{_tail(_read(log_path))}"
                ) from None
        # Paces the poll, and returns at once if the process dies meanwhile.
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=0.05)
    _ping(server.url)


def _ping(url: str) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=5000
    )
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        raise MongoServerError(f"the MongoDB server does not answer: {exc}") from exc
    finally:
        client.close()


def drop_database(base_url: str, database: str) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        base_url, serverSelectionTimeoutMS=5000
    )
    try:
        client.drop_database(database)
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


# One server per test session, shared by every conftest that imports the fixture.
_lock = threading.Lock()
_shared: FerretDB | None = None
_users = 0


def _acquire() -> str:
    global _shared, _users
    with _lock:
        if _shared is None:
            _shared = start_ferretdb()
        _users += 1
        return _shared.url


def _release() -> None:
    global _shared, _users
    with _lock:
        _users -= 1
        if _users == 0 and _shared is not None:
            _shared.stop()
            _shared = None


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"no MongoDB-protocol server ({SKIP_ENV}=1): {reason}")
    pytest.fail(
        f"no MongoDB-protocol server: {reason} (set {URL_ENV}, install Go so "
        f"{ENSURE_SCRIPT.name} can build FerretDB, or set {SKIP_ENV}=1 to skip)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def mongo_base_url() -> Iterator[str]:
    """URL of a MongoDB-protocol server for the session; use :func:`database_url`."""
    external = os.environ.get(URL_ENV)
    if external:
        try:
            _ping(external)
        except MongoServerError as exc:
            _unavailable(str(exc))
        yield external
        return
    try:
        url = _acquire()
    except MongoServerError as exc:
        _unavailable(str(exc))
    try:
        yield url
    finally:
        _release()
