"""What the media port offers browsers as its host candidates: which IPs (IPv4 first,
then IPv6 where the port is bound dual-stack on ``::``), and which port number the
passive ICE-TCP candidate of the shared web port carries (the one browsers reach, which
behind a port-forward is the public URL's, not the one bound here). No I/O beyond
listing the machine's addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

import aioice.ice

_DEFAULT_PORTS = {"https": 443, "http": 80}


def advertised_addresses(bound: str, host_addresses: Sequence[str] | None) -> list[str]:
    """The IPs to offer as host candidates for a socket bound to ``bound``: that IP, or
    for a wildcard ``host_addresses`` (None: the machine's own, not loopback; IPv6 ones,
    after the IPv4 ones so their candidates rank lower, only for ``::``, which is bound
    dual-stack)."""
    ip = ipaddress.ip_address(bound)
    if not ip.is_unspecified:
        return [bound]
    if host_addresses is not None:
        return list(host_addresses)
    v4 = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    if ip.version == 4:
        return list(v4)
    # aioice leaves out ::1 and scoped (link-local) addresses, which a browser elsewhere
    # cannot reach.
    return list(v4) + list(aioice.ice.get_host_addresses(use_ipv4=False, use_ipv6=True))


def web_candidate_addresses(
    addresses: Sequence[str], web_listening: Sequence[str], announced: bool
) -> list[str]:
    """Which of the offered ``addresses`` get a candidate on the shared web port, which
    listens on the IPs ``web_listening``: those it is reachable on (an IPv6 address is no
    use to a browser when the web port listens on ``0.0.0.0`` only; ``::`` takes both).
    ``announced`` addresses (behind 1:1 NAT) are all kept: they forward, whatever is
    bound here."""
    if announced:
        return list(addresses)
    families: set[int] = set()
    specific: set[str] = set()
    for listening in web_listening:
        ip = ipaddress.ip_address(listening)
        if ip.is_unspecified:
            families.update((4, 6) if ip.version == 6 else (4,))
        else:
            specific.add(str(ip))
    return [a for a in addresses
            if a in specific or ipaddress.ip_address(a).version in families]  # fmt: skip


def public_web_port(public_url: str | None) -> int | None:
    """The port browsers reach the web server on, from ``--public-url`` (its explicit
    port, else its scheme's); None without a public URL (or an unusable one)."""
    if not public_url:
        return None
    try:
        parts = urlsplit(public_url)
        port = parts.port
    except ValueError:
        return None
    return port or _DEFAULT_PORTS.get(parts.scheme.lower())
