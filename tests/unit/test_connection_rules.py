"""The counting rules of HTTP connections, without sockets."""

from __future__ import annotations

import logging

import pytest

from livelens import clock
from livelens.clock import ManualClock
from livelens.http.connection_table import Admission, ConnectionTable, Decision, Notices
from livelens.http.connections import max_connections_for


def test_a_client_at_its_cap_loses_its_oldest_idle_connection_or_is_refused() -> None:
    table = ConnectionTable(max_connections=100, per_client=3)
    a1, a2, a3 = (table.open("10.0.0.1") for _ in range(3))
    table.open("10.0.0.2")
    assert table.count("10.0.0.1") == 3
    # All three idle: the oldest idle one makes room.
    assert table.admit("10.0.0.1") == Decision(Admission.SHED, a1, "per_client")
    assert table.admit("10.0.0.2") == Decision(Admission.ADMIT)
    # Idle order is when a connection last started waiting, not when it opened.
    table.waiting(a1)
    table.busy(a1)
    table.waiting(a1)
    assert table.admit("10.0.0.1").victim == a2
    # Busy connections are never shed: with all three busy, the newcomer is refused.
    for key in (a1, a2, a3):
        table.busy(key)
    assert table.admit("10.0.0.1") == Decision(Admission.REFUSE, reason="per_client")
    table.close(a2)
    assert table.admit("10.0.0.1") == Decision(Admission.ADMIT)


def test_past_the_total_the_oldest_idle_anywhere_is_shed_and_all_busy_means_wait() -> None:
    table = ConnectionTable(max_connections=3, per_client=0)  # 0: no cap per client
    first, second, third = table.open("a"), table.open("b"), table.open("c")
    assert table.full()
    table.busy(first)
    assert table.admit("d") == Decision(Admission.SHED, second, "full")
    assert table.idle() == [second, third]
    table.busy(second)
    table.busy(third)
    assert not table.can_accept()  # nothing to shed: stop accepting
    assert table.admit("d") == Decision(Admission.REFUSE, reason="full")
    table.close(third)
    assert table.can_accept()
    assert len(table) == 2
    assert table.admit("d") == Decision(Admission.ADMIT)


def test_waiting_tells_the_first_request_from_the_next() -> None:
    table = ConnectionTable(max_connections=10, per_client=10)
    key = table.open("a")
    assert key in table
    assert table.waiting(key) is True
    table.busy(key)
    assert table.idle() == []
    assert table.waiting(key) is False
    assert table.idle() == [key]
    table.close(key)
    table.close(key)  # twice is harmless
    assert key not in table
    assert table.waiting(key) is False
    assert table.count("a") == 0


def test_descriptors_kept_in_reserve() -> None:
    assert max_connections_for(1024, 256) == 768
    assert max_connections_for(65536, 256) == 65280
    assert max_connections_for(128, 256) == 64  # at least half go to connections


def test_notices_are_logged_once_per_interval_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manual = ManualClock()
    previous = clock.install(manual)
    try:
        notices = Notices(interval=60)
        with caplog.at_level(logging.WARNING, logger="livelens.http"):
            for _ in range(1000):
                notices("full", "too many connections")
            manual.advance(61)
            notices("full", "too many connections")
            notices("per_client", "one address has too many")
    finally:
        clock.install(previous)
    assert [r.getMessage() for r in caplog.records] == [
        "too many connections",
        "too many connections (1000 times in the last 61 s)",
        "one address has too many",
    ]
