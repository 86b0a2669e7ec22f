"""Join links are made only for names the server answers to (http/hosts.py)."""

import pytest

from livelens.http import hosts

LAN = ("192.168.1.20", 8443)


@pytest.mark.parametrize(
    ("host", "local", "names", "base"),
    [
        ("192.168.1.20:8443", LAN, (), "https://192.168.1.20:8443"),  # the printed URL
        ("localhost:8443", ("127.0.0.1", 8443), (), "https://localhost:8443"),
        ("[::1]:8443", ("::1", 8443), (), "https://[::1]:8443"),
        ("127.0.0.1:8443", ("::ffff:127.0.0.1", 8443), (), "https://127.0.0.1:8443"),
        ("Support.LAN:8443", LAN, ("support.lan",), "https://support.lan:8443"),
        ("support.lan", ("192.168.1.20", 443), ("support.lan",), "https://support.lan"),
        ("support.lan:443", ("192.168.1.20", 443), ("support.lan",), "https://support.lan"),
    ],
)
def test_the_servers_own_names_make_links(
    host: str, local: tuple[str, int], names: tuple[str, ...], base: str
) -> None:
    assert hosts.link_base(host, "https", local, frozenset(names)) == base


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:8443",  # a name nobody configured
        "evil.example",
        "192.168.1.21:8443",  # another machine's address
        "localhost:8443",  # came in on the LAN address, not loopback
        "192.168.1.20:9000",  # another port
        "192.168.1.20",  # the default port, 443, is not this one
        "192.168.1.20:8443@evil.example",
        "evil.example/x",
        "[::1",
        "",
        "192.168.1.20:0",
        "192.168.1.20:+8443",
    ],
)
def test_other_hosts_make_none(host: str) -> None:
    assert hosts.link_base(host, "https", LAN, frozenset({"support.lan"})) is None


def test_configured_names_are_the_bind_name_and_the_allowed_ones() -> None:
    assert hosts.configured_names("0.0.0.0", ()) == frozenset()
    assert hosts.configured_names("Help.Acme.test", [" extra.lan ", ""]) == frozenset(
        {"help.acme.test", "extra.lan"}
    )
