"""The rules of security alerts, without I/O: which events are alerts, the signature a
receiver checks, the retry schedule, the bounded queue, the URLs a hook may have, and
the syslog message."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest

from livelens.errors import InvalidInput
from livelens.services import alert_rules, alert_syslog, alert_targets
from livelens.services.alert_queue import AlertQueue
from livelens.store.records import AlertTally, SecurityEvent

EVENT = SecurityEvent(id="e1", at=1_800_000_000.25, kind="auth.locked", ip="192.0.2.7",
                      tenant_id="t1", details={"attempts": 5})  # fmt: skip


# --- which events, and what is sent ---


@pytest.mark.parametrize(
    "kind",
    ["auth.locked", "auth.locked_attempt", "ratelimit.pin", "ratelimit.signin",
     "signalling.flood", "media.srtp_auth_failed", "media.stun_bad_integrity"],
)  # fmt: skip
def test_lockouts_pin_guessing_forged_media_and_floods_are_alerts(kind: str) -> None:
    assert alert_rules.is_alert(kind)


@pytest.mark.parametrize(
    "kind", ["join.bad_pin", "join.bad_token", "signalling.malformed", "auth.login_failed"]
)
def test_single_bad_tries_stay_in_the_log(kind: str) -> None:
    assert not alert_rules.is_alert(kind)


def test_the_body_is_the_event_as_json() -> None:
    assert json.loads(alert_rules.body(EVENT)) == {
        "type": "livelens.security_event", "id": "e1", "kind": "auth.locked",
        "at": "2027-01-15T08:00:00.250Z", "account": "t1", "ip": "192.0.2.7",
        "details": {"attempts": 5}, "test": False,
    }  # fmt: skip
    assert json.loads(alert_rules.body(EVENT, test=True))["test"] is True


# --- the signature ---

SECRET = "llwhsec_test"
PAYLOAD = b'{"kind":"auth.locked"}'


def test_the_signature_is_hmac_sha256_over_the_time_and_the_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1800000000." + PAYLOAD, hashlib.sha256).hexdigest()
    assert alert_rules.sign(SECRET, 1_800_000_000, PAYLOAD) == f"t=1800000000,v1={expected}"


def test_a_receiver_accepts_a_fresh_genuine_signature_only() -> None:
    header = alert_rules.sign(SECRET, 1_800_000_000, PAYLOAD)
    assert alert_rules.verify(header, PAYLOAD, SECRET, 1_800_000_100)
    assert not alert_rules.verify(header, PAYLOAD + b" ", SECRET, 1_800_000_100)  # altered
    assert not alert_rules.verify(header, PAYLOAD, SECRET + "x", 1_800_000_100)  # wrong key
    assert not alert_rules.verify(header, PAYLOAD, SECRET, 1_800_000_301)  # a replay
    forged_time = header.replace("t=1800000000", "t=1800000200")
    assert not alert_rules.verify(forged_time, PAYLOAD, SECRET, 1_800_000_200)
    for garbage in ["", "v1=abc", "t=x,v1=abc", "t=1800000000"]:
        assert not alert_rules.verify(garbage, PAYLOAD, SECRET, 1_800_000_000)


def test_secrets_are_new_each_time() -> None:
    first, second = alert_rules.new_secret(), alert_rules.new_secret()
    assert first != second
    assert first.startswith(alert_rules.SECRET_PREFIX) and len(first) > 40


# --- retries ---


def test_retries_back_off_exponentially_with_jitter_in_the_upper_half() -> None:
    assert alert_rules.MAX_TRIES == 5
    assert alert_rules.schedule([1.0] * 4) == [10.0, 40.0, 160.0, 640.0]
    assert alert_rules.schedule([0.0] * 4) == [5.0, 20.0, 80.0, 320.0]
    assert 10.0 < alert_rules.retry_delay(2, 0.25) < 40.0


def test_tallies_merge_counts_and_keep_the_latest_error() -> None:
    first = AlertTally(at=10, failed=1, error="HTTP 500")
    merged = alert_rules.merge(alert_rules.merge(None, first), AlertTally(at=12, delivered=1))
    assert merged == AlertTally(at=12, delivered=1, failed=1, error="HTTP 500")
    merged = alert_rules.merge(merged, AlertTally(at=11, failed=1, abandoned=1, error="timeout"))
    assert merged == AlertTally(at=12, delivered=1, failed=2, abandoned=1, error="timeout")


def test_errors_are_one_short_printable_line() -> None:
    assert alert_rules.short_error("a\nb\x00  c") == "a b c"
    assert len(alert_rules.short_error("x" * 500)) == 200


# --- the queue ---


def test_the_queue_keeps_at_most_per_target_dropping_that_targets_oldest() -> None:
    queue: AlertQueue[int] = AlertQueue(capacity=10, per_target=2)
    assert queue.push("a", 1, 0) is None
    assert queue.push("b", 1, 0) is None
    assert queue.push("a", 2, 0) is None
    dropped = queue.push("a", 3, 0)
    assert dropped is not None and (dropped.target, dropped.item) == ("a", 1)
    assert [(e.target, e.item) for e in queue.take_due(0, 10)] == [("b", 1), ("a", 2), ("a", 3)]


def test_a_full_queue_drops_its_oldest_waiting_entry() -> None:
    queue: AlertQueue[int] = AlertQueue(capacity=3, per_target=3)
    for n in range(3):
        queue.push(f"t{n}", n, 0)
    [sending] = queue.take_due(0, 1)  # t0's is being sent: it is never dropped
    dropped = queue.push("t3", 3, 0)
    assert dropped is not None and dropped.item == 1
    assert len(queue) == 3
    assert sending.item == 0


def test_when_everything_is_being_sent_the_new_entry_is_dropped() -> None:
    queue: AlertQueue[int] = AlertQueue(capacity=2, per_target=2)
    queue.push("a", 1, 0)
    queue.push("a", 2, 0)
    queue.take_due(0, 5)
    dropped = queue.push("a", 3, 0)
    assert dropped is not None and dropped.item == 3
    assert len(queue) == 2


def test_a_batch_takes_a_few_of_each_target_oldest_first() -> None:
    queue: AlertQueue[int] = AlertQueue()
    for n in range(4):
        queue.push("slow", n, 0)
    queue.push("other", 9, 0)
    assert [(e.target, e.item) for e in queue.take_due(0, 8, each=2)] == [
        ("slow", 0), ("slow", 1), ("other", 9)]  # fmt: skip
    assert [e.item for e in queue.take_due(0, 8, each=2)] == [2, 3]


def test_retries_wait_in_their_place_until_due() -> None:
    queue: AlertQueue[str] = AlertQueue()
    queue.push("a", "old", 0)
    [entry] = queue.take_due(0, 5)
    assert queue.take_due(0, 5) == []  # being sent: not taken twice
    queue.retry(entry, 10)
    queue.push("a", "new", 0)
    assert queue.next_due() == 0
    assert [e.item for e in queue.take_due(5, 5)] == ["new"]
    assert queue.next_due() == 10
    assert [e.item for e in queue.take_due(10, 5)] == ["old"]
    queue.done(entry)
    assert len(queue) == 1


# --- where hooks may point ---


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2001:4860:4860::8888", True), ("10.0.0.1", False),
     ("172.16.5.4", False), ("192.168.1.1", False), ("127.0.0.1", False), ("::1", False),
     ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
     ("224.0.0.1", False), ("fe80::1%eth0", False), ("fd00::1", False),
     ("::ffff:10.0.0.1", False), ("::ffff:8.8.8.8", True), ("64:ff9b::a00:1", False),
     ("2002:c0a8:0101::1", False), ("not an address", False)],
)  # fmt: skip
def test_public_addresses(address: str, public: bool) -> None:
    assert alert_targets.is_public(address) is public


def test_an_account_url_is_kept_whole() -> None:
    url = "https://siem.example.com:8443/hooks/x?key=1"
    assert alert_targets.check_account_url(url) == url
    for unlike in [f" {url}", url.replace("https", "HTTPS")]:  # as the API schema says
        with pytest.raises(InvalidInput):
            alert_targets.check_account_url(unlike)
    assert alert_targets.shown_host(url) == "siem.example.com"


def test_private_targets_only_when_the_operator_allows_them() -> None:
    with pytest.raises(InvalidInput):
        alert_targets.check_account_url("https://10.0.0.1/")
    assert alert_targets.check_account_url("https://10.0.0.1/", allow_private=True)
    assert alert_targets.check_account_url("http://localhost:8080/", allow_private=True)
    with pytest.raises(InvalidInput):
        alert_targets.check_account_url("http://10.0.0.1/", allow_private=True)


def test_the_instance_url_may_be_any_http_url() -> None:
    assert alert_targets.check_instance_url("http://10.0.0.5:8080/x") == "http://10.0.0.5:8080/x"
    with pytest.raises(InvalidInput):
        alert_targets.check_instance_url("file:///etc/passwd")


# --- syslog ---


@pytest.mark.parametrize(
    ("value", "transport", "address"),
    [("udp://logs.example.com", "udp", ("logs.example.com", 514)),
     ("udp://127.0.0.1:5514", "udp", ("127.0.0.1", 5514)),
     ("tcp://[::1]:6514", "tcp", ("::1", 6514)), ("tcp://logs", "tcp", ("logs", 601)),
     ("/dev/log", "unix", "/dev/log"), ("unix:///run/syslog", "unix", "/run/syslog")],
)  # fmt: skip
def test_syslog_targets(value: str, transport: str, address: tuple[str, int] | str) -> None:
    assert alert_syslog.parse_target(value) == alert_syslog.SyslogTarget(transport, address)


@pytest.mark.parametrize(
    "value",
    [
        "syslog.example.com",
        "http://x",
        "udp://",
        "udp://h:99999",
        "udp://h/path",
        "relative/path",
        "unix://relative",
    ],
)
def test_bad_syslog_targets_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="udp://host"):
        alert_syslog.parse_target(value)


def test_the_syslog_message_is_rfc_5424_with_the_event_as_structured_data() -> None:
    event = SecurityEvent(id="e2", at=1_800_000_000.0, kind="signalling.bad_origin",
                          ip="192.0.2.7", tenant_id=None,
                          details={"origin": 'https://evil"]\\\n', "bad key": 1})  # fmt: skip
    record = logging.LogRecord("livelens.security", logging.WARNING, __file__, 1,
                               "security event\n%s", ("x",), None)  # fmt: skip
    record.security_event = event
    line = alert_syslog.Rfc5424Formatter().format(record)
    assert line.startswith("1 2027-01-15T08:00:00.000Z ")
    assert line.endswith(
        ' signalling.bad_origin [livelens@32473 kind="signalling.bad_origin" ip="192.0.2.7"'
        ' origin="https://evil\\"\\]\\\\ "] security event x'
    )
    assert alert_syslog.Rfc5424Formatter(newline=True).format(record).endswith("x\n")
