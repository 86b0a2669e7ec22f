"""``livelens serve --alert-webhook URL --syslog udp://...``: a real server process sends
a lockout to the instance's webhook, signed with the secret it keeps in the data
directory, and to syslog."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

from livelens.identity.lockout import MAX_FAILURES
from livelens.services import alert_rules
from livelens.services.alert_delivery import SECRET_FILE
from tests.cli.serving import Served, start_serve
from tests.cli.test_cli import create_tenant
from tests.webhook_receiver import webhook_receiver

WAIT = 30.0  # seconds at most for anything to arrive (it comes at once)


def sign_in_fails(url: str, email: str) -> int:
    """A wrong password, as a browser sends it (with the XSRF cookie); the status."""
    try:
        urllib.request.urlopen(url + "api/me", timeout=WAIT)  # noqa: S310 - loopback
    except urllib.error.HTTPError as exc:
        xsrf = SimpleCookie(exc.headers["Set-Cookie"])["_xsrf"].value
    request = urllib.request.Request(  # noqa: S310 - loopback
        url + "api/auth/login", method="POST",
        data=json.dumps({"email": email, "password": "wrong-pass-1"}).encode(),
        headers={"Content-Type": "application/json", "X-XSRFToken": xsrf,
                 "Cookie": f"_xsrf={xsrf}"},
    )  # fmt: skip
    try:
        urllib.request.urlopen(request, timeout=WAIT)  # noqa: S310
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def test_serve_sends_a_lockout_to_its_webhook_and_to_syslog(
    tmp_path: Path, served: list[Served]
) -> None:
    create_tenant(tmp_path)
    with (
        webhook_receiver() as (base, received),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as log,
    ):
        url = base + "/alerts"
        log.bind(("127.0.0.1", 0))
        log.settimeout(WAIT)
        server = start_serve(tmp_path, "--alert-webhook", url, "--syslog",
                             f"udp://127.0.0.1:{log.getsockname()[1]}")  # fmt: skip
        served.append(server)
        for _ in range(MAX_FAILURES):
            assert sign_in_fails(server.url, "boss@acme.test") == 401

        posted = received.get(timeout=WAIT)
        headers, body = posted.headers, posted.body
        assert (posted.path, json.loads(body)["kind"]) == ("/alerts", "auth.locked")
        secret = (tmp_path / SECRET_FILE).read_text().strip()
        assert (tmp_path / SECRET_FILE).stat().st_mode & 0o077 == 0
        signature = headers[alert_rules.SIGNATURE_HEADER]
        assert alert_rules.verify(signature, body, secret, time.time())

        messages: list[bytes] = []
        while not any(b" auth.locked [" in m for m in messages):
            messages.append(log.recv(65535))
        assert b"boss@acme.test" not in b"".join(messages)
    output = server.stop()
    assert secret not in output and url not in output
