"""The alerts waiting for delivery on one node: bounded, so that a flood of events or a
receiver that is down can hold only so much memory, and never makes anyone wait. No I/O.

Each entry is for one target (the instance's hook, or an account's) and waits until it
is due (at once, or after a failed try, when its retry is). The queue holds at most
``per_target`` entries of one target and ``capacity`` in all. Pushing into a full
queue drops the oldest waiting entry (of the same target when that target is at its
bound, so one account's dead receiver cannot crowd out the others): the newest alerts
are the ones that matter, and the oldest is often one a dead receiver keeps failing.
Entries being sent are never dropped; when every entry is being sent, the new one is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class Entry(Generic[T]):
    seq: int  # the order of arrival; a retry keeps its place
    target: str
    item: T
    due: float
    sending: bool = False


class AlertQueue(Generic[T]):
    def __init__(self, capacity: int = 1000, per_target: int = 100) -> None:
        if capacity < 1 or per_target < 1:
            raise ValueError("A queue holds at least one entry.")
        self.capacity, self.per_target = capacity, per_target
        self._entries: dict[int, Entry[T]] = {}  # by seq, oldest first
        self._per_target: dict[str, int] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)

    def push(self, target: str, item: T, due: float) -> Entry[T] | None:
        """Queue ``item`` for ``target``, due at ``due``; the entry dropped to make room
        (possibly the new one itself), if one was."""
        self._seq += 1
        entry = Entry(self._seq, target, item, due)
        dropped = None
        if self._per_target.get(target, 0) >= self.per_target:
            dropped = self._oldest_waiting(target) or entry
        elif len(self._entries) >= self.capacity:
            dropped = self._oldest_waiting(None) or entry
        if dropped is entry:
            return entry
        if dropped is not None:
            self._remove(dropped)
        self._entries[entry.seq] = entry
        self._per_target[target] = self._per_target.get(target, 0) + 1
        return dropped

    def take_due(self, now: float, limit: int, each: int | None = None) -> list[Entry[T]]:
        """Up to ``limit`` waiting entries due by ``now`` (at most ``each`` of one target:
        a slow receiver cannot take every place), oldest first, marked as being sent:
        :meth:`done` or :meth:`retry` each."""
        taken: list[Entry[T]] = []
        per_target: dict[str, int] = {}
        for entry in self._entries.values():
            if len(taken) >= limit:
                break
            count = per_target.get(entry.target, 0)
            if not entry.sending and entry.due <= now and (each is None or count < each):
                entry.sending = True
                per_target[entry.target] = count + 1
                taken.append(entry)
        return taken

    def done(self, entry: Entry[T]) -> None:
        """The entry was delivered, or given up: it leaves the queue."""
        if self._entries.get(entry.seq) is entry:
            self._remove(entry)

    def retry(self, entry: Entry[T], due: float) -> None:
        """The entry waits again, until ``due``, in its place."""
        entry.sending, entry.due = False, due

    def next_due(self) -> float | None:
        """When the next waiting entry is due (None: nothing waits)."""
        return min((e.due for e in self._entries.values() if not e.sending), default=None)

    def _oldest_waiting(self, target: str | None) -> Entry[T] | None:
        for entry in self._entries.values():
            if not entry.sending and (target is None or entry.target == target):
                return entry
        return None

    def _remove(self, entry: Entry[T]) -> None:
        del self._entries[entry.seq]
        left = self._per_target[entry.target] - 1
        if left:
            self._per_target[entry.target] = left
        else:
            del self._per_target[entry.target]
