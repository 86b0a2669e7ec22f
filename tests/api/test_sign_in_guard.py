"""The sign-in guard under attack: parallel guesses, password re-checks, spraying from
one address, floods against a locked address. Each test failed before the guard
reserved attempts ahead of checking them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from livelens.identity.lockout import MAX_FAILURES
from livelens.identity.passwords import Verification
from livelens.services import tasks
from tests.api.harness import PASSWORD, Client, Response, Server
from tests.api.test_totp import enrol

PARALLEL = 40


def count_password_checks(server: Server, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many Argon2 verifications ran, by outcome."""
    counts: Counter[str] = Counter()
    real = server.ctx.hashing.verify_async

    async def counting(stored: str | None, password: str) -> Verification:
        check = await real(stored, password)
        counts["ok" if check.ok else "wrong"] += 1
        return check

    monkeypatch.setattr(server.ctx.hashing, "verify_async", counting)
    return counts


async def in_parallel(make: Callable[[int], Awaitable[Response]]) -> Counter[int]:
    answers = await asyncio.gather(*(make(i) for i in range(PARALLEL)))
    return Counter(a.status for a in answers)


async def test_parallel_wrong_passwords_get_five_checks_between_them(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await server.tenant("Acme", "boss@acme.test")
    checks = count_password_checks(server, monkeypatch)
    clients = [server.client() for _ in range(PARALLEL)]
    for client in clients:
        await client.get("/api/me")  # the _xsrf cookie, ahead of the race
    statuses = await in_parallel(lambda i: clients[i].login("boss@acme.test", f"wrong-{i}-pw"))
    assert checks["wrong"] == MAX_FAILURES
    assert statuses[401] == MAX_FAILURES
    assert statuses[401] + statuses[423] == PARALLEL
    # ...and the right password is refused afterwards: the address is locked.
    after = await server.client().login("boss@acme.test")
    assert after.status == 423
    assert checks["ok"] == 0


async def test_parallel_wrong_codes_get_five_checks_between_them(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    owner = server.client()
    await owner.login("boss@acme.test")
    secret, _ = await enrol(server, owner)
    clients = [server.client() for _ in range(PARALLEL)]
    for client in clients:
        await client.get("/api/me")
    statuses = await in_parallel(
        lambda i: clients[i].login("boss@acme.test", otp=f"{(i * 7919) % 1_000_000:06d}")
    )
    assert statuses[401] <= MAX_FAILURES
    assert statuses[401] + statuses[423] == PARALLEL
    events = await server.ctx.store.scoped(tenant_id).list_audit_events(200)
    assert sum(e.action == "auth.otp_failed" for e in events) <= MAX_FAILURES
    right = await server.client().login("boss@acme.test", otp=server.totp_now(secret))
    assert right.status == 423


async def test_a_right_password_waiting_for_its_code_does_not_count(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    owner = server.client()
    await owner.login("boss@acme.test")
    secret, _ = await enrol(server, owner)
    for _ in range(MAX_FAILURES + 3):
        answer = await server.client().login("boss@acme.test")
        assert answer.body["error"] == "otp_required"
    for _ in range(MAX_FAILURES - 1):
        await server.client().login("boss@acme.test", "wrong-pass-1")
    server.clock.advance(30)  # a fresh code (each is single-use)
    answer = await server.client().login("boss@acme.test", otp=server.totp_now(secret))
    assert answer.status == 200


@pytest.mark.parametrize(
    ("path", "field", "extra"),
    [
        ("/api/auth/password", "current_password", {"new_password": "another-pass-7"}),
        ("/api/auth/totp/disable", "password", {}),
    ],
)
async def test_password_rechecks_count_towards_the_lockout(
    server: Server, path: str, field: str, extra: dict[str, Any]
) -> None:
    """A stolen session cookie cannot be used to guess the password."""
    await server.tenant("Acme", "boss@acme.test")
    thief = server.client()
    await thief.login("boss@acme.test")
    if path.endswith("disable"):
        await enrol(server, thief)
    for i in range(MAX_FAILURES):
        wrong = await thief.post(path, {field: f"guess-{i}-pw", **extra})
        assert wrong.status == 401
    locked = await thief.post(path, {field: PASSWORD, **extra})
    assert locked.status == 423
    assert locked.body["error"] == "account_locked"
    assert (await server.client().login("boss@acme.test")).status == 423


async def test_one_address_spraying_many_accounts_is_slowed_down(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    sprayer = server.client()
    statuses = Counter(
        [(await sprayer.login(f"user{i}@acme.test", "wrong-pass-1")).status for i in range(40)]
    )
    assert statuses[401] == 20
    assert statuses[429] == 20
    limited = await sprayer.login("user99@acme.test", "wrong-pass-1")
    assert limited.body["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # Even the right password waits: the budget is the address's, not the account's.
    assert (await sprayer.login("boss@acme.test")).status == 429
    server.clock.advance(int(limited.headers["Retry-After"]))
    assert (await sprayer.login("boss@acme.test")).status == 200


async def test_successful_sign_ins_do_not_use_up_a_shared_address(server: Server) -> None:
    """An office behind one address signs in all morning."""
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    for i in range(30):
        await server.user(tenant_id, f"agent{i}@acme.test")
    for i in range(30):
        assert (await server.client().login(f"agent{i}@acme.test")).status == 200


async def test_a_flood_on_a_locked_address_writes_one_log_row_per_burst(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    for _ in range(MAX_FAILURES):
        await client.login("boss@acme.test", "wrong-pass-1")
    for _ in range(30):
        assert (await client.login("boss@acme.test", "wrong-pass-1")).status == 423
    await tasks.drain()
    scope = server.ctx.store.scoped(tenant_id)
    refused = [e for e in await scope.list_security_events(500)
               if e.kind == "auth.locked_attempt"]  # fmt: skip
    assert [e.details["attempts"] for e in refused] == [1]
    audited = [e for e in await scope.list_audit_events(500)
               if e.action == "auth.login_refused_locked"]  # fmt: skip
    assert len(audited) == 1
    server.clock.advance(60)
    await client.login("boss@acme.test", "wrong-pass-1")
    await tasks.drain()
    refused = [e for e in await scope.list_security_events(500)
               if e.kind == "auth.locked_attempt"]  # fmt: skip
    assert [e.details["attempts"] for e in refused] == [30, 1]  # newest first


async def test_a_locked_address_costs_the_same_work_known_or_not(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing cannot tell a locked known address from a locked unknown one: both
    answers make the same store calls (the log row is written off the answer's path)."""
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    for address in ("boss@acme.test", "ghost@acme.test"):
        for _ in range(MAX_FAILURES + 1):  # the lock, then the burst's first row
            await client.login(address, "wrong-pass-1")
    await tasks.drain()

    calls: list[str] = []
    store = server.ctx.store
    for name in dir(type(store)):
        method = getattr(store, name)
        if not name.startswith("_") and asyncio.iscoroutinefunction(method):
            monkeypatch.setattr(store, name, recording(calls, name, method))

    async def locked_attempt(address: str) -> list[str]:
        calls.clear()
        answer = await client.login(address, "wrong-pass-1")
        assert answer.status == 423
        await tasks.drain()
        return list(calls)

    assert await locked_attempt("boss@acme.test") == await locked_attempt("ghost@acme.test")
    assert calls == ["login_tickets"]


def recording(
    calls: list[str], name: str, method: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return await method(*args, **kwargs)

    return wrapper


async def test_parallel_sign_ins_with_the_right_password_all_get_in(server: Server) -> None:
    """The reservation must not refuse a user who simply signs in from many tabs."""
    await server.tenant("Acme", "boss@acme.test")
    clients: list[Client] = [server.client() for _ in range(MAX_FAILURES * 2)]
    for client in clients:
        await client.get("/api/me")
    answers = await asyncio.gather(*(c.login("boss@acme.test") for c in clients))
    assert Counter(a.status for a in answers)[200] >= MAX_FAILURES
