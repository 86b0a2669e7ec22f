"""The customer's rating of a session: a score from 1 to 5 and an optional comment,
given once, after the session ended, by the customer who joined it, where the account's
policy asked for ratings when the session was created (signalling.session_policy).

The comment is the customer's own words: like chat, it is sealed with the session's
data key (services.session_keys), bound to the session
(``session/<id>/rating_comment``), and opened only for agents with rights to the
session.

An ended session has no room any more (services.rooms), so the rating is the one change
to a session record made outside one: saved by compare-and-set, read again and
checked again if anything saved the record meanwhile.
"""

from __future__ import annotations

from dataclasses import replace

from livelens import clock
from livelens.errors import Conflict, InvalidInput, NotFound, StaleRecord
from livelens.services import audit, session_keys
from livelens.services.audit import Actor
from livelens.services.content import clean_text
from livelens.services.context import Context
from livelens.signalling.session_policy import DisabledByPolicy
from livelens.store.records import SupportSession

SCORES = (1, 5)
MAX_COMMENT = 500  # characters
SAVE_ATTEMPTS = 3


class NotEnded(Conflict, code="not_ended"):
    """A rating before the session ended."""


class AlreadyRated(Conflict, code="already_rated"):
    """A second rating of one session."""


def _purpose(session_id: str) -> str:
    return f"session/{session_id}/rating_comment"


def check(score: object, comment: object) -> tuple[int, str | None]:
    """The score (a whole number from 1 to 5) and the comment (optional, control
    characters dropped, trimmed, at most MAX_COMMENT characters; empty: none)."""
    low, high = SCORES
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise InvalidInput(f"The rating must be a whole number from {low} to {high}.",
                           field="rating")  # fmt: skip
    if comment is None:
        return score, None
    if not isinstance(comment, str):
        raise InvalidInput("The comment must be text.", field="comment")
    if len(comment) > 4 * MAX_COMMENT:  # before any work on it
        raise InvalidInput(f"The comment can have at most {MAX_COMMENT} characters.",
                           field="comment")  # fmt: skip
    try:
        text = clean_text(comment, MAX_COMMENT)
    except InvalidInput:
        raise InvalidInput(f"The comment can have at most {MAX_COMMENT} characters.",
                           field="comment") from None  # fmt: skip
    return score, text or None


def _refusal(session: SupportSession) -> Exception | None:
    if not session.rating_on:
        return DisabledByPolicy("This support team does not ask for ratings.", tool="rating")
    if session.status != "ended":
        return NotEnded("You can rate the session once it has ended.")
    if session.rating is not None:
        return AlreadyRated("You have already rated this session. Thank you!")
    return None


async def rate(
    ctx: Context, session: SupportSession, score: object, comment: object, ip: str
) -> SupportSession:
    """Store the customer's rating of ``session`` (theirs: support.customer_session with
    ``ended``); the record as stored. Raises InvalidInput, DisabledByPolicy (the account
    did not ask for ratings), NotEnded or AlreadyRated."""
    points, text = check(score, comment)
    scope = ctx.store.scoped(session.tenant_id)
    cipher = await session_keys.cipher_for(ctx, session)
    sealed = None if text is None else cipher.seal(text.encode(), _purpose(session.id))
    for _ in range(SAVE_ATTEMPTS):
        refused = _refusal(session)
        if refused is not None:
            raise refused
        rated = replace(session, rating=points, rating_comment=sealed, rated_at=clock.now())
        try:
            stored = await scope.save_support_session(rated)
        except StaleRecord:  # saved meanwhile (a rating from another tab): check again
            fresh = await scope.get_support_session(session.id)
            if fresh is None:
                raise NotFound("This session does not exist.") from None
            session = fresh
            continue
        await audit.record(scope, "session.rated", Actor("customer", None, ip),
                           target=session.id, rating=points,
                           comment=text is not None)  # fmt: skip
        return stored
    raise StaleRecord("The session kept changing while the rating was saved; try again.")


async def comment(ctx: Context, session: SupportSession) -> str | None:
    """The customer's comment, opened; None if they left none."""
    if session.rating_comment is None:
        return None
    cipher = await session_keys.cipher_for(ctx, session)
    return cipher.open(session.rating_comment, _purpose(session.id)).decode()
