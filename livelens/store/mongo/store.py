"""The MongoDB store's instance-level queries (keys, accounts, sign-in tickets, what
finds an account from a token, PIN, key or address); one account's queries are
:mod:`.tenant`'s. Documents and records are mapped by the field tables
(:mod:`livelens.store.schema`); connecting and indexes are :mod:`.connection`'s."""

from __future__ import annotations

import contextlib

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from livelens.store import records, schema, shared
from livelens.store.mongo.connection import (
    Doc,
    insert_new,
    insert_unique,
    next_seq,
    read_all,
    read_newest,
    translated,
)
from livelens.store.mongo.deletion import MongoLifecycle
from livelens.store.mongo.tenant import MongoTenantStore


class MongoStore(MongoLifecycle):
    """The :class:`~livelens.store.repository.Store` over one MongoDB database."""

    async def _locate(self, query: Doc) -> tuple[str, str] | None:
        """``(tenant_id, id)`` of the newest support session ``query`` finds."""
        doc = await self.support_sessions.find_one(
            query, {"tenant_id": 1}, sort=[("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        return None if doc is None else (str(doc["tenant_id"]), str(doc["_id"]))

    async def _security_events(
        self, tenant_id: str | None, limit: int
    ) -> list[records.SecurityEvent]:
        query = {"tenant_id": tenant_id}  # None: events without an account
        return await read_newest(schema.SECURITY_EVENTS, self.security_events, query, limit)

    def scoped(self, tenant_id: str) -> MongoTenantStore:
        return MongoTenantStore(self, tenant_id)

    # accounts

    @translated
    async def create_tenant(self, tenant: records.Tenant) -> None:
        await insert_unique(
            self.tenants,
            schema.TENANTS.doc(tenant),
            key="name",
            find_key=lambda: self.find_tenant_id_by_name(tenant.name),
            key_conflict=shared.duplicate_tenant(tenant),
            what="An account",
        )

    @translated
    async def find_tenant_id_by_name(self, name: str) -> str | None:
        doc = await self.tenants.find_one({"name": name}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    @translated
    async def list_tenant_ids(self) -> list[str]:
        cursor = self.tenants.find({}, {"_id": 1}).sort([("created_at", ASCENDING), ("_id", 1)])
        return [str(doc["_id"]) async for doc in cursor]

    # instance-level sign-in support

    @translated
    async def locate_email(self, email: str) -> str | None:
        doc = await self.users.find_one({"email": email}, {"tenant_id": 1})
        return None if doc is None else str(doc["tenant_id"])

    @translated
    async def login_tickets(self, key: str) -> list[records.LoginTicket]:
        # A key holds at most its newest round and the one before: read both, keep one.
        tickets = await read_all(schema.LOGIN_TICKETS, self.sign_in_tickets.find({"key": key}))
        newest = max((t.round for t in tickets), default=0)
        return sorted((t for t in tickets if t.round == newest), key=lambda t: t.number)

    @translated
    async def take_login_ticket(self, ticket: records.LoginTicket) -> bool:
        # The unique _id makes the claim atomic, also on servers without transactions.
        try:
            await self.sign_in_tickets.insert_one(schema.LOGIN_TICKETS.doc(ticket))
        except DuplicateKeyError:
            return False
        return True

    @translated
    async def return_login_ticket(self, ticket: records.LoginTicket) -> None:
        await self.sign_in_tickets.delete_one({"_id": schema.login_ticket_id(ticket)})

    @translated
    async def open_login_round(self, key: str, round_: int, at: float) -> None:
        opening = records.LoginTicket(key, round_, 0, at)
        with contextlib.suppress(DuplicateKeyError):  # another request opened it
            await self.sign_in_tickets.insert_one(schema.LOGIN_TICKETS.doc(opening))
        # The round before stays: a request that read it a moment ago must still find
        # its tickets taken, or it would take one there unchecked by the new round.
        await self.sign_in_tickets.delete_many({"key": key, "round": {"$lt": round_ - 1}})

    # instance-level support-session joining

    @translated
    async def locate_join_token(self, token_hash: str) -> tuple[str, str] | None:
        return await self._locate({"join_token_hash": token_hash})

    @translated
    async def locate_pin(self, pin_hash: str) -> tuple[str, str] | None:
        return await self._locate({"pin_hash": pin_hash, "status": {"$ne": "ended"}})

    # instance-level API key look-up

    @translated
    async def locate_api_key(self, key_hash: str) -> tuple[str, str] | None:
        doc = await self.api_keys.find_one({"key_hash": key_hash}, {"tenant_id": 1})
        return None if doc is None else (str(doc["tenant_id"]), str(doc["_id"]))

    # security log

    @translated
    async def add_security_event(self, event: records.SecurityEvent) -> None:
        doc = {**schema.SECURITY_EVENTS.doc(event), "seq": next_seq()}
        await insert_new(self.security_events, doc, "A security event")

    @translated
    async def list_instance_security_events(self, limit: int = 100) -> list[records.SecurityEvent]:
        return await self._security_events(None, limit)
