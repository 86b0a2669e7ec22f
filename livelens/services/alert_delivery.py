"""Security alerts, delivered: every alert-worthy security event (alert_rules.is_alert)
is POSTed, signed, to the instance's webhook (``--alert-webhook``) and to its account's
webhook (services.alert_hooks), with retries.

Recording an event only queues it (:meth:`AlertDelivery.submit`, which never waits: no
I/O, a bounded queue that drops the oldest when full, see alert_queue). One worker task
per node sends what is due, a few at a time, each try bounded by timeouts, and waits
for the next retry or the next event. Time is read through :mod:`livelens.clock`, so a
test moves the clock and calls :meth:`AlertDelivery.pump` instead of sleeping.

What happened is counted: an account's counts (delivered, failed tries, alerts given
up, dropped; the last success and error) go into its hook's record, written once per
batch, and its administrators see them; the instance hook's are kept in memory and
logged (without the URL, whose path may hold a secret).

An account's hook is reached only at public addresses unless the operator allows
private ones (services.alert_targets): :class:`PublicOnlyResolver` checks every address
a host name resolves to at the moment of the request and connects only to those it
checked, so DNS cannot point the request into the operator's network afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from livelens import __version__, clock, private_files
from livelens.config import Settings
from livelens.errors import LiveLensError, NotFound
from livelens.services import alert_rules, alert_syslog, alert_targets
from livelens.services.alert_queue import AlertQueue, Entry
from livelens.services.context import Context
from livelens.store.records import AlertTally, SecurityEvent

log = logging.getLogger("livelens.alerts")

INSTANCE = ""  # the instance hook's target; an account's is its tenant id (never empty)
# The instance hook's secret, in the data directory; what an account's is sealed for.
SECRET_FILE = "alert-webhook.secret"  # noqa: S105  (a file name)
SECRET_PURPOSE = "alert-hook/secret"  # noqa: S105  (a label)
BATCH = 8  # tries in flight at once, per node
BATCH_EACH = 2  # of which for one hook
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0
MIN_WAIT = 0.05  # seconds; the worker never spins


class TargetRefused(Exception):
    """A host name of an account's hook resolved to no public address."""


class PublicOnlyResolver(Resolver):
    """Resolves as usual, then keeps the public addresses only (none: refused)."""

    def initialize(self) -> None:
        self._inner = DefaultLoopResolver()

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        found = await self._inner.resolve(host, port, family)
        public = [(af, address) for af, address in found if alert_targets.is_public(address[0])]
        if not public:
            raise TargetRefused("refused: the host has no public address")
        return public


@dataclass(frozen=True)
class Hook:
    """Where an alert goes and how it is signed."""

    url: str
    secret: str
    hook_id: str | None = None  # an account's hook; None: the instance's


@dataclass
class Alert:
    id: str  # the event's: the same on every try (LiveLens-Delivery)
    kind: str
    body: bytes
    failures: int = 0


@dataclass
class Status:
    """How deliveries to the instance's hook went, since this node started."""

    delivered: int = 0
    failed: int = 0
    abandoned: int = 0
    dropped: int = 0
    last_success_at: float | None = None
    last_error: str | None = None

    def add(self, tally: AlertTally) -> None:
        self.delivered += tally.delivered
        self.failed += tally.failed
        self.abandoned += tally.abandoned
        self.dropped += tally.dropped
        if tally.delivered:
            self.last_success_at = tally.at
        if tally.failed and tally.error:
            self.last_error = tally.error


def instance_hook(settings: Settings) -> Hook | None:
    """The instance's hook: ``--alert-webhook``, signed with LIVELENS_ALERT_WEBHOOK_SECRET
    or else the secret in the data directory's file (made on the first start)."""
    if not settings.alert_webhook:
        return None
    secret = settings.alert_webhook_secret
    if not secret:
        path = settings.data_dir / SECRET_FILE
        if not path.exists():
            private_files.make_dir(settings.data_dir)
            private_files.write_file(path, (alert_rules.new_secret() + "\n").encode())
        secret = path.read_text().strip()
    return Hook(settings.alert_webhook, secret)


def _describe(exc: Exception) -> str:
    """Why a try failed, in a few words (never the URL)."""
    if isinstance(exc, HTTPClientError):
        text = "timed out" if exc.code == 599 and "Timeout" in str(exc) else str(exc)
    elif isinstance(exc, ssl.SSLError):
        text = f"TLS: {exc.reason or exc}"
    elif isinstance(exc, OSError):
        text = exc.strerror or str(exc) or type(exc).__name__
    else:
        text = str(exc) or type(exc).__name__
    return alert_rules.short_error(text)


def _discard(_chunk: bytes) -> None:
    """A receiver's answer is not read: a large one costs nothing."""


class AlertDelivery:
    def __init__(
        self,
        ctx: Context,
        instance: Hook | None = None,
        *,
        allow_private: bool = False,
        capacity: int = 1000,
        per_target: int = 100,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.ctx, self.instance, self.allow_private = ctx, instance, allow_private
        self.instance_status = Status()
        self._queue: AlertQueue[Alert] = AlertQueue(capacity, per_target)
        self._jitter = jitter
        self._tallies: dict[tuple[str, str | None], AlertTally] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._clients: dict[bool, SimpleAsyncHTTPClient] = {}
        self._closed = False

    @classmethod
    def for_node(cls, ctx: Context) -> AlertDelivery:
        """As ``livelens serve`` runs it, from the node's settings."""
        settings = ctx.settings
        return cls(ctx, instance_hook(settings), allow_private=settings.alert_hooks_private)

    # queueing

    def submit(self, event: SecurityEvent) -> None:
        """Queue ``event`` for the instance's hook and its account's, if it is an alert.
        Returns at once: no I/O, nothing to wait for."""
        if self._closed or not alert_rules.is_alert(event.kind):
            return
        body = alert_rules.body(event)
        targets = [INSTANCE] if self.instance is not None else []
        targets += [event.tenant_id] if event.tenant_id else []
        for target in targets:
            dropped = self._queue.push(target, Alert(event.id, event.kind, body), clock.now())
            if dropped is not None:
                self._count(dropped.target, None, AlertTally(clock.now(), dropped=1))
        if targets:
            self._start()
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._closed:
            self._wake.clear()
            try:
                await self.pump()
            except Exception:  # the worker must outlive any failure
                log.exception("Sending security alerts failed.")
            due = self._queue.next_due()
            timeout = None if due is None else max(due - clock.now(), MIN_WAIT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    # sending

    async def pump(self) -> None:
        """Try every alert due now, wait for the tries, and write what happened."""
        async with self._lock:
            while batch := self._queue.take_due(clock.now(), BATCH, BATCH_EACH):
                hooks = await self._hooks_for(batch)
                await asyncio.gather(*(self._try(entry, hooks) for entry in batch))
                await self._write_tallies()
            await self._write_tallies()  # drops since the last batch

    async def _hooks_for(self, batch: list[Entry[Alert]]) -> dict[str, Hook | None]:
        hooks: dict[str, Hook | None] = {}
        for target in dict.fromkeys(entry.target for entry in batch):
            try:
                hooks[target] = self.instance if target == INSTANCE else await self._hook(target)
            except Exception as exc:  # the store or the account's key: try again later
                log.warning("Could not load an account's alert hook: %s", _describe(exc))
        return hooks

    async def _hook(self, tenant_id: str) -> Hook | None:
        stored = await self.ctx.store.scoped(tenant_id).get_alert_hook()
        if stored is None:
            return None
        cipher = await self.ctx.cipher_of(tenant_id)
        secret = cipher.open(stored.secret, SECRET_PURPOSE).decode()
        return Hook(stored.url, secret, stored.hook_id)

    async def _try(self, entry: Entry[Alert], hooks: dict[str, Hook | None]) -> None:
        alert = entry.item
        if entry.target not in hooks:
            self._queue.retry(entry, clock.now() + alert_rules.FIRST_RETRY)
            return
        hook = hooks[entry.target]
        if hook is None:  # the account has no hook (any more)
            self._queue.done(entry)
            return
        try:
            error = await self.post(hook, alert)
        except BaseException:
            self._queue.retry(entry, clock.now() + alert_rules.FIRST_RETRY)
            raise
        now = clock.now()
        if error is None:
            self._queue.done(entry)
            self._count(entry.target, hook.hook_id, AlertTally(now, delivered=1))
            return
        alert.failures += 1
        gave_up = alert.failures >= alert_rules.MAX_TRIES
        if gave_up:
            self._queue.done(entry)
        else:
            self._queue.retry(entry, now + alert_rules.retry_delay(alert.failures, self._jitter()))
        tally = AlertTally(now, failed=1, abandoned=int(gave_up), error=error)
        self._count(entry.target, hook.hook_id, tally)
        if entry.target == INSTANCE:
            log.warning("Security alert %s to the instance's webhook (%s): try %d of %d failed "
                        "(%s)%s", alert.kind, alert_targets.shown_host(hook.url), alert.failures,
                        alert_rules.MAX_TRIES, error, "; given up" if gave_up else "")  # fmt: skip

    async def post(self, hook: Hook, alert: Alert) -> str | None:
        """One try: None when the receiver took it (2xx), else why it failed."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"LiveLens/{__version__} (security alerts)",
            alert_rules.SIGNATURE_HEADER: alert_rules.sign(hook.secret, int(clock.now()),
                                                           alert.body),
            alert_rules.DELIVERY_HEADER: alert.id,
            alert_rules.EVENT_HEADER: alert.kind,
        }  # fmt: skip
        request = HTTPRequest(
            hook.url, method="POST", body=alert.body, headers=headers,
            connect_timeout=CONNECT_TIMEOUT, request_timeout=REQUEST_TIMEOUT,
            follow_redirects=False, streaming_callback=_discard,
        )  # fmt: skip
        guarded = hook.hook_id is not None and not self.allow_private
        try:
            response = await self._client(guarded).fetch(request, raise_error=False)
        except Exception as exc:
            return _describe(exc)
        if 200 <= response.code < 300:
            return None
        return alert_rules.short_error(f"HTTP {response.code} {response.reason or ''}")

    def _client(self, guarded: bool) -> SimpleAsyncHTTPClient:
        client = self._clients.get(guarded)
        if client is None:
            resolver = PublicOnlyResolver() if guarded else None
            client = SimpleAsyncHTTPClient(force_instance=True, max_clients=BATCH,
                                           resolver=resolver)  # fmt: skip
            self._clients[guarded] = client
        return client

    async def send_test(self, tenant_id: str, event: SecurityEvent) -> str | None:
        """Send ``event`` to the account's hook once, now, and count it; why it failed,
        or None. NotFound if the account has no hook."""
        hook = await self._hook(tenant_id)
        if hook is None or hook.hook_id is None:
            raise NotFound("This account has no alert webhook; set one first.")
        alert = Alert(event.id, event.kind, alert_rules.body(event, test=True))
        error = await self.post(hook, alert)
        failed = error is not None
        tally = AlertTally(clock.now(), delivered=int(not failed), failed=int(failed), error=error)
        await self.ctx.store.scoped(tenant_id).count_alert_deliveries(hook.hook_id, tally)
        return error

    # counting

    def _count(self, target: str, hook_id: str | None, tally: AlertTally) -> None:
        key = (target, hook_id)
        self._tallies[key] = alert_rules.merge(self._tallies.get(key), tally)

    async def _write_tallies(self) -> None:
        """Write the counts, one hook at a time (see TenantStore.count_alert_deliveries);
        drops counted before a hook was looked up go to the account's current hook."""
        tallies, self._tallies = self._tallies, {}
        for (target, hook_id), tally in tallies.items():
            if target == INSTANCE:
                self.instance_status.add(tally)
                continue
            scope = self.ctx.store.scoped(target)
            try:
                if hook_id is None:
                    stored = await scope.get_alert_hook()
                    if stored is None:
                        continue
                    hook_id = stored.hook_id
                await scope.count_alert_deliveries(hook_id, tally)
            except Exception as exc:
                log.warning("Could not count alert deliveries: %s", _describe(exc))

    async def close(self) -> None:
        """Stop the worker (alerts still queued are not sent) and write the counts."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        async with self._lock:
            await self._write_tallies()
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def start(ctx: Context) -> Callable[[], Awaitable[None]]:
    """Alerts as ``livelens serve`` sends them, from the node's settings: to the webhooks
    (``ctx.alerts``) and to syslog; returns what stops both."""
    target = ctx.settings.syslog
    try:
        sink = alert_syslog.install(target)
    except OSError as exc:
        raise LiveLensError(f"Cannot send to syslog at {target}: {exc.strerror or exc}. Check "
                            "--syslog (LIVELENS_SYSLOG).") from exc  # fmt: skip
    delivery = ctx.alerts = AlertDelivery.for_node(ctx)
    if delivery.instance is not None:
        log.info("Security alerts go to the webhook at %s, signed (%s).",
                 alert_targets.shown_host(delivery.instance.url),
                 "LIVELENS_ALERT_WEBHOOK_SECRET" if ctx.settings.alert_webhook_secret
                 else f"secret in {ctx.settings.data_dir / SECRET_FILE}")  # fmt: skip
    if sink is not None:
        log.info("Security events go to syslog (%s).", sink.target.transport)

    async def stop() -> None:
        ctx.alerts = None
        await delivery.close()
        if sink is not None:
            sink.stop()

    return stop
