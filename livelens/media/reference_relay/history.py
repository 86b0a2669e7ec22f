"""The last N packets of a source by sequence number, for answering NACKs."""

from __future__ import annotations

from livelens.media.rtp import RtpPacket


def valid_history_size(size: int) -> bool:
    return 0 < size <= 65536 and not 65536 % size


class History:
    """The last N packets of a source, by sequence number (N divides 65536, so wraps align)."""

    def __init__(self, size: int) -> None:
        if not valid_history_size(size):
            raise ValueError("history size must be a power of two up to 65536")
        self._slots: list[RtpPacket | None] = [None] * size

    def put(self, packet: RtpPacket) -> None:
        self._slots[packet.sequence_number % len(self._slots)] = packet

    def get(self, seq: int) -> RtpPacket | None:
        packet = self._slots[seq % len(self._slots)]
        return packet if packet is not None and packet.sequence_number == seq else None

    def clear(self) -> None:
        self._slots = [None] * len(self._slots)
