import pytest

from livelens.errors import Forbidden, InvalidInput
from livelens.identity import emails, lockout
from livelens.identity.roles import Permission, can, parse_role, require
from livelens.store.records import LoginGuard


def test_lockout_wait_counts_down_and_ends() -> None:
    guard = LoginGuard("k", 0, locked_until=1000.0)
    assert lockout.seconds_locked(guard, 700.0) == 300
    assert lockout.seconds_locked(guard, 999.5) == 1
    assert lockout.seconds_locked(guard, 1000.0) == 0
    assert lockout.seconds_locked(None, 0.0) == 0


def test_lock_after_five_failures() -> None:
    assert not lockout.should_lock(LoginGuard("k", 4, 0))
    assert lockout.should_lock(LoginGuard("k", 5, 0))


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
