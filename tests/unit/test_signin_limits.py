"""Budgets for sign-in attempts and the burst log, driven by a given clock."""

import pytest

from livelens.errors import InvalidInput
from livelens.identity import display_names
from livelens.signalling.ratelimit import BurstLog, SignInLimits


def test_one_address_gets_twenty_tries_then_waits_and_successes_give_back() -> None:
    limits = SignInLimits()
    assert all(limits.take("192.0.2.1", 0.0) == 0 for _ in range(20))
    wait = limits.take("192.0.2.1", 0.0)
    assert wait == 30  # one try every 30 s once the burst is spent
    assert limits.take("192.0.2.2", 0.0) == 0  # another address is not affected
    limits.give_back("192.0.2.1")
    assert limits.take("192.0.2.1", 0.0) == 0
    assert limits.take("192.0.2.1", 30.0) == 0


def test_the_instance_budget_spans_addresses_and_a_refusal_costs_the_address_nothing() -> None:
    limits = SignInLimits()
    taken = [limits.take(f"10.0.{i // 250}.{i % 250}", 0.0) for i in range(200)]
    assert taken == [0] * 200
    assert limits.take("10.9.9.9", 0.0) == 1  # 20 a second refill
    assert limits.take("10.9.9.9", 1.0) == 0
    for _ in range(19):
        limits.take("10.9.9.9", 1.0)
    assert limits.take("10.9.9.9", 1.0) > 0


def test_burst_log_writes_the_first_then_one_row_per_interval() -> None:
    log = BurstLog(interval=60)
    assert log.hit("k", 0.0) == 1
    assert [log.hit("k", t) for t in (1.0, 2.0, 59.0)] == [None, None, None]
    assert log.hit("other", 5.0) == 1
    assert log.hit("k", 60.0) == 4  # three counted quietly, and this one
    assert log.hit("k", 61.0) is None


def test_burst_log_memory_is_bounded() -> None:
    log = BurstLog(interval=60, max_keys=3)
    for i in range(10):
        assert log.hit(f"k{i}", float(i)) == 1
    assert len(log._pending) <= 3


def test_display_names_are_one_clean_line_or_come_from_the_address() -> None:
    assert display_names.validate("  Anna   de Vries ") == "Anna de Vries"
    assert display_names.from_address("anna.de-vries2@acme.test") == "Anna De Vries"
    assert display_names.from_address("42@acme.test") == ""
    for bad in ["", "   ", "x" * 81, "Anna\u0000", "Anna\u202e"]:
        with pytest.raises(InvalidInput):
            display_names.validate(bad)
