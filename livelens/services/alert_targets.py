"""Where alert webhooks may point. No I/O.

An account's administrator chooses their hook's URL, and the server then makes POST
requests to it: without limits, that is a way into the operator's own network (SSRF:
the metadata service at 169.254.169.254, an admin port on localhost, a database on
10.0.0.0/8). So, by default, an account's hook

- must be ``https://`` (alerts and their signature are not sent in the clear),
- carries no user name or password in the URL (it is shown to every administrator),
- may not name a loopback, private, link-local, shared (CGNAT), multicast or reserved
  address, nor ``localhost`` or a ``.localhost``/``.local``/``.internal`` name; and
- a host name is checked again when it is resolved for each delivery, and the request
  goes to the checked address only (``alert_delivery.PublicOnlyResolver``): a name that
  resolves into the operator's network, or changes to do so later (DNS rebinding), is
  refused there.

The instance's operator may lift this (``--alert-hooks-private yes``) for on-premises
receivers and tests: then private and loopback targets are allowed, and ``http://``
too, but only to a loopback address. The instance's own hook (``--alert-webhook``) is
the operator's choice and is not limited beyond being an http(s) URL.
"""

from __future__ import annotations

import argparse
import ipaddress
from urllib.parse import SplitResult, urlsplit

from livelens.errors import InvalidInput

MAX_URL = 1024
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


def is_public(address: str) -> bool:
    """Whether an IP address is on the public Internet (not loopback, private,
    link-local, shared, multicast, reserved or unspecified); an IPv4 address inside
    IPv6 (mapped, NAT64 or 6to4) is judged as the IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(str(inner))
    return ip.is_global and not ip.is_multicast


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parts(url: str, what: str) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise InvalidInput(f"Give the {what} URL, starting with https://.", field="url")
    if len(url) > MAX_URL:
        raise InvalidInput(f"The {what} URL is too long (at most {MAX_URL} characters).",
                           field="url")  # fmt: skip
    if any(not c.isprintable() or c.isspace() for c in url):
        raise InvalidInput(f"The {what} URL cannot contain spaces or control characters.",
                           field="url")  # fmt: skip
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        raise InvalidInput(f"The {what} URL is not a valid URL.", field="url") from None
    if not url.startswith(("https://", "http://")) or not parts.hostname:
        raise InvalidInput(f"The {what} URL must start with https:// and name a host.",
                           field="url")  # fmt: skip
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"The {what} URL cannot carry a user name or password; use the "
                           "signature to authenticate LiveLens.", field="url")  # fmt: skip
    return parts


def check_account_url(url: str, *, allow_private: bool = False) -> str:
    """An account's hook URL as it is, or InvalidInput saying what is wrong with it."""
    parts = _parts(url, "webhook")
    host = (parts.hostname or "").rstrip(".").lower()
    loopback = _is_loopback(host)
    if parts.scheme == "http" and not (allow_private and loopback):
        raise InvalidInput("The webhook URL must start with https://.", field="url")
    if not allow_private:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not is_public(host):
            raise InvalidInput("The webhook cannot point to a private, loopback or reserved "
                               "address: it must be reachable on the Internet.",
                               field="url")  # fmt: skip
        if loopback or host.endswith(_LOCAL_SUFFIXES) or (literal is None and "." not in host):
            raise InvalidInput("The webhook must name a public host name, not a local one.",
                               field="url")  # fmt: skip
    return url


def check_instance_url(url: str) -> str:
    """The instance's hook URL (the operator's choice: any http or https URL)."""
    _parts(url, "alert webhook")
    return url


def webhook_option(value: str) -> str:
    """``--alert-webhook`` as argparse takes it ("" for none)."""
    if not value.strip():
        return ""
    try:
        return check_instance_url(value.strip())
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def shown_host(url: str) -> str:
    """The host of a hook's URL, for logs and the audit log (its path may hold a secret,
    as some receivers' URLs do)."""
    return urlsplit(url).hostname or "?"
