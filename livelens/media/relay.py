"""The two packet relays as Python objects: the Rust one (``livelens._fastpath.Relay``) and
the Python reference it is held to (``livelens.media.reference_relay.Relay``). Both have
the same API and, seeded alike, the same output.

``livelens serve`` uses neither through here: its media port runs the Rust relay inside
the data plane. These are for the tests that compare the two, for the aiortc media path
(:mod:`livelens.media.aiortc_path`, the test oracle and benchmark baseline) and for the
benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from livelens import _fastpath
from livelens.media import reference_relay
from livelens.media.reference_relay.streams import Switch
from livelens.media.streams import MediaKind, MediaLine

Transmit = tuple[str, bytes]  # (leg id, plaintext RTP/RTCP packet); the reference's unpacks so

# "fast": the Rust relay; "reference": the Python one it is tested against.
RelayKind = Literal["fast", "reference"]
RELAYS: tuple[RelayKind, ...] = ("fast", "reference")


class PacketRelay(Protocol):
    """A relay as Python drives it (see ``reference_relay`` for the semantics)."""

    def add_leg(
        self, leg_id: str, media: Iterable[MediaLine], *, forwarding: bool = False
    ) -> None: ...
    def remove_leg(self, leg_id: str) -> None: ...
    def add_route(self, source_leg: str, sink_leg: str, kind: MediaKind) -> bool: ...
    def remove_route(self, source_leg: str, sink_leg: str, kind: MediaKind) -> None: ...
    def switch(self, leg_id: str, switch: Switch, on: bool, now: float) -> Sequence[Transmit]: ...
    def handle_packet(self, leg_id: str, packet: bytes, now: float) -> Sequence[Transmit]: ...
    def next_timeout(self) -> float | None: ...
    def handle_timeout(self, now: float) -> Sequence[Transmit]: ...
    def stats(self) -> dict[str, object]: ...


def new_relay(kind: RelayKind) -> PacketRelay:
    if kind == "fast":
        return _fastpath.Relay()
    if kind == "reference":
        return reference_relay.Relay()
    raise ValueError(f"unknown relay {kind!r}")
