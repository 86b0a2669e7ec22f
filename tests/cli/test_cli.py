"""The ``livelens`` command as a new user runs it: real processes, a real store file."""

import os
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from livelens.cli import build_parser, settings_from
from livelens.errors import LiveLensError
from tests.cli.serving import Served, start_serve

PASSWORD = "correct-horse-42"


def livelens(
    data_dir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELENS_")}
    return subprocess.run(
        [sys.executable, "-m", "livelens", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=60,
        check=False,
    )


def create_tenant(data_dir: Path, name: str = "Acme", email: str = "boss@acme.test") -> None:
    done = livelens(
        data_dir, "tenant", "create", "--name", name, "--region", "eu",
        "--admin-email", email, "--admin-password", PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"administrator {email}" in done.stdout


def assert_one_line_error(done: subprocess.CompletedProcess[str], text: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert text in lines[0]
    assert "Traceback" not in done.stderr


def test_create_account_and_users(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    done = livelens(
        tmp_path, "user", "create", "--tenant", "Acme", "--email", "ann@acme.test",
        "--role", "agent", "--password", PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Created agent ann@acme.test (Ann)" in done.stdout
    named = livelens(
        tmp_path, "user", "create", "--tenant", "Acme", "--email", "bo@acme.test",
        "--role", "agent", "--password", PASSWORD, "--display-name", "Bo de Vries",
    )  # fmt: skip
    assert "Created agent bo@acme.test (Bo de Vries)" in named.stdout
    assert (tmp_path / "livelens.db").exists()
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0


def test_password_from_stdin(tmp_path: Path) -> None:
    done = livelens(
        tmp_path, "tenant", "create", "--name", "Acme", "--region", "us",
        "--admin-email", "boss@acme.test", "--admin-password", "-", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "agent", "--password", "short1"], "at least 8 characters"),
        (["--role", "agent", "--password", "onlyletters"], "letters and digits"),
        (["--role", "agent", "--password", PASSWORD, "--tenant", "Nope"], "No account named"),
    ],
)
def test_user_create_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    create_tenant(tmp_path)
    base = ["user", "create", "--email", "ann@acme.test"]
    if "--tenant" not in args:
        base += ["--tenant", "Acme"]
    assert_one_line_error(livelens(tmp_path, *base, *args), message)


def test_duplicate_email_and_account_name(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    dup_user = livelens(
        tmp_path, "user", "create", "--tenant", "Acme", "--email", "BOSS@acme.test",
        "--role", "agent", "--password", PASSWORD,
    )  # fmt: skip
    assert_one_line_error(dup_user, "cannot be used for a new user")
    dup_tenant = livelens(
        tmp_path, "tenant", "create", "--name", "Acme", "--region", "eu",
        "--admin-email", "other@acme.test", "--admin-password", PASSWORD,
    )  # fmt: skip
    assert_one_line_error(dup_tenant, "Acme")


def test_unreachable_store_fails_fast_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    done = livelens(
        tmp_path, "tenant", "create", "--store", f"mongodb://127.0.0.1:{port}/x",
        "--name", "Acme", "--region", "eu", "--admin-email", "a@acme.test",
        "--admin-password", PASSWORD,
    )  # fmt: skip
    assert_one_line_error(done, "")


def test_unsupported_store_url(tmp_path: Path) -> None:
    done = livelens(
        tmp_path, "tenant", "create", "--store", "postgres://x", "--name", "Acme",
        "--region", "eu", "--admin-email", "a@acme.test", "--admin-password", PASSWORD,
    )  # fmt: skip
    assert_one_line_error(done, "store")


def test_first_start_explains_how_to_create_an_account(
    tmp_path: Path, served: list[Served]
) -> None:
    s = start_serve(tmp_path)
    served.append(s)
    text = "\n".join(s.banner)
    assert "no account yet" in text
    assert s.url.startswith("http://localhost:")
    with urllib.request.urlopen(s.url) as page:  # noqa: S310 - loopback URL we just started
        assert page.status == 200
    # The printed command works as it stands, pasted into a shell where serve was started.
    command = next(line.strip() for line in s.banner if "tenant create" in line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELENS_")}
    done = subprocess.run(  # noqa: S602 - our own banner, exactly what a user pastes
        command, shell=True, input=PASSWORD + "\n", capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "admin@example.com" in done.stdout


def test_non_loopback_host_gets_tls_with_a_self_signed_certificate(
    tmp_path: Path, served: list[Served]
) -> None:
    create_tenant(tmp_path)
    s = start_serve(tmp_path, "--host", "0.0.0.0")
    served.append(s)
    text = "\n".join(s.banner)
    assert s.url.startswith("https://")
    assert "self-signed" in text
    port = int(s.url.rstrip("/").rsplit(":", 1)[1])
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=insecure) as page:
        assert "max-age=" in page.headers["Strict-Transport-Security"]
        assert "Secure" in page.headers["Set-Cookie"]
    assert "AES" in negotiated_cipher(port, "ECDHE+AESGCM:ECDHE+CHACHA20") + "GCM"
    assert "GCM" in negotiated_cipher(port, "ECDHE+AESGCM")
    with pytest.raises(ssl.SSLError):
        negotiated_cipher(port, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:AES128-SHA")


def negotiated_cipher(port: int, offer: str) -> str:
    """Handshake as a TLS 1.2 client offering only ``offer``; returns the suite chosen."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.set_ciphers(offer)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client.wrap_socket(raw) as tls_socket,
    ):
        name, version, _ = tls_socket.cipher()
        assert version == "TLSv1.2"
        return name


def test_serve_explains_a_media_port_in_use(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = livelens(tmp_path, "serve", "--port", "0", "--media-port", str(port))
    assert done.returncode == 1
    assert "Cannot open the media port" in done.stderr
    assert "--media-port" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_has_one_media_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The aiortc path and the Python reference relay are the tests' oracle and the
    # benchmarks' baseline, not server options: the Rust media port is the only path.
    for flag in (["--relay", "reference"], ["--media-path", "aiortc"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", "--data-dir", str(tmp_path), *flag])
        assert "unrecognized arguments" in capsys.readouterr().err
    monkeypatch.setenv("LIVELENS_RELAY", "reference")
    monkeypatch.setenv("LIVELENS_MEDIA_PATH", "aiortc")
    settings = settings_from(build_parser().parse_args(["serve", "--data-dir", str(tmp_path)]))
    assert not hasattr(settings, "relay")
    assert not hasattr(settings, "media_path")


def test_media_announce_ip_by_flag_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def announced(*args: str) -> tuple[str, ...]:
        parsed = build_parser().parse_args(["serve", "--data-dir", str(tmp_path), *args])
        return settings_from(parsed).media_announce

    monkeypatch.delenv("LIVELENS_MEDIA_ANNOUNCE_IP", raising=False)
    assert announced() == ()
    assert announced("--media-announce-ip", "203.0.113.7") == ("203.0.113.7",)
    monkeypatch.setenv("LIVELENS_MEDIA_ANNOUNCE_IP", "203.0.113.7, 198.51.100.2,203.0.113.7")
    assert announced() == ("203.0.113.7", "198.51.100.2")
    for bad, message in [
        ("example.com", "takes IPv4 addresses"),
        ("2001:db8::1", "takes IPv4 addresses"),
        ("0.0.0.0", "cannot be 0.0.0.0"),
    ]:
        with pytest.raises(LiveLensError, match=message):
            announced("--media-announce-ip", bad)


def test_keys_rotate_then_reseal_from_the_command_line(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    rotated = livelens(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "Resealed 1 account(s)" in rotated.stdout
    assert "Once every node runs with the new keyring" in rotated.stdout
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0
    assert len((tmp_path / "master.key").read_text().split()) == 2
    again = livelens(tmp_path, "keys", "reseal")
    assert again.returncode == 0, again.stderr
    assert "Resealed 0 account(s)" in again.stdout
