"""``livelens serve`` under attack: idle and slow connections, few descriptors, and a
data directory others could read. Real processes, with their limits lowered so the
tests stay small."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from livelens.cli import build_parser, settings_from
from livelens.config import Settings
from tests.cli.serving import Served, start_serve

BOUND = 10.0


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that never send a byte."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=BOUND))
        yield sockets
    finally:
        for s in sockets:
            s.close()


def answers(s: Served) -> int:
    """The status of a normal request (401: answering, nobody is signed in)."""
    try:
        with urllib.request.urlopen(s.url + "api/me", timeout=BOUND) as page:  # noqa: S310
            return int(page.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def open_files_limit(pid: int) -> int:
    limits = Path(f"/proc/{pid}/limits").read_text()
    match = re.search(r"Max open files\s+(\d+)", limits)
    assert match is not None
    return int(match.group(1))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="kept-below-the-limit"),
        # Counted connections allowed past what descriptors allow: accept() itself fails.
        pytest.param(("--max-connections", "10000"), id="out-of-descriptors"),
    ],
)
def test_more_idle_connections_than_descriptors_neither_lock_out_nor_flood_the_log(
    tmp_path: Path, served: list[Served], args: tuple[str, ...]
) -> None:
    s = start_serve(tmp_path, *args, shell_prelude="ulimit -n 128")
    served.append(s)
    with idle_connections(s.port, 200):
        assert answers(s) == 401
        assert answers(s) == 401
    log = s.stop()
    served.clear()
    assert "Traceback" not in log
    notes = [line for line in log.splitlines() if "WARNING livelens" in line]
    assert 1 <= len(notes) <= 2, log[-3000:]  # once per kind and minute, not per accept


def test_silent_connections_are_closed_and_the_open_file_limit_is_raised(
    tmp_path: Path, served: list[Served]
) -> None:
    s = start_serve(
        tmp_path, "--header-timeout", "0.5", shell_prelude="ulimit -S -n 256; ulimit -H -n 2048"
    )
    served.append(s)
    assert open_files_limit(s.process.pid) == 2048
    with idle_connections(s.port, 3) as silent:
        for sock in silent:
            assert sock.recv(1) == b""  # closed by the server (within the socket timeout)
    assert answers(s) == 401


def modes(directory: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(directory.stat().st_mode)}
    for path in directory.rglob("*"):
        found[str(path.relative_to(directory))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_the_data_dir_is_private_and_a_wider_one_is_reported(
    tmp_path: Path, served: list[Served]
) -> None:
    data_dir = tmp_path / "data"
    # umask 022, the common default, would make 0755 directories and 0644 files.
    s = start_serve(data_dir, "--host", "0.0.0.0", shell_prelude="umask 022")
    served.append(s)
    assert answers_tls(s.port)
    found = modes(data_dir)
    assert {"livelens.db", "livelens.db-wal", "livelens.db-shm", "master.key",
            "tls/self-signed.key", "tls/self-signed.crt"} <= set(found)  # fmt: skip
    wide = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert wide == {}
    assert found["."] == 0o700
    assert not any("readable by other users" in line for line in s.banner)
    s.stop()
    served.clear()

    data_dir.chmod(0o755)
    (data_dir / "livelens.db").chmod(0o644)
    s = start_serve(data_dir)
    served.append(s)
    warnings = [line for line in s.banner if "readable by other users" in line]
    assert len(warnings) == 1, s.banner
    assert str(data_dir) in warnings[0]
    assert f"chmod -R go= {data_dir}" in warnings[0]


def answers_tls(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=BOUND) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return tls.recv(64).startswith(b"HTTP/1.1 401")


def test_connection_limits_by_flag_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def settings(*args: str) -> Settings:
        parsed = build_parser().parse_args(["serve", "--data-dir", str(tmp_path), *args])
        return settings_from(parsed)

    for name in ("HEADER_TIMEOUT", "IDLE_TIMEOUT", "MAX_CONNECTIONS_PER_CLIENT"):
        monkeypatch.delenv(f"LIVELENS_{name}", raising=False)
    default = settings()
    assert (default.header_timeout, default.idle_timeout, default.body_timeout) == (20, 60, 120)
    assert (default.max_connections, default.max_connections_per_client) == (0, 256)
    assert settings("--header-timeout", "2.5").header_timeout == 2.5
    monkeypatch.setenv("LIVELENS_MAX_CONNECTIONS_PER_CLIENT", "0")
    assert settings().max_connections_per_client == 0
    for args, env, message in [
        (("--idle-timeout", "0"), None, "argument --idle-timeout: must be a number of seconds"),
        ((), "nan", "argument --header-timeout: must be a number of seconds above 0, got 'nan'"),
        (("--max-connections", "-1"), None, "argument --max-connections: must be a whole number"),
    ]:
        with monkeypatch.context() as m:
            if env is not None:
                m.setenv("LIVELENS_HEADER_TIMEOUT", env)
            with pytest.raises(SystemExit):
                settings(*args)
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "abc", "argument --port: must be a port number from 0 to 65535, got 'abc'"),
        ("MEDIA_PORT", "70000", "argument --media-port: must be a port number from 0 to 65535"),
        ("SESSION_TTL", "0", "argument --session-ttl: must be a whole number of seconds above 0"),
        ("SESSION_TTL", "1h", "argument --session-ttl: must be a whole number of seconds above 0"),
    ],
)
def test_a_bad_port_or_sign_in_lifetime_in_the_environment_is_a_one_line_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    message: str,
) -> None:
    """They were read with int() and crashed with a traceback."""
    monkeypatch.setenv(f"LIVELENS_{name}", value)
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "--data-dir", str(tmp_path)])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
