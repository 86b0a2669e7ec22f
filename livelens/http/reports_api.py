"""Reports over HTTP (sessions as JSON or CSV, a summary) and the API keys that read them.

Reports take a signed-in user's cookie or an API key (``Authorization: Bearer llk_...``,
see services.api_keys); every other handler refuses a key (BaseHandler). The session
report is streamed: each batch of rows from the store is written and flushed before
the next is read, so a report of any length holds one batch in memory, and a slow
client holds up its own report only (a flush waits for the data to be sent).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from livelens.errors import InvalidInput
from livelens.http.base import BaseHandler, field_str
from livelens.identity.roles import Permission
from livelens.services import api_keys, report_feed, reports, session_history
from livelens.store.records import ApiKey

FORMATS = ("json", "csv")
CSV_TYPE = "text/csv; charset=utf-8; header=present"


def api_key_view(key: ApiKey) -> dict[str, object]:
    return {"id": key.id, "name": key.name, "created_at": key.created_at,
            "created_by": key.created_by}  # fmt: skip


class ApiKeysHandler(BaseHandler):
    async def get(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        keys = await api_keys.list_keys(self.ctx, principal)
        self.write_json({"api_keys": [api_key_view(key) for key in keys]})

    async def post(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        name = field_str(self.json_body(), "name")
        key, credential = await api_keys.create(self.ctx, principal, name, self.client_ip)
        self.write_json({**api_key_view(key), "key": credential}, status=201)


class ApiKeyHandler(BaseHandler):
    async def delete(self, key_id: str) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        await api_keys.revoke(self.ctx, principal, key_id, self.client_ip)
        self.set_status(204)
        self.finish()


class _ReportHandler(BaseHandler):
    takes_api_key = True

    def reader(self) -> report_feed.Reader:
        if self.key_holder is not None:
            return report_feed.Reader.of_key(self.key_holder)
        return report_feed.Reader.of_user(self.require_permission(Permission.RUN_SESSIONS))

    def arg(self, name: str) -> str | None:
        value = self.get_query_argument(name, None, strip=False)  # as sent: checked as it came
        if value is not None and len(value) > session_history.MAX_PARAM:
            raise InvalidInput(f"{name!r} is too long.")
        return value

    def filters(self) -> report_feed.Filters:
        first, last = self.arg("from"), self.arg("to")
        if first is None or last is None:
            raise InvalidInput("A report needs 'from' and 'to': days written YYYY-MM-DD.")
        agent, outcome = self.arg("agent"), self.arg("outcome")
        return report_feed.Filters(
            reports.days(first, last),
            agent_id=None if agent is None else session_history.record_id(agent, "agent"),
            outcome=None if outcome is None else reports.parse_outcome(outcome),
        )


class SessionReportHandler(_ReportHandler):
    async def get(self) -> None:
        reader = self.reader()
        filters = self.filters()
        kind = self.arg("format") or "json"
        if kind not in FORMATS:
            raise InvalidInput(f"'format' must be one of: {', '.join(FORMATS)}.")
        report_feed.agent_for(reader, filters.agent_id)  # refused before anything is sent
        batches = report_feed.rows(self.ctx, reader, filters)
        self.set_header("Cache-Control", "no-store")
        if kind == "csv":
            span = f"{filters.days.first.isoformat()}-{filters.days.last.isoformat()}"
            self.set_header("Content-Type", CSV_TYPE)
            self.set_header("Content-Disposition",
                            f'attachment; filename="livelens-sessions-{span}.csv"')  # fmt: skip
            await self._stream(reports.csv_text([], header=True), _csv(batches), "")
        else:
            self.set_header("Content-Type", "application/json; charset=utf-8")
            head = json.dumps({"from": filters.days.first.isoformat(),
                               "to": filters.days.last.isoformat()})[:-1]  # fmt: skip
            await self._stream(head + ', "sessions": [', _json(batches), "]}")

    async def _stream(self, head: str, chunks: AsyncIterator[str], tail: str) -> None:
        """Write ``head``, each chunk (flushed as it comes), then ``tail``."""

        async def framed() -> AsyncIterator[str]:
            yield head
            async for chunk in chunks:
                yield chunk
            yield tail

        await self.send_chunks(framed())


async def _csv(batches: AsyncIterator[list[reports.Row]]) -> AsyncIterator[str]:
    async for batch in batches:
        yield reports.csv_text(batch)


async def _json(batches: AsyncIterator[list[reports.Row]]) -> AsyncIterator[str]:
    first = True
    async for batch in batches:
        text = ", ".join(json.dumps(row.cells()) for row in batch)
        yield text if first else ", " + text
        first = False


class SummaryReportHandler(_ReportHandler):
    async def get(self) -> None:
        reader = self.reader()
        filters = self.filters()
        group = reports.parse_group(self.arg("group") or "day")
        totals = await report_feed.summary(self.ctx, reader, filters, group)
        self.write_json(totals.view())
