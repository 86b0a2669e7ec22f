"""Settings of one LiveLens node, read from the command line or ``LIVELENS_*`` variables."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

REGIONS = ("eu", "us")
DEFAULT_PORT = 8080
DEFAULT_SESSION_TTL = 12 * 3600
DEFAULT_MEDIA_PORT = 15000
# HTTP connections (livelens.http.connections). A new connection has 20 s to send its
# first request's head (TLS handshake included: ample on a slow mobile link), a kept-alive
# one 60 s for the next; a body 120 s (an 8 MiB snapshot at about 0.6 Mbit/s).
DEFAULT_HEADER_TIMEOUT = 20.0
DEFAULT_IDLE_TIMEOUT = 60.0
DEFAULT_BODY_TIMEOUT = 120.0
# Per client address: a browser holds about 6 connections and a WebSocket or two, so
# this leaves room for dozens of agents behind one office NAT.
DEFAULT_PER_CLIENT = 256
# Descriptors kept from HTTP connections for the store, the media port, logs, aiortc.
DEFAULT_DESCRIPTOR_RESERVE = 256


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "livelens"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    store_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    region: str = "eu"
    public_url: str | None = None
    # More names the server is reached by, for join links when public_url is not set
    # (see http/hosts.py; its own addresses and a --host name need no listing).
    allowed_hosts: tuple[str, ...] = ()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    auth_session_ttl: int = DEFAULT_SESSION_TTL
    join_ttl: int = 15 * 60  # how long a join link or PIN stays usable until first join
    rejoin_grace: float = 60.0  # how long a dropped participant may take to come back
    master_key: str | None = None  # id:base64 entries; else the key file in data_dir
    # The Rust data plane's UDP port for all media (ICE-lite, SRTP, relay); 0: ephemeral.
    media_port: int = DEFAULT_MEDIA_PORT
    # Public IPv4 addresses to offer as the media port's ICE candidates instead of the
    # machine's own: for a server behind 1:1 NAT (a cloud VM's public address).
    media_announce: tuple[str, ...] = ()
    # Whether the media port also takes ICE-TCP on the web port (443), sorting its
    # connections by their first bytes (rust_fastpath/src/net/web_port.rs); None: when
    # the web port is 443 or serves TLS.
    media_on_web_port: bool | None = None
    # HTTP connection deadlines (seconds) and caps; see livelens.http.connections.
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = 0  # 0: the open-file limit less descriptor_reserve
    max_connections_per_client: int = DEFAULT_PER_CLIENT  # 0: no cap
    descriptor_reserve: int = DEFAULT_DESCRIPTOR_RESERVE
    # Security alerts (services.alert_delivery, services.alert_syslog): the instance's
    # webhook and its signing secret (else the file alert-webhook.secret in data_dir),
    # syslog (udp://host:port, tcp://host:port or a unix socket path), and whether
    # accounts' hooks may reach private and loopback addresses (services.alert_targets).
    alert_webhook: str | None = None
    alert_webhook_secret: str | None = None
    syslog: str | None = None
    alert_hooks_private: bool = False

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def uses_tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def web_dir(self) -> Path:
        override = os.environ.get("LIVELENS_WEB_DIR")
        return Path(override) if override else Path(__file__).resolve().parent / "web"


def store_url_for(data_dir: Path, store: str | None) -> str:
    return store or f"sqlite:///{(data_dir / 'livelens.db').resolve()}"
