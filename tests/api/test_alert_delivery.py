"""Security alerts reach the webhooks: a real receiver on 127.0.0.1 gets them signed, a
failed delivery is retried when its time comes (the clock is moved, nobody sleeps), a
full queue drops and counts, and a hook that resolves into the private network is not
called."""

from __future__ import annotations

import dataclasses

import pytest

from livelens.services import alert_rules, security, tasks
from livelens.services.alert_delivery import AlertDelivery, PublicOnlyResolver, TargetRefused
from livelens.store.records import SecurityEvent, new_id
from tests.api.alerting import (
    INSTANCE_SECRET,
    Received,
    alerting,
    lock_out,
    receiving,
    set_hook,
)
from tests.api.governance import account, signed_in
from tests.api.harness import Server
from tests.api.signalling import live_session


def signed_by(received: Received, secret: str, now: float) -> bool:
    header = received.headers[alert_rules.SIGNATURE_HEADER]
    return alert_rules.verify(header, received.body, secret, now)


async def test_a_lockout_reaches_the_accounts_hook_and_the_instances_signed(
    server: Server,
) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        tenant_id, admin = await account(server)
        hook = await set_hook(admin, receiver.url("/acme"))
        await lock_out(server, "ann@acme.test")
        await alerts.pump()

        [got] = receiver.at("/acme")
        alert = got.alert
        assert (alert["kind"], alert["account"], alert["ip"]) == ("auth.locked", tenant_id,
                                                                  "127.0.0.1")  # fmt: skip
        assert alert["test"] is False
        assert b"ann@acme.test" not in got.body  # the log never holds addresses
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers[alert_rules.EVENT_HEADER] == "auth.locked"
        assert signed_by(got, hook["secret"], server.clock.now())
        assert not signed_by(got, INSTANCE_SECRET, server.clock.now())
        # A receiver refuses a signature made too long ago (a replay).
        assert not signed_by(got, hook["secret"], server.clock.now() + 301)
        [instance] = receiver.at("/instance")
        assert instance.body == got.body
        assert signed_by(instance, INSTANCE_SECRET, server.clock.now())

        status = (await admin.get("/api/account/alert-hook")).body
        assert (status["delivered"], status["failed"], status["dropped"]) == (1, 0, 0)
        assert status["last_success_at"] == server.clock.now()
        assert alerts.instance_status.delivered == 1


async def test_a_failed_delivery_is_retried_when_its_time_comes(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        _, admin = await account(server)
        hook = await set_hook(admin, receiver.url("/acme"))
        receiver.answers["/acme"] = [500]
        await lock_out(server, "ann@acme.test")
        await alerts.pump()
        assert len(receiver.at("/acme")) == 1
        status = (await admin.get("/api/account/alert-hook")).body
        assert (status["delivered"], status["failed"]) == (0, 1)
        assert status["last_error"] == "HTTP 500 Internal Server Error"
        assert status["last_error_at"] == server.clock.now()

        server.clock.advance(alert_rules.FIRST_RETRY - 1)  # not yet due
        await alerts.pump()
        assert len(receiver.at("/acme")) == 1
        server.clock.advance(1)
        await alerts.pump()
        first, second = receiver.at("/acme")
        assert second.body == first.body
        delivery = alert_rules.DELIVERY_HEADER
        assert second.headers[delivery] == first.headers[delivery]
        assert signed_by(second, hook["secret"], server.clock.now())  # signed anew
        status = (await admin.get("/api/account/alert-hook")).body
        assert (status["delivered"], status["failed"], status["abandoned"]) == (1, 1, 0)
        assert status["last_success_at"] == server.clock.now()


async def test_an_alert_is_given_up_after_its_last_try(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        _, admin = await account(server)
        await set_hook(admin, receiver.url("/acme"))
        receiver.answers["/acme"] = [503] * alert_rules.MAX_TRIES
        await lock_out(server, "ann@acme.test")
        await alerts.pump()
        for wait in alert_rules.schedule([1.0] * (alert_rules.MAX_TRIES - 1)):
            server.clock.advance(wait)
            await alerts.pump()
        server.clock.advance(3600)
        await alerts.pump()
        assert len(receiver.at("/acme")) == alert_rules.MAX_TRIES
        assert alerts.queued == 0
        status = (await admin.get("/api/account/alert-hook")).body
        assert (status["delivered"], status["failed"], status["abandoned"]) == (
            0, alert_rules.MAX_TRIES, 1)  # fmt: skip
        assert status["last_error"] == "HTTP 503 Service Unavailable"


def locked(tenant_id: str, n: int) -> SecurityEvent:
    return SecurityEvent(id=new_id(), at=1.0, kind="auth.locked", ip="192.0.2.7",
                         tenant_id=tenant_id, details={"n": n})  # fmt: skip


async def test_a_full_queue_drops_the_oldest_and_counts_without_waiting(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver, per_target=3) as alerts:
        tenant_id, admin = await account(server)
        await set_hook(admin, receiver.url("/acme"))
        # Ten alerts at once: submitting is synchronous (no await, nothing sent yet),
        # and the queue keeps three per hook.
        for n in range(10):
            alerts.submit(locked(tenant_id, n))
        assert receiver.received == []
        assert alerts.queued == 6  # three for the account's hook, three for the instance's
        await alerts.pump()
        assert [r.alert["details"]["n"] for r in receiver.at("/acme")] == [7, 8, 9]
        status = (await admin.get("/api/account/alert-hook")).body
        assert (status["delivered"], status["dropped"]) == (3, 7)
        assert alerts.instance_status.dropped == 7


async def test_only_alerts_go_to_the_hooks(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        tenant_id, admin = await account(server)
        await set_hook(admin, receiver.url("/acme"))
        await security.record(server.ctx, "join.bad_token", "192.0.2.7")  # the log only
        await security.record(server.ctx, "signalling.malformed", "192.0.2.7", tenant_id)
        await security.record(server.ctx, "media.srtp_auth_failed", "192.0.2.7", tenant_id,
                              count=10)  # fmt: skip
        await alerts.pump()
        assert [r.alert["kind"] for r in receiver.at("/acme")] == ["media.srtp_auth_failed"]
        assert [r.alert["kind"] for r in receiver.at("/instance")] == ["media.srtp_auth_failed"]


async def test_a_flood_of_malformed_messages_is_one_alert(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        async with live_session(server) as live:
            boss = await signed_in(server, "boss@acme.test")
            await set_hook(boss, receiver.url("/acme"))
            for _ in range(15):
                live.customer_ws.send_raw("nonsense")
            assert await live.customer_ws.closed() == 1008
            await tasks.drain()
            await alerts.pump()
        [flood] = [r.alert for r in receiver.at("/acme")]
        assert (flood["kind"], flood["account"]) == ("signalling.flood", live.tenant_id)
        assert flood["details"] == {"role": "customer", "bad_messages": 11}


async def test_pin_guessing_reaches_the_instances_hook_only(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        _, admin = await account(server)
        await set_hook(admin, receiver.url("/acme"))
        customer = server.client()
        answers = [(await customer.post("/api/join", {"pin": "123456"})).status
                   for _ in range(6)]  # fmt: skip
        assert answers[-1] == 429
        await alerts.pump()
        assert [r.alert["kind"] for r in receiver.at("/instance")] == ["ratelimit.pin"]
        assert receiver.at("/instance")[0].alert["account"] is None  # a PIN names no account
        assert receiver.at("/acme") == []


async def test_an_accounts_alerts_go_to_its_own_hook_only(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        acme_id, acme = await account(server, name="Acme")
        globex_id, globex = await account(server, name="Globex")
        await set_hook(acme, receiver.url("/acme"))
        await set_hook(globex, receiver.url("/globex"))
        await lock_out(server, "ann@globex.test")
        await alerts.pump()
        assert receiver.at("/acme") == []
        assert [r.alert["account"] for r in receiver.at("/globex")] == [globex_id]
        assert (await acme.get("/api/account/alert-hook")).body["delivered"] == 0
        assert acme_id != globex_id


async def test_a_removed_hook_gets_nothing_more(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver) as alerts:
        _, admin = await account(server)
        await set_hook(admin, receiver.url("/acme"))
        assert (await admin.delete("/api/account/alert-hook")).status == 204
        await lock_out(server, "ann@acme.test")
        await alerts.pump()
        assert receiver.at("/acme") == []
        assert len(receiver.at("/instance")) == 1


async def test_a_hook_is_called_at_public_addresses_only(server: Server) -> None:
    # As if a public name had been set and now resolved to loopback (DNS rebinding): the
    # request is refused before any connection, and the administrator sees why.
    async with receiving() as receiver, alerting(server, receiver, private=False) as alerts:
        tenant_id, admin = await account(server)
        assert (await admin.request("PUT", "/api/account/alert-hook",
                                    {"url": receiver.url("/acme")})).status == 400  # fmt: skip
        await set_hook(admin, "https://alerts.example.com/acme")
        scope = server.ctx.store.scoped(tenant_id)
        stored = await scope.get_alert_hook()
        assert stored is not None
        await scope.put_alert_hook(dataclasses.replace(stored, url=receiver.url("/acme")))
        await lock_out(server, "ann@acme.test")
        await alerts.pump()
        assert receiver.at("/acme") == []
        status = (await admin.get("/api/account/alert-hook")).body
        assert status["failed"] == 1
        assert "no public address" in status["last_error"]
        assert len(receiver.at("/instance")) == 1  # the operator's own hook is not limited


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "10.1.2.3", "169.254.169.254"])
async def test_the_resolver_refuses_private_addresses(host: str) -> None:
    with pytest.raises(TargetRefused):
        await PublicOnlyResolver().resolve(host, 443)


async def test_the_resolver_keeps_public_addresses() -> None:
    assert await PublicOnlyResolver().resolve("192.0.43.8", 443) != []


async def test_without_an_instance_hook_only_accounts_hooks_are_queued(server: Server) -> None:
    tenant_id, _ = await account(server)
    alerts = AlertDelivery(server.ctx)
    try:
        alerts.submit(locked(tenant_id, 1))
        alerts.submit(dataclasses.replace(locked(tenant_id, 2), tenant_id=None))
        assert alerts.queued == 1
    finally:
        await alerts.close()
