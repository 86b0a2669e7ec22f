"""Which names this server answers to, for the links it hands out (no I/O).

A join link is built from ``--public-url`` when it is set. Otherwise it is built from
the Host header of the agent's request, which the client chooses: taken as it comes, a
forged ``Host: evil.example`` would send the customer, link token and all, to someone
else's server. So a Host is used only when it names this server:

* an IP address: the very address the request came in on (a phone on the LAN reaches
  the server by the address ``livelens serve`` prints, and so does the console);
* ``localhost``, for a request that came in on a loopback address;
* a name the operator gave: ``--host`` when it is a name, or ``--allowed-hosts``;

and only with the port the request came in on. Behind a reverse proxy or port
forwarding, none of these hold: set ``--public-url``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection

DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket shows IPv4 clients this way
    return address


def split(host: str) -> tuple[str, int | None] | None:
    """A Host header's name (lower case; an IPv6 address without brackets) and port;
    None when it is not a host name or address with an optional port."""
    host = host.strip().lower()
    if host.startswith("["):
        inside, bracket, rest = host[1:].partition("]")
        if not bracket or _address(inside) is None or (rest and not rest.startswith(":")):
            return None
        name, port_text = inside, rest[1:] if rest else None
    else:
        name, colon, port_text_or_empty = host.partition(":")
        port_text = port_text_or_empty if colon else None
        if _address(name) is None and not _NAME.match(name):
            return None
    if port_text is None:
        return name.rstrip("."), None
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name.rstrip("."), int(port_text)


def configured_names(bind_host: str, allowed: Collection[str]) -> frozenset[str]:
    """The names the operator said the server is reached by (never addresses: those are
    checked against the connection)."""
    names = {n.strip().lower().rstrip(".") for n in allowed if n.strip()}
    if _address(bind_host) is None:
        names.add(bind_host.lower().rstrip("."))
    return frozenset(names)


def link_base(
    host: str, scheme: str, local: tuple[str, int] | None, names: Collection[str]
) -> str | None:
    """``scheme://host[:port]`` for links when ``host`` (a Host header) names this server,
    reached at ``local`` (the address and port the request came in on); else None."""
    parts = split(host)
    if parts is None or local is None:
        return None
    name, port = parts
    local_ip, local_port = local
    if (port or DEFAULT_PORTS.get(scheme)) != local_port:
        return None
    address, arrived_on = _address(name), _address(local_ip)
    if address is not None:
        known = address == arrived_on
    elif name == "localhost":
        known = arrived_on is not None and arrived_on.is_loopback
    else:
        known = name in names
    if not known:
        return None
    shown = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address or name)
    default = DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{shown}" + ("" if port in (None, default) else f":{port}")
