"""The store contract every engine implements.

Tenant isolation is structural: anything that belongs to an account is reached
only through :meth:`Store.scoped`, which binds every query to one tenant id.
The root :class:`Store` holds the few instance-level operations that must work
before a tenant is known (sign-in by e-mail, CLI lookup of an account by name,
a customer joining a support session by link or PIN, a program presenting an API
key, the security log) and they return identifiers, never another account's content.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from livelens.store.encryption import WrappedKey
from livelens.store.records import (
    AlertHook,
    AlertTally,
    ApiKey,
    AuditEvent,
    AuthSession,
    Branding,
    ContentKind,
    DeletionRecord,
    ExportJob,
    Lease,
    LoginTicket,
    Outcome,
    Recording,
    SecurityEvent,
    SessionItem,
    SessionKey,
    SupportSession,
    Tenant,
    User,
)


@dataclass(frozen=True)
class SessionQuery:
    """Which of an account's support sessions to list: at most ``limit``; only those of
    ``agent_id`` when given (``with_experts``: and those the agent was invited into);
    only those created in ``[since, until)``; only those that ended with ``outcome``;
    only those whose reference contains ``reference`` (ASCII letters in either case,
    anything else as it is); newest first, or ``oldest_first``.

    Paging is by keyset: ``after`` is the ``(created_at, id)`` of the last session of
    the page before, and the listing goes on after it in its own order.
    """

    agent_id: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100
    with_experts: bool = False
    outcome: Outcome | None = None
    reference: str | None = None
    after: tuple[float, str] | None = None
    oldest_first: bool = False


ALL_SESSIONS = SessionQuery()


class TenantStore(Protocol):
    """Operations on one account's data; every query carries ``tenant_id``."""

    @property
    def tenant_id(self) -> str: ...

    async def get_tenant(self) -> Tenant | None: ...
    async def save_tenant(self, tenant: Tenant) -> None: ...

    # users
    async def create_user(self, user: User) -> None:
        """Raises DuplicateEmail if the address is in use anywhere on the instance."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...
    async def find_user_by_email(self, email: str) -> User | None: ...
    async def list_users(self) -> list[User]: ...
    async def save_user(self, user: User) -> None:
        """Replace a stored user; raises NotFound if it is not in this tenant."""
        ...

    async def claim_totp_step(self, user_id: str, step: int, at: float) -> bool:
        """Record ``step`` as the user's last accepted TOTP time step, atomically and only
        if it is newer than the stored one: of two sign-ins racing with one code, one
        wins. False if the step was already used (or the user is gone)."""
        ...

    async def consume_recovery_code(self, user_id: str, digest: str, at: float) -> bool:
        """Remove one stored recovery-code digest, atomically: true for exactly one of
        any number of concurrent uses of the same code."""
        ...

    async def delete_user(self, user_id: str) -> bool: ...
    async def note_sign_in(self, user_id: str, at: float) -> bool:
        """Set the user's ``last_sign_in_at`` to ``at``, that field alone (a sign-in
        never overwrites another change of the user). False if there is no such user."""
        ...

    # signed-in browsers
    async def create_auth_session(self, session: AuthSession) -> None: ...
    async def get_auth_session(self, session_id: str) -> AuthSession | None: ...
    async def delete_auth_session(self, session_id: str) -> bool: ...
    async def delete_user_auth_sessions(self, user_id: str) -> int: ...
    async def purge_expired_auth_sessions(self, now: float) -> int: ...

    # audit log
    async def add_audit_event(self, event: AuditEvent) -> None: ...
    async def list_audit_events(self, limit: int = 100) -> list[AuditEvent]:
        """Newest first."""
        ...

    # support sessions
    async def create_support_session(self, session: SupportSession) -> None:
        """Store the record as it is (``version`` 0, normally). Raises InvalidInput if it
        belongs to another tenant, Conflict if its id or join token hash is already in
        use (anywhere on the instance)."""
        ...

    async def get_support_session(self, session_id: str) -> SupportSession | None: ...
    async def save_support_session(self, session: SupportSession) -> SupportSession:
        """Replace the stored session by ``session`` if, and only if, the stored one is
        still at ``session.version`` (compare-and-set); it is stored at ``version + 1``,
        and that stored record is returned: save the next change from it, not from
        ``session``.

        Raises StaleRecord (a Conflict) if the stored version is another one (someone
        saved since ``session`` was read: read it again and redo the change), NotFound
        if the session is not in this tenant, Conflict if the new join token hash is
        another session's.

        Limit: the comparison and the write are one atomic step on SQLite and on a real
        MongoDB, but not on FerretDB 1.x, which runs a filtered update as a query
        followed by a write: there, two saves from the same version at the same moment
        may both succeed. A stale copy saved after another save is refused on every
        server; concurrent writers of one session must be avoided by the caller (every
        change of a live session goes through its room).
        """
        ...

    async def list_support_sessions(
        self, query: SessionQuery = ALL_SESSIONS
    ) -> list[SupportSession]:
        """The sessions ``query`` asks for, newest ``created_at`` first (ties by id,
        descending), or the other way round with ``oldest_first``."""
        ...

    def stream_support_sessions(
        self, query: SessionQuery, batch: int
    ) -> AsyncIterator[list[SupportSession]]:
        """Every session ``query`` matches, its ``limit`` aside, in its order, ``batch``
        at a time: for reports over a year of a busy account, never all in memory."""
        ...

    # session content (chat, snapshots, notes), sealed before it gets here
    async def put_session_item(self, item: SessionItem) -> None:
        """Insert, or replace the item with this id; raises InvalidInput if the record
        belongs to another tenant, Conflict if the id is another account's."""
        ...

    async def get_session_item(self, session_id: str, item_id: str) -> SessionItem | None: ...
    async def list_session_items(
        self, session_id: str, kind: ContentKind | None = None, limit: int = 1000
    ) -> list[SessionItem]:
        """Oldest first (in insertion order for equal times); ``limit`` keeps the newest."""
        ...

    # API keys (reports only), kept as keyed hashes
    async def create_api_key(self, key: ApiKey) -> None:
        """Raises InvalidInput if it belongs to another tenant, Conflict if its id or key
        hash is already in use (anywhere on the instance)."""
        ...

    async def get_api_key(self, key_id: str) -> ApiKey | None: ...
    async def list_api_keys(self) -> list[ApiKey]:
        """Oldest first (ties by id)."""
        ...

    async def delete_api_key(self, key_id: str) -> bool: ...

    # security log (written at instance level, see Store.add_security_event)
    async def list_security_events(self, limit: int = 100) -> list[SecurityEvent]:
        """This tenant's security events, newest first; events without a tenant id
        belong to no account and are never listed here."""
        ...

    # exports of the account's or a session's content (services.export)
    async def create_export_job(self, job: ExportJob) -> None:
        """Raises InvalidInput if it belongs to another tenant, Conflict if its id is
        already in use (anywhere on the instance)."""
        ...

    async def get_export_job(self, job_id: str) -> ExportJob | None: ...
    async def save_export_job(self, job: ExportJob) -> None:
        """Replace the stored job; raises NotFound if it is not in this tenant."""
        ...

    async def list_export_jobs(self, requested_by: str | None = None) -> list[ExportJob]:
        """This tenant's export jobs (only those ``requested_by`` that user, when given),
        newest first (ties by id, descending)."""
        ...

    async def delete_export_job(self, job_id: str) -> bool: ...

    # deletion and retention (services.deletion, services.retention)
    async def create_session_key(self, key: SessionKey) -> None:
        """Raises InvalidInput if it belongs to another tenant, Conflict if the session
        already has a key (or the id is another account's)."""
        ...

    async def get_session_key(self, session_id: str) -> SessionKey | None: ...
    async def delete_session_key(self, session_id: str) -> bool:
        """Crypto-shred a session: what was sealed with its key no longer opens."""
        ...

    async def delete_session_items(self, session_id: str) -> dict[str, int]:
        """Delete every item of the session; how many of each kind there were."""
        ...

    async def delete_support_session(self, session_id: str) -> bool: ...
    async def list_sessions_to_purge(
        self, created_before: float, limit: int, after: tuple[float, str] | None = None
    ) -> list[SupportSession]:
        """Sessions created before ``created_before`` whose content the retention job
        has not deleted yet (``purged_at`` unset), oldest first (ties by id); ``after``:
        the ``(created_at, id)`` of the last one of the page before."""
        ...

    async def delete_account(self) -> dict[str, int]:
        """Delete every record of this account, the account itself last; how many
        records each table (collection) held, by its name."""
        ...

    # the customer page's branding (services.branding): one per account
    async def get_branding(self) -> Branding | None: ...
    async def save_branding(self, branding: Branding) -> None:
        """Store the account's branding in place of any it had; raises InvalidInput if
        it belongs to another tenant."""
        ...

    # the account's alert webhook (services.alert_hooks): one per account
    async def get_alert_hook(self) -> AlertHook | None: ...
    async def put_alert_hook(self, hook: AlertHook) -> None:
        """Store the account's alert hook in place of any it had, counts and all; raises
        InvalidInput if it belongs to another tenant."""
        ...

    async def delete_alert_hook(self) -> bool: ...
    async def count_alert_deliveries(self, hook_id: str, tally: AlertTally) -> bool:
        """Add ``tally`` to the counts of the account's hook if it is still ``hook_id``,
        atomically (nodes count at once); ``last_success_at`` becomes ``tally.at`` when
        something was delivered, ``last_error`` and ``last_error_at`` its error when a
        try failed. False (nothing counted) if the hook was removed or set anew.

        Limit: atomic on SQLite and a real MongoDB; FerretDB 1.x runs the update as a
        query followed by a write, so counts from concurrent writers may be lost there
        (one node writes its counts one at a time: services.alert_delivery)."""
        ...

    # recordings of sessions' media (services.recordings): the records, and their sealed
    # bytes beside them (SQLite: files under the store's directory; MongoDB: GridFS)
    async def create_recording(self, recording: Recording) -> None:
        """Raises InvalidInput if it belongs to another tenant or its id cannot name a
        file, Conflict if its id is already in use (anywhere on the instance)."""
        ...

    async def get_recording(self, session_id: str, recording_id: str) -> Recording | None: ...
    async def list_recordings(self, session_id: str) -> list[Recording]:
        """The session's recordings, oldest first (ties by id)."""
        ...

    async def save_recording(self, recording: Recording) -> None:
        """Replace the stored record; raises NotFound if it is not in this tenant."""
        ...

    async def write_recording(self, recording: Recording) -> SealedWriter:
        """A writer of the recording's sealed bytes, from empty (any stored are replaced);
        raises NotFound if the record is not in this tenant."""
        ...

    async def recording_length(self, recording_id: str) -> int | None:
        """How many sealed bytes of this tenant's recording are stored (once its writer
        is closed: on MongoDB, bytes still being written are not readable); None if none."""
        ...

    async def read_recording(self, recording_id: str, start: int, end: int) -> bytes:
        """The stored sealed bytes ``[start, end)`` of this tenant's recording, fewer
        where they end earlier; empty if there are none."""
        ...

    async def delete_recordings(self, session_id: str) -> int:
        """Delete the session's recordings, their bytes first; how many records there
        were. (:meth:`delete_account` removes every recording's bytes too.)"""
        ...


class SealedWriter(Protocol):
    """A recording's sealed bytes on their way into the store, appended as they come
    (:meth:`TenantStore.write_recording`); readable once closed."""

    @property
    def size(self) -> int:
        """The bytes stored so far."""
        ...

    async def write(self, data: bytes) -> None:
        """Append ``data``. Raises OSError (the embedded engine: the file system's, e.g.
        ENOSPC when the disk is full; nothing of ``data`` is kept then) or
        StoreUnavailable (the database's; the writer takes nothing more)."""
        ...

    async def close(self) -> None:
        """The bytes are complete: readable from now on."""
        ...

    async def abort(self) -> None:
        """Remove whatever was written."""
        ...


class Store(Protocol):
    async def ping(self) -> None:
        """Raises StoreUnavailable when the engine cannot be reached."""
        ...

    async def close(self) -> None: ...

    def scoped(self, tenant_id: str) -> TenantStore: ...

    async def derivation_key(self, candidate: WrappedKey) -> WrappedKey:
        """The instance's sealed derivation key, storing ``candidate`` first if there is
        none yet; of nodes starting together, all get the one stored first."""
        ...

    async def replace_derivation_key(self, wrapped: WrappedKey) -> None:
        """Store the derivation key sealed anew (same key, another master key)."""
        ...

    # accounts
    async def create_tenant(self, tenant: Tenant) -> None:
        """Raises DuplicateTenant if the name is taken."""
        ...

    async def find_tenant_id_by_name(self, name: str) -> str | None: ...
    async def list_tenant_ids(self) -> list[str]: ...

    # instance-level sign-in support
    async def locate_email(self, email: str) -> str | None:
        """The tenant id of the user with this e-mail address, if any."""
        ...

    async def login_tickets(self, key: str) -> list[LoginTicket]:
        """The tickets of the newest round on this key, its opening (number 0) included,
        by number; empty if the key has none."""
        ...

    async def take_login_ticket(self, ticket: LoginTicket) -> bool:
        """Store the ticket unless its ``(key, round, number)`` is taken, atomically: of
        any number of concurrent takers of one number, exactly one gets True."""
        ...

    async def return_login_ticket(self, ticket: LoginTicket) -> None:
        """Free a taken ticket (its attempt turned out not to count)."""
        ...

    async def open_login_round(self, key: str, round_: int, at: float) -> None:
        """Start round ``round_`` on this key (a no-op if it is open) and forget every
        round before the one preceding it."""
        ...

    # instance-level support-session joining
    async def locate_join_token(self, token_hash: str) -> tuple[str, str] | None:
        """``(tenant_id, session_id)`` of the session with this join token hash,
        whatever its status: the caller decides whether it is still usable."""
        ...

    async def locate_pin(self, pin_hash: str) -> tuple[str, str] | None:
        """``(tenant_id, session_id)`` of a session that has not ended and has this
        PIN hash; if several do (the store does not make PINs unique), the newest."""
        ...

    # instance-level API key look-up
    async def locate_api_key(self, key_hash: str) -> tuple[str, str] | None:
        """``(tenant_id, key_id)`` of the API key with this keyed hash, if any."""
        ...

    # security log
    async def add_security_event(self, event: SecurityEvent) -> None:
        """Record anomalous traffic, with or without a tenant id; raises Conflict if
        the id is already in use."""
        ...

    async def list_instance_security_events(self, limit: int = 100) -> list[SecurityEvent]:
        """The events without a tenant id (no account was known: bad PINs and tokens,
        rate-limit hits before a sign-in), newest first: for the instance's operator."""
        ...

    # deletion and retention
    async def signing_key(self, candidate: WrappedKey) -> WrappedKey:
        """The instance's sealed Ed25519 signing key (deletion certificates), storing
        ``candidate`` first if there is none yet; as :meth:`derivation_key`."""
        ...

    async def replace_signing_key(self, wrapped: WrappedKey) -> None:
        """Store the signing key sealed anew (same key, another master key)."""
        ...

    async def add_deletion_record(self, record: DeletionRecord) -> None:
        """Raises Conflict if the id is already in use."""
        ...

    async def list_deletion_records(self, limit: int = 100) -> list[DeletionRecord]:
        """Newest first."""
        ...

    async def current_lease(self, name: str) -> Lease | None:
        """The newest term of the lease ``name``, if it was ever taken."""
        ...

    async def take_lease(self, lease: Lease) -> bool:
        """Store this term unless its ``(name, term)`` is taken, atomically: of any
        number of concurrent takers of one term, exactly one gets True. Terms more than
        one before it are forgotten."""
        ...

    async def forget_deleted(self) -> None:
        """Make sure what was deleted is gone from the engine's files where the engine
        lets us (SQLite: checkpoint and truncate the write-ahead log)."""
        ...
