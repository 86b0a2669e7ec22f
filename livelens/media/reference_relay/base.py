"""What the relay's concerns share: its legs, settings, randomness and counters, and how
a packet is counted and queued. Each concern is a class of its own that :class:`Relay`
inherits from (``session``)."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from livelens.media.reference_relay.rng import RandomBits
from livelens.media.reference_relay.stats import DropReason
from livelens.media.reference_relay.streams import Leg, LegId


class Transmit(NamedTuple):
    """One plaintext RTP or RTCP packet for the adapter to protect and send on a leg."""

    leg_id: LegId
    data: bytes


class RelayBase:
    """The state :class:`Relay` sets up, and what every concern does with it."""

    _rng: RandomBits
    _history_size: int
    _keyframe_interval: float
    _legs: dict[LegId, Leg]
    _totals: Counter[str]
    _total_drops: Counter[str]

    def _drop(self, drops: Counter[str], reason: DropReason) -> None:
        drops[reason] += 1
        self._total_drops[reason] += 1

    def _emit(self, out: list[Transmit], leg: Leg, data: bytes, *, rtcp: bool) -> None:
        self._totals["rtcp_out" if rtcp else "rtp_out"] += 1
        self._totals["bytes_out"] += len(data)
        out.append(Transmit(leg.id, data))
