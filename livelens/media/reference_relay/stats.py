"""Drop reasons, and the shape of the counters in :meth:`Relay.stats`."""

from __future__ import annotations

from collections import Counter
from typing import Literal

DropReason = Literal[
    "malformed",  # leg: not parseable as RTP/RTCP
    "unknown_ssrc",  # leg: SSRC neither signalled nor learnable from the MID extension
    "no_route",  # source: nobody subscribes to it
    "codec_mismatch",  # source: PT not negotiated; sink: codec not negotiated with the receiver
    "gated",  # sink: the receiving leg's gate is closed
    "not_connected",  # sink: the receiving leg's transport is not up (yet)
    "not_selected",  # sink: another source currently holds this sink
]
DROP_REASONS: tuple[DropReason, ...] = (
    "malformed",
    "unknown_ssrc",
    "no_route",
    "codec_mismatch",
    "gated",
    "not_connected",
    "not_selected",
)


def drop_dict(drops: Counter[str]) -> dict[str, int]:
    return {reason: drops[reason] for reason in DROP_REASONS if drops[reason]}
