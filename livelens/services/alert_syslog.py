"""Security events to syslog (``--syslog``, LIVELENS_SYSLOG): every event of the
security log, as an RFC 5424 message with the event in structured data, facility
``auth``, severity ``warning``. For example::

    <36>1 2027-01-15T08:00:00.000Z node-1 livelens 4242 auth.locked
    [livelens@32473 kind="auth.locked" ip="192.0.2.7" account="3f…" attempts="5"]
    security event auth.locked from 192.0.2.7 (account 3f…)

(``32473`` is the example enterprise number of RFC 5612: LiveLens has none of its own.)
What the security log holds is what is sent: never tokens, PINs, passwords or e-mail
addresses.

The target is ``udp://host[:port]`` (port 514 by default), ``tcp://host[:port]`` (601;
newline-framed) or the path of a unix socket (``/dev/log``). Python's SysLogHandler
sends, from a thread of its own behind a bounded queue: a slow or unreachable syslog
server never holds up the event loop; when the queue is full, messages are dropped
and counted.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import queue
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from livelens.store.records import SecurityEvent

LOGGER = "livelens.security"  # services.security logs each event here
EVENT_ATTRIBUTE = "security_event"  # the log record's attribute holding the event
SD_ID = "livelens@32473"
QUEUE_SIZE = 1000
_DEFAULT_PORTS = {"udp": 514, "tcp": 601}
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True)
class SyslogTarget:
    transport: str  # "udp", "tcp" or "unix"
    address: tuple[str, int] | str  # (host, port), or a socket path


def parse_target(value: str) -> SyslogTarget:
    """``udp://host[:port]``, ``tcp://host[:port]`` or an absolute unix socket path;
    ValueError saying what is wrong otherwise."""
    value = value.strip()
    if value.startswith("/"):
        return SyslogTarget("unix", value)
    if value.startswith("unix://"):
        path = value.removeprefix("unix://")
        if path.startswith("/"):
            return SyslogTarget("unix", path)
    else:
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if (
            parts.scheme in _DEFAULT_PORTS
            and parts.hostname
            and port != -1
            and not (parts.path.strip("/") or parts.query or parts.username)
        ):
            port = port or _DEFAULT_PORTS[parts.scheme]
            return SyslogTarget(parts.scheme, (parts.hostname, port))
    raise ValueError(
        f"must be udp://host[:port], tcp://host[:port] or a unix socket path, got {value!r}"
    )


def syslog_option(value: str) -> str:
    """``--syslog`` as argparse takes it ("" for none)."""
    if value.strip():
        try:
            parse_target(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip()


def _sd_value(value: object) -> str:
    text = "".join(c if c.isprintable() else " " for c in str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def structured_data(event: SecurityEvent) -> str:
    params: dict[str, object] = {"kind": event.kind, "ip": event.ip, "account": event.tenant_id}
    params |= {k: v for k, v in event.details.items() if _PARAM_NAME.match(k) and k not in params}
    pairs = " ".join(f'{name}="{_sd_value(value)}"' for name, value in params.items()
                     if value is not None)  # fmt: skip
    return f"[{SD_ID} {pairs}]"


class Rfc5424Formatter(logging.Formatter):
    """``VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` (the handler puts the
    ``<PRI>`` in front)."""

    def __init__(self, newline: bool = False) -> None:
        super().__init__()
        self._hostname = (socket.gethostname() or "-").split(".")[0][:255] or "-"
        self._end = "\n" if newline else ""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, EVENT_ATTRIBUTE, None)
        created = event.at if isinstance(event, SecurityEvent) else record.created
        at = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        msgid, sd = "-", "-"
        if isinstance(event, SecurityEvent):
            msgid = event.kind[:32] if event.kind.isascii() and event.kind.isprintable() else "-"
            sd = structured_data(event)
        message = " ".join(record.getMessage().split())  # one line
        return (f"1 {at.replace('+00:00', 'Z')} {self._hostname} livelens {os.getpid()} "
                f"{msgid} {sd} {message}{self._end}")  # fmt: skip


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Hands records to the sending thread; drops (and counts) them when it lags."""

    dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


def _syslog_handler(target: SyslogTarget) -> logging.handlers.SysLogHandler:
    kind = socket.SOCK_STREAM if target.transport == "tcp" else socket.SOCK_DGRAM
    if target.transport == "unix":
        handler = logging.handlers.SysLogHandler(address=target.address)
    else:
        handler = logging.handlers.SysLogHandler(address=target.address, socktype=kind)
    handler.facility = logging.handlers.SysLogHandler.LOG_AUTH
    handler.append_nul = False
    handler.setFormatter(Rfc5424Formatter(newline=target.transport == "tcp"))
    return handler


class SyslogSink:
    """Security events to syslog while installed (:func:`install`)."""

    def __init__(self, target: SyslogTarget) -> None:
        self.target = target
        self._sender = _syslog_handler(target)
        self._handler = _DroppingQueueHandler(queue.Queue(QUEUE_SIZE))
        self._listener = logging.handlers.QueueListener(self._handler.queue, self._sender)

    @property
    def dropped(self) -> int:
        return self._handler.dropped

    def start(self) -> None:
        self._listener.start()
        logging.getLogger(LOGGER).addHandler(self._handler)

    def stop(self) -> None:
        """Remove the handler, send what is queued, close the socket."""
        logging.getLogger(LOGGER).removeHandler(self._handler)
        self._listener.stop()
        self._sender.close()


def install(value: str | None) -> SyslogSink | None:
    """Start sending security events to the syslog ``value`` names (None: nowhere).
    Raises OSError when the target cannot be opened (a unix socket that is missing)."""
    if not value:
        return None
    sink = SyslogSink(parse_target(value))
    sink.start()
    return sink
