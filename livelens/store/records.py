"""What the store keeps: plain, immutable records shared by every engine.

Times are seconds since the epoch as read from :mod:`livelens.clock`. Anything
secret is already sealed (AES-256-GCM) or hashed before it becomes a record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["admin", "agent"]
ROLES: tuple[Role, ...] = ("admin", "agent")

AuditValue = str | int | float | bool | None
RecordingMode = Literal["off", "agent", "always"]
RECORDING_MODES: tuple[RecordingMode, ...] = ("off", "agent", "always")


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Tenant:
    """An account: the unit of isolation, billing and data residency."""

    id: str
    name: str
    region: str
    created_at: float
    wrapped_data_key: bytes  # the account's data key, sealed by a master key
    master_key_id: str  # which master key sealed it (rotation)
    require_totp: bool = False
    # Account policy, set by administrators (services.account_policy has the bounds).
    two_way_audio: bool = True  # agents' voices reach the customer
    snapshots: bool = True
    chat: bool = True
    recording: RecordingMode = "off"  # whether sessions are recorded (signalling.recording)
    join_link_minutes: int = 15  # how long a new join link or PIN stays usable
    pin_joining: bool = True  # sessions get a PIN besides their link
    retention_days: int = 90  # how long session content is kept (services.retention)
    customer_rating: bool = False  # customers are asked to rate a session after its end
    # Subscription, set by the instance's operator (``livelens tenant set``).
    seats: int | None = None  # users who may be active at once; None: no limit
    subscription_ends: str | None = None  # its last day, YYYY-MM-DD (UTC); None: no end


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    email: str  # normalised: stripped, lower-case
    role: Role
    password_hash: str  # Argon2id, PHC string
    created_at: float
    updated_at: float
    disabled: bool = False
    totp_secret: bytes | None = None  # sealed; set once enrolment is confirmed
    totp_pending: bytes | None = None  # sealed; enrolment started, not confirmed
    recovery_codes: tuple[str, ...] = ()  # SHA-256 hex digests of unused codes
    totp_last_step: int = 0  # time step of the last accepted code: codes are single-use
    display_name: str = ""  # what customers see; never the e-mail address
    # When the user last signed in (None: never); written alone (note_sign_in), so a
    # sign-in never races another change of the user.
    last_sign_in_at: float | None = None

    @property
    def shown_name(self) -> str:
        """The name to show customers: the display name, else a neutral word."""
        return self.display_name or "Support agent"

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


@dataclass(frozen=True)
class LoginTicket:
    """One sign-in attempt on an e-mail address, reserved before its password or code
    is checked, so that parallel guesses cannot outrun the lockout (identity.lockout).

    Attempts are counted in rounds: a round has ``lockout.MAX_FAILURES`` tickets and
    ends with a successful sign-in or when the lock after its last ticket runs out.
    Number 0 marks the opening of a round. Kept for unknown addresses too, so that
    lockout behaves the same whether or not an account exists. A ticket is taken by a
    unique insert of ``(key, round, number)``: the one operation every engine, a
    MongoDB-protocol server without transactions included, does atomically.
    """

    key: str  # keyed hash of the normalised e-mail address
    round: int
    number: int
    at: float


@dataclass(frozen=True)
class AuthSession:
    """A signed-in browser. ``id`` is the SHA-256 of the cookie's secret token."""

    id: str
    tenant_id: str
    user_id: str
    created_at: float
    expires_at: float
    ip: str
    user_agent: str


@dataclass(frozen=True)
class AuditEvent:
    id: str
    tenant_id: str
    at: float
    action: str  # e.g. "auth.login_succeeded", "user.created"
    actor: str  # e-mail of the acting user, "cli" or "system"
    actor_id: str | None = None
    ip: str | None = None
    target: str | None = None  # what the action was about, e.g. a user's e-mail
    details: dict[str, AuditValue] = field(default_factory=dict)


SessionStatus = Literal["waiting", "joined", "consented", "live", "ended"]
Outcome = Literal["completed", "declined", "expired", "dropped"]


@dataclass(frozen=True)
class SupportSession:
    """A live support session: an agent, a customer joining by link or PIN, an outcome.

    The join token and PIN are kept only as keyed hashes; while the session waits, a
    new link replaces both (and the join deadline). The first customer device to use
    them is bound (by the hash of a secret held by that device), so the same device
    can rejoin after a network drop and no other device can.
    """

    id: str
    tenant_id: str
    agent_id: str
    created_at: float
    join_expires_at: float  # until the first join
    join_token_hash: str
    pin_hash: str | None  # cleared when the session ends
    status: SessionStatus = "waiting"
    customer_device_hash: str | None = None
    joined_at: float | None = None
    consent_at: float | None = None
    consent_scopes: tuple[str, ...] = ()
    live_at: float | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    ended_by: str | None = None  # the role that ended it: "agent", "customer" or "system"
    experts: tuple[str, ...] = ()  # user ids of agents invited in; they share the rights
    ended_by_user_id: str | None = None  # the agent who ended it (owner or expert)
    ended_by_name: str | None = None  # their display name when they did, for every view
    # Who the session is for, as the agent typed it: personal data, so sealed with the
    # account's data key (services.support) before it becomes part of the record.
    customer_name: bytes | None = None
    reference: str | None = None  # the case or ticket it is about, as the agent typed it
    # The account's policy for this session, fixed when it was created
    # (signalling.session_policy): the tools turned off ("chat", "snapshots",
    # "two_way_audio"), and whether the customer may rate it after its end.
    tools_off: tuple[str, ...] = ()
    rating_on: bool = False
    # Whether it is recorded (signalling.recording), fixed when it was created from the
    # account's policy and the agent's choice: "off", "asked" (the agent chose to; the
    # customer may refuse) or "always" (part of the customer's consent).
    recording: Literal["off", "asked", "always"] = "off"
    # The customer's rating (1 to 5) and comment, given once after the end; the comment
    # is the customer's words, sealed like chat (services.rating).
    rating: int | None = None
    rating_comment: bytes | None = None
    rated_at: float | None = None
    # Deletion and retention (services.deletion): ``own_key`` marks a session whose
    # content, customer name and rating comment are sealed with its own data key (a
    # SessionKey); sessions made before that use the account's key. ``purged_at``: when
    # the retention job deleted its content (the record stays for reports).
    own_key: bool = False
    purged_at: float | None = None
    # Bumped by the store on every save: a save of a record read at another version is
    # refused (StaleRecord), so two writers can never overwrite each other unseen.
    version: int = 0


ContentKind = Literal["chat", "snapshot", "note"]
CONTENT_KINDS: tuple[ContentKind, ...] = ("chat", "snapshot", "note")


@dataclass(frozen=True)
class SessionItem:
    """Content of a support session: a chat message, a snapshot or the agent's notes.

    The body is sealed with the account's data key, bound to this item (see
    services.content), so the store holds no readable text or picture. What stays in
    the clear is only what lists and access checks need.
    """

    id: str
    tenant_id: str
    session_id: str
    kind: ContentKind
    at: float
    author_id: str | None  # the user who wrote or took it; None for the customer
    media_type: str  # of the plaintext body: "application/json", "image/jpeg", ...
    size: int  # bytes of the plaintext body
    sealed: bytes


@dataclass(frozen=True)
class SecurityEvent:
    """Anomalous traffic: failed sign-ins, lockouts, bad tokens, malformed signalling,
    rate-limit hits. Instance-level, because it often happens before any account is
    known; ``tenant_id`` is set when it is, and only then do that account's
    administrators see it."""

    id: str
    at: float
    kind: str  # e.g. "join.bad_token", "signalling.malformed", "ratelimit.pin"
    ip: str | None = None
    tenant_id: str | None = None
    details: dict[str, AuditValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiKey:
    """A named key that lets a program read the account's reports, and nothing else.

    The key itself is shown once, when it is made; the store keeps only its keyed hash
    (services.api_keys), unique on the whole instance, so a request finds its account
    from the key alone. Revoking a key deletes it; the audit log keeps its history.
    """

    id: str
    tenant_id: str
    name: str
    key_hash: str
    created_at: float
    created_by: str  # the administrator who made it (a user id)


ExportScope = Literal["account", "session"]
ExportState = Literal["queued", "running", "ready", "failed"]


@dataclass(frozen=True)
class ExportJob:
    """An export of an account's content (``scope`` "account") or of one support
    session's (``scope`` "session", for a data subject's request): a ZIP of JSON and
    files, built in the background into the data directory of the node that took the
    request (services.export), downloadable until ``expires_at``, then removed."""

    id: str
    tenant_id: str
    scope: ExportScope
    requested_by: str  # the user who asked for it (a user id)
    created_at: float
    expires_at: float  # the record and its file are removed from then on
    session_id: str | None = None  # the session exported, for scope "session"
    state: ExportState = "queued"
    finished_at: float | None = None  # when it became ready or failed
    size: int | None = None  # bytes of the ZIP, once ready
    file_name: str = ""  # what the download is called
    error: str | None = None  # why it failed, in words for the person who asked


@dataclass(frozen=True)
class SessionKey:
    """A support session's own data key, sealed with the account's data key. Deleting
    this record crypto-shreds everything sealed with it (services.deletion)."""

    id: str  # the session's id
    tenant_id: str
    sealed: bytes
    created_at: float


DeletionKind = Literal["session", "account", "retention"]


@dataclass(frozen=True)
class DeletionRecord:
    """An instance-level record of a deletion: what, when, by whom and how much, never
    any content. Not an account's record (``account_id``, not ``tenant_id``), so it
    outlives the deletion of the account it names."""

    id: str  # the deletion certificate's id
    at: float
    kind: DeletionKind
    account_id: str
    account_name: str
    actor: str  # the e-mail address of who asked for it, or "system" (retention)
    actor_id: str | None = None
    session_ids: tuple[str, ...] = ()
    counts: dict[str, AuditValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Lease:
    """One term of a named lease (e.g. the retention job's): held by ``holder`` until
    ``expires_at``. Terms are numbered; taking the next term is a unique insert, so of
    nodes racing for it exactly one wins, on every engine (services.leases)."""

    name: str
    term: int
    holder: str
    expires_at: float


@dataclass(frozen=True)
class Branding:
    """How an account presents itself on the customer's page (services.branding): one
    per account, keyed by its tenant id. Empty text means "not set": the account's name,
    LiveLens's own colour. The logo is kept re-encoded from its pixels (no metadata)."""

    tenant_id: str
    updated_at: float
    display_name: str = ""  # the company as customers see it; "": the account's name
    accent_color: str = ""  # "#rrggbb", readable under white text; "": LiveLens's own
    logo: bytes | None = None  # PNG or JPEG, at most 1024 x 1024 pixels
    logo_type: str = ""  # the logo's media type: "image/png" or "image/jpeg"


@dataclass(frozen=True)
class AlertHook:
    """An account's alert webhook (services.alert_hooks): where its security alerts are
    POSTed, signed with ``secret``, and how deliveries went. One per account, keyed by
    its tenant id; setting it again makes a new ``hook_id`` (and secret), whose counts
    start at zero, and deliveries still counted for the old one are not counted."""

    tenant_id: str
    hook_id: str
    url: str
    secret: bytes  # the signing secret, sealed with the account's data key
    created_at: float
    created_by: str  # the administrator who set it (a user id)
    delivered: int = 0  # alerts the receiver took (a 2xx answer)
    failed: int = 0  # tries that failed (each retry counts)
    abandoned: int = 0  # alerts given up after their last try failed
    dropped: int = 0  # alerts a node's full queue dropped before any try
    last_success_at: float | None = None
    last_error: str | None = None  # why the last failed try failed, in a few words
    last_error_at: float | None = None


@dataclass(frozen=True)
class AlertTally:
    """What happened to some deliveries of an account's alerts, added to its hook's
    counts by :meth:`~livelens.store.repository.TenantStore.count_alert_deliveries`.
    Not a stored record."""

    at: float
    delivered: int = 0
    failed: int = 0
    abandoned: int = 0
    dropped: int = 0
    error: str | None = None  # the last failed try's reason, when ``failed``


RecordingState = Literal["recording", "complete", "stopped", "failed"]


@dataclass(frozen=True)
class Recording:
    """A recording of a support session's media (services.recordings): the relayed
    packets muxed into WebM and sealed in chunks by the media port, under a key derived
    from the session's data key (services.recordings), so crypto-shredding the session
    shreds it. The sealed bytes lie beside the record, kept by the store (the data
    directory on SQLite, GridFS on MongoDB), appended as they come.

    ``state``: "recording" while it runs; "complete" once stopped and its end stored;
    "stopped" when it ended on its own (``stopped_reason``: storage full or failing, the
    media gone) with what was recorded up to then stored whole; "failed" when even that
    could not be stored (its bytes are removed)."""

    id: str
    tenant_id: str
    session_id: str
    started_at: float
    updated_at: float  # when sealed bytes were last stored
    state: RecordingState = "recording"
    ended_at: float | None = None
    duration_s: float = 0.0  # media time recorded
    size: int = 0  # sealed bytes stored
    stopped_reason: str | None = None
    # The timed events (marks, chat, freezes) as JSON, sealed with the session's key.
    events: bytes | None = None
    stats: dict[str, int] = field(default_factory=dict)  # frames, packets, gaps, ...
