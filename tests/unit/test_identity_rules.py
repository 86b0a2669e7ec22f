import pytest

from livelens.errors import Forbidden, InvalidInput
from livelens.identity import emails, lockout
from livelens.identity.roles import Permission, can, parse_role, require
from livelens.store.records import LoginTicket


def tickets(round_: int, *numbers_at: tuple[int, float]) -> list[LoginTicket]:
    return [LoginTicket("k", round_, n, at) for n, at in numbers_at]


def test_a_fresh_address_has_every_ticket_free() -> None:
    state = lockout.round_state([])
    assert (state.round, state.free) == (0, (1, 2, 3, 4, 5))
    assert state.seconds_locked(0.0) == 0
    assert not state.is_over(0.0)


def test_taken_tickets_are_not_free_and_the_opening_is_no_ticket() -> None:
    state = lockout.round_state(tickets(3, (0, 10.0), (1, 11.0), (3, 12.0)))
    assert (state.round, state.free) == (3, (2, 4, 5))
    assert state.seconds_locked(12.0) == 0


def test_the_last_ticket_locks_for_five_minutes_from_when_it_was_taken() -> None:
    # Taken out of order: the lock runs from the latest.
    state = lockout.round_state(tickets(0, (1, 100.0), (2, 101.0), (5, 104.0), (3, 102.0),
                                        (4, 700.0)))  # fmt: skip
    assert state.free == ()
    assert state.seconds_locked(700.0) == 300
    assert state.seconds_locked(999.5) == 1
    assert not state.is_over(999.5)
    assert state.seconds_locked(1000.0) == 0
    assert state.is_over(1000.0)


def test_only_the_newest_round_counts() -> None:
    old = tickets(0, *[(n, 1.0) for n in range(1, 6)])
    state = lockout.round_state([*old, *tickets(1, (0, 2.0), (1, 3.0))])
    assert (state.round, state.free) == (1, (2, 3, 4, 5))


def test_guard_key_hides_the_address_and_depends_on_pepper() -> None:
    a = lockout.guard_key("ann@example.com", b"p1")
    assert "ann" not in a
    assert a != lockout.guard_key("ann@example.com", b"p2")


def test_email_normalised_and_validated() -> None:
    assert emails.validate("  Ann@Example.COM ") == "ann@example.com"
    for bad in ["", "ann", "ann@", "a b@example.com", "ann@example", "x" * 250 + "@e.com"]:
        with pytest.raises(InvalidInput):
            emails.validate(bad)


def test_agents_cannot_administer() -> None:
    assert can("admin", Permission.MANAGE_USERS)
    assert can("agent", Permission.RUN_SESSIONS)
    with pytest.raises(Forbidden):
        require("agent", Permission.MANAGE_USERS)
    with pytest.raises(InvalidInput):
        parse_role("root")
