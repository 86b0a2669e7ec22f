"""What each side of a support session is shown of the others (no I/O).

Agents are colleagues in one account: their consoles get each other's user ids, which
tell a console its own marks and chat messages from the others'. The customer is a
stranger to the account: they get display names only, and an opaque per-session handle
in place of each agent's user id (enough for the page to tell two agents' marks
apart), never an internal id or an e-mail address.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Literal

Audience = Literal["agent", "customer"]
AUDIENCES: tuple[Audience, ...] = ("agent", "customer")
CUSTOMER_ID = "customer"  # the customer's participant id: names no user


class Handles:
    """Stand-ins for agents' user ids, stable while the room runs, so that an agent who
    reconnects keeps authorship of the marks already on the customer's screen."""

    def __init__(self) -> None:
        self._by_id: dict[str, str] = {}

    def of(self, participant_id: str) -> str:
        if participant_id == CUSTOMER_ID:
            return participant_id
        handle = self._by_id.get(participant_id)
        if handle is None:
            handle = self._by_id[participant_id] = "p" + secrets.token_hex(8)
        return handle

    def shown_id(self, participant_id: str, audience: Audience) -> str:
        return participant_id if audience == "agent" else self.of(participant_id)

    def mark(self, view: Mapping[str, object], audience: Audience) -> dict[str, object]:
        """A mark as the audience sees it: its author by id or by handle."""
        shown = dict(view)
        author = shown.get("from")
        if isinstance(author, str):
            shown["from"] = self.shown_id(author, audience)
        return shown


def chat(view: Mapping[str, object], audience: Audience) -> dict[str, object]:
    """A chat message as the audience sees it: agents' consoles need the author's id to
    know their own messages; the customer's page goes by role."""
    shown = dict(view)
    if audience == "customer":
        shown.pop("author_id", None)
    return shown
