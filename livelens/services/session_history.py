"""Session history: the query parameters of GET /api/sessions, read into one store query,
and its opaque paging cursor. No I/O.

Search (``q``) looks in the case reference only: the customer's name is sealed at rest
(AES-256-GCM, services.support), so the store cannot look into it, and opening every
name of an account to search them would defeat the sealing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from livelens.errors import Forbidden, InvalidInput
from livelens.services import reports
from livelens.services.auth import Principal
from livelens.services.support import case_text
from livelens.store.records import SupportSession
from livelens.store.repository import SessionQuery

DEFAULT_PAGE = 100  # what the list gave before it had pages
MAX_PAGE = 500
MAX_PARAM = 1024  # characters of any parameter
_RECORD_ID = re.compile(r"[0-9a-f]{32}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")
_NUMBER = re.compile(r"[0-9]{1,6}")

Argument = Callable[[str], str | None]  # a query parameter by name; None if absent


@dataclass(frozen=True)
class Page:
    """The store query for one page, asking one session more than the page holds (so
    that its presence tells whether another page follows), and the page's size."""

    query: SessionQuery
    size: int


def cursor_of(session: SupportSession) -> str:
    """Where the page after ``session`` (the last of its page) starts: opaque to clients."""
    raw = json.dumps([session.created_at, session.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_cursor(text: str) -> tuple[float, str]:
    refused = InvalidInput("The cursor is not one this server gave; start from the first page.")
    if not _CURSOR.fullmatch(text):
        raise refused
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise refused from None
    match value:
        case [float() | int() as at, str() as session_id] if (
            _RECORD_ID.fullmatch(session_id) and abs(at) < 1e15  # finite, a plausible time
        ):
            return float(at), session_id
    raise refused


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    if not _NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {MAX_PAGE}.")
    return int(text)


def record_id(text: str, name: str) -> str:
    if not _RECORD_ID.fullmatch(text):
        raise InvalidInput(f"{name!r} must be an id: 32 hexadecimal digits.")
    return text


def search_text(text: str | None) -> str | None:
    """What ``q`` asks for, as case references are kept (support.case_text)."""
    if text is None:
        return None
    if len(text) > MAX_PARAM:
        raise InvalidInput("'q' is too long.")
    return case_text(text, "search text")


def page(principal: Principal, arg: Argument) -> Page:
    """The page of the principal's session history that the parameters ask for.

    Administrators see the whole account, ``agent`` narrowing it to the sessions that
    agent started. An agent sees the sessions they started and those they were invited
    into; with ``agent`` (their own id: no other), only those they started.
    """
    for name in ("agent", "outcome", "from", "to", "cursor", "limit"):
        value = arg(name)
        if value is not None and len(value) > MAX_PARAM:
            raise InvalidInput(f"{name!r} is too long.")
    agent = arg("agent")
    asked = None if agent is None else record_id(agent, "agent")
    me = principal.user.id
    if principal.user.role == "admin":
        agent_id, with_experts = asked, False
    elif asked in (None, me):
        agent_id, with_experts = me, asked is None
    else:
        raise Forbidden("Agents can list their own sessions only.")
    outcome = arg("outcome")
    first, last = arg("from"), arg("to")
    since = None if first is None else reports.day_start(reports.parse_day(first, "from"))
    until = None if last is None else reports.days(last, last).until
    if first is not None and last is not None:
        reports.days(first, last, max_days=None)  # 'to' not before 'from'
    cursor = arg("cursor")
    size = _limit(arg("limit"))
    query = SessionQuery(
        agent_id=agent_id,
        with_experts=with_experts,
        since=since,
        until=until,
        outcome=None if outcome is None else reports.parse_outcome(outcome),
        reference=search_text(arg("q")),
        after=None if cursor is None else parse_cursor(cursor),
        limit=size + 1,
    )
    return Page(query, size)
