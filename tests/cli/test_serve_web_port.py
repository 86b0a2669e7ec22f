"""``livelens serve`` over HTTPS shares its port with media (``--media-on-web-port``, on
by default with TLS): while an ICE-TCP connection is open on that port, a page loads
and a sign-in works through it, and a failed sign-in is logged with the caller's real
address."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import struct
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from livelens.cli import build_parser, settings_from
from livelens.http import tls
from livelens.server import shares_web_port
from tests.cli.serving import Served, start_serve
from tests.cli.test_cli import PASSWORD, create_tenant
from tests.cli.test_security_log import livelens

OTHER_CLIENT = "127.0.0.2"  # a second loopback address, to tell it from the server's
WAIT = 30.0


class Browser:
    """HTTPS from ``source`` to the server, with its XSRF cookie."""

    def __init__(self, port: int, source: str) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
        self.connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=WAIT, context=context, source_address=(source, 0)
        )
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "X-XSRFToken": self.cookies.get("_xsrf", ""),
        }
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
        return response.status, response.read()

    def sign_in(self, email: str, password: str) -> int:
        self.request("GET", "/api/me")  # the XSRF cookie, as a page load gets it
        return self.request("POST", "/api/auth/login", {"email": email, "password": password})[0]


def test_https_and_ice_tcp_share_the_port_and_the_log_sees_the_real_caller(
    tmp_path: Path, served: list[Served]
) -> None:
    create_tenant(tmp_path)
    cert, key = tls.ensure_self_signed(tmp_path / "certs", "127.0.0.1")
    server = start_serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    served.append(server)
    assert server.url.startswith("https://")
    # An ICE-TCP connection: a framed STUN binding request's head, the rest to come.
    # The media port keeps it (its ICE deadline is 5 s); HTTPS goes on beside it.
    ice = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    try:
        ice.sendall(struct.pack("!HHHI", 28, 0x0001, 8, 0x2112A442))
        browser = Browser(server.port, "127.0.0.1")
        status, page = browser.request("GET", "/")
        assert status == 200 and b"<html" in page.lower()
        # The media port, not the web server, has the ICE-TCP connection: it waits for
        # the rest of the check (Tornado would have closed a TLS port's non-TLS one).
        ice.settimeout(0.5)
        with pytest.raises(TimeoutError):
            ice.recv(1)
        assert browser.sign_in("boss@acme.test", PASSWORD) == 200
        assert browser.request("GET", "/api/me")[0] == 200
        assert Browser(server.port, OTHER_CLIENT).sign_in("nobody@acme.test", "wrong") == 401
    finally:
        ice.close()
    output = server.stop()
    served.clear()
    assert "Traceback" not in output
    log = livelens(tmp_path, "security-log").stdout.splitlines()
    assert any(line.split()[1:3] == ["auth.login_failed", OTHER_CLIENT] for line in log), log


def test_media_shares_the_web_port_by_default_with_tls_or_on_443() -> None:
    def shares(*args: str, tls: bool = False) -> bool:
        settings = settings_from(build_parser().parse_args(["serve", "--data-dir", "d", *args]))
        return shares_web_port(settings, tls=tls)

    assert not shares()
    assert shares(tls=True)
    assert shares("--port", "443")
    assert shares("--media-on-web-port", "yes")
    assert not shares("--media-on-web-port", "no", "--port", "443", tls=True)
    with pytest.raises(SystemExit):
        shares("--media-on-web-port", "maybe")
