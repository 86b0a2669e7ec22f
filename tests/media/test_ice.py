"""Host-candidate addresses are chosen per call, not for the whole process."""

from __future__ import annotations

import asyncio

import aioice.ice
import pytest

from livelens.media import ice


def test_addresses_apply_only_inside_the_block() -> None:
    ice.install()
    ice.install()  # idempotent
    outside = aioice.ice.get_host_addresses(True, True)
    assert "127.0.0.1" not in outside  # aioice's own choice never offers loopback
    with ice.host_addresses(["127.0.0.1", "::1"]):
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == ["::1"]
        with ice.host_addresses(None):
            assert aioice.ice.get_host_addresses(True, True) == outside
    assert aioice.ice.get_host_addresses(True, True) == outside


async def test_concurrent_blocks_do_not_see_each_other() -> None:
    seen: dict[str, list[str]] = {}

    async def gather(name: str, address: str) -> None:
        with ice.host_addresses([address]):
            await asyncio.sleep(0)  # let the other task run inside its own block
            seen[name] = aioice.ice.get_host_addresses(True, True)

    await asyncio.gather(gather("a", "10.0.0.1"), gather("b", "192.168.1.7"))
    assert seen == {"a": ["10.0.0.1"], "b": ["192.168.1.7"]}


def test_only_ip_literals_are_accepted() -> None:
    assert ice.validate(["10.0.0.1", "0:0::0001"]) == ("10.0.0.1", "::1")
    with pytest.raises(ValueError, match="does not appear"):
        ice.validate(["lan.example"])
