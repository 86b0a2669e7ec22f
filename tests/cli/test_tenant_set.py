"""``livelens tenant set``: the operator sets an account's seats and subscription end from
a shell; what it prints, what it refuses, what it audits, and what follows from it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from livelens.store import open_store
from livelens.store.records import AuditEvent
from tests.cli.test_cli import PASSWORD, assert_one_line_error, create_tenant, livelens


def audit_of(data_dir: Path, action: str) -> list[AuditEvent]:
    async def read() -> list[AuditEvent]:
        store = await open_store(f"sqlite:///{data_dir / 'livelens.db'}")
        try:
            tenant_id = await store.find_tenant_id_by_name("Acme")
            assert tenant_id is not None
            events = await store.scoped(tenant_id).list_audit_events()
            return [e for e in events if e.action == action]
        finally:
            await store.close()

    return asyncio.run(read())


def add_agent(data_dir: Path, email: str) -> subprocess.CompletedProcess[str]:
    return livelens(data_dir, "user", "create", "--tenant", "Acme", "--email", email,
                    "--role", "agent", "--password", PASSWORD)  # fmt: skip


def test_the_operator_sets_seats_and_the_subscription_end(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    done = livelens(tmp_path, "tenant", "set", "--name", "Acme", "--seats", "2",
                    "--subscription-ends", "2099-12-31")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Account 'Acme': 2 seats (1 in use), subscription until 2099-12-31 (UTC)."
    ]
    listed = livelens(tmp_path, "tenant", "list").stdout.splitlines()
    assert listed == ["Acme  region=eu  2fa-required=no  seats=2  subscription-ends=2099-12-31"]
    [event] = audit_of(tmp_path, "account.subscription_changed")
    assert (event.actor, event.target) == ("cli", "Acme")
    assert event.details == {"seats": "none → 2", "subscription_ends": "none → 2099-12-31"}

    # The seats hold for the shell as for the console.
    assert add_agent(tmp_path, "ann@acme.test").returncode == 0
    assert_one_line_error(add_agent(tmp_path, "bob@acme.test"), "All 2 seats")

    # One value at a time; the other stays.
    done = livelens(tmp_path, "tenant", "set", "--name", "Acme", "--seats", "unlimited")
    assert "no seat limit (2 in use), subscription until 2099-12-31" in done.stdout
    assert add_agent(tmp_path, "bob@acme.test").returncode == 0
    done = livelens(tmp_path, "tenant", "set", "--name", "Acme", "--subscription-ends", "none")
    assert "no seat limit (3 in use), no subscription end." in done.stdout
    assert livelens(tmp_path, "tenant", "list").stdout.splitlines() == [
        "Acme  region=eu  2fa-required=no"
    ]
    assert len(audit_of(tmp_path, "account.subscription_changed")) == 3


def test_the_operator_is_told_what_follows_from_lower_seats_or_an_end_passed(
    tmp_path: Path,
) -> None:
    create_tenant(tmp_path)
    add_agent(tmp_path, "ann@acme.test")
    done = livelens(tmp_path, "tenant", "set", "--name", "Acme", "--seats", "1",
                    "--subscription-ends", "2001-01-31")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Account 'Acme': 1 seats (2 in use), subscription until 2001-01-31 (UTC)."
    assert "nobody is disabled" in lines[1]
    assert "nobody can start a session" in lines[2]


BAD = [
    (["--seats", "0"], "from 1 to 100000, or 'unlimited'"),
    (["--seats", "many"], "from 1 to 100000"),
    (["--subscription-ends", "31-12-2099"], "YYYY-MM-DD, or 'none'"),
    (["--subscription-ends", "2099-02-30"], "YYYY-MM-DD"),
    ([], "Give --seats, --subscription-ends or both."),
]


def test_bad_values_and_unknown_accounts_are_one_line_and_change_nothing(
    tmp_path: Path,
) -> None:
    create_tenant(tmp_path)
    for args, says in BAD:
        assert_one_line_error(livelens(tmp_path, "tenant", "set", "--name", "Acme", *args), says)
    done = livelens(tmp_path, "tenant", "set", "--name", "Nope", "--seats", "3")
    assert_one_line_error(done, "No account named 'Nope'.")
    assert audit_of(tmp_path, "account.subscription_changed") == []
