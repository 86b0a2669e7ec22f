"""The media port's ICE-TCP path beside its UDP path, in one run, measured the same way:
the product's ``MediaSocket`` (its UDP thread and its TCP twin's thread, endpoint, Rust
relay) relaying one SRTP sender to 1, 4 and 8 receivers on 127.0.0.1, each client over
UDP datagrams or over its own ICE-TCP connection (RFC 4571 frames).

The clients are plain Python (no browser has ICE-TCP to script, and aiortc has none):
each leg does a nominating STUN check with the ICE credentials its transport was given,
over its UDP socket or its TCP connection, and the SRTP keys (AEAD_AES_128_GCM) are
installed directly (``set_srtp_keys``), so neither path pays for DTLS. The sender paces
pre-protected 1,200-byte VP8 packets (``benchmarks.loopback_reference``'s sender); the
receivers, one process, count what arrives.

Figures per path and receiver count:

* **forwarded packets/s per core**: packets the receivers got, divided by the CPU time of
  the data plane's threads (``livelens-media`` and ``livelens-media-tcp``, from
  ``/proc/self/task/<tid>/sched``), at one fixed offered rate (``--rate``, the same for
  both paths). This is not the maximum rate (``relay_loopback`` finds that for UDP): the
  Python clients cannot drive the Rust port to its limit, so both paths are compared at
  a load the clients sustain, where batching helps less than at saturation;
* loss at that rate;
* **added latency p50 / p99**: the send time travels in the payload; every packet is
  decrypted at a lower rate (``--latency-rate``), through the port and *directly* (the
  same sender, SRTP and client code straight to one receiver, over UDP or over one TCP
  connection), three rounds alternating, the median round's percentiles; *added* is the
  difference, what the port's hop costs on that transport (Python's own receive loop
  is in both and cancels out).

On 2+ cores the port's threads run on CPU 0 and the clients on CPU 1 (as in
``loopback_reference``). ``python -m benchmarks.tcp_path``; one JSON line per path and
receiver count, which ``benchmarks.report`` tabulates.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import select
import selectors
import socket
import struct
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.loopback_reference import (
    CLIENT_CPU,
    LATENCY_ROUNDS,
    PROFILE,
    QUIET_S,
    RELAY_CPU,
    Sender,
    _send_time,
    keys,
    median_round,
    packets_for,
    percentile,
    pin,
    video_line,
)
from livelens._fastpath import MediaSocket, SrtpContext, TransportNominated
from tests.media.clients import binding_request

PWD = "bench-password-0123456789"
SESSION = 1
# The port's threads, as /proc shows their names (cut to 15 characters).
THREADS = tuple(name[:15] for name in ("livelens-media", "livelens-media-tcp"))
SENDER_LEG = 0


def ufrag(leg: int) -> str:
    return f"leg{leg:04d}"


def frame(payload: bytes) -> bytes:
    return struct.pack("!H", len(payload)) + payload


def threads_cpu_s(names: tuple[str, ...] = THREADS) -> float:
    """CPU seconds of this process's threads called ``names``."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            if (task / "comm").read_text().strip() not in names:
                continue
            for line in (task / "sched").read_text().splitlines():
                if line.startswith("se.sum_exec_runtime"):
                    total += float(line.split(":")[1]) / 1000
    return total


# ---------------------------------------------------------------- a client's link


class Link:
    """One client leg's way to a peer: a UDP socket, or a TCP connection with RFC 4571
    frames (``sendto`` frames and ignores the address, so the loopback sender paces it)."""

    def __init__(self, mode: str, sock: socket.socket, peer: tuple[str, int]) -> None:
        self.mode, self.sock, self.peer = mode, sock, peer
        self.pending = b""
        self.closed = False  # the connection's end was read

    @classmethod
    def to(cls, mode: str, peer: tuple[str, int]) -> Link:
        if mode == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind(("127.0.0.1", 0))
        else:
            sock = socket.create_connection(peer)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(mode, sock, peer)

    def sendto(self, data: bytes, _: Any = None) -> None:
        if self.mode == "udp":
            self.sock.sendto(data, self.peer)
        else:
            self.sock.sendall(frame(data))

    def check_in(self, leg: int) -> None:
        """The nominating check of ``leg``'s transport; returns once it is answered."""
        request = binding_request(os.urandom(12), f"{ufrag(leg)}:cl{leg}", PWD, use_candidate=True)
        self.sendto(request)
        self.sock.settimeout(5)
        if not self.receive():
            raise RuntimeError(f"leg {leg}: no answer to its check")
        self.sock.setblocking(False)

    def receive(self) -> list[bytes]:
        """What is waiting: datagrams, or the whole frames of what the connection holds."""
        got: list[bytes] = []
        while True:
            try:
                data = self.sock.recv(65536) if self.mode == "tcp" else self.sock.recv(2048)
            except (BlockingIOError, TimeoutError):
                break
            if self.mode == "udp":
                got.append(data)
                if self.sock.gettimeout():
                    break
                continue
            if not data:
                self.closed = True
                break
            self.pending += data
            while len(self.pending) >= 2:
                (length,) = struct.unpack_from("!H", self.pending)
                if len(self.pending) < 2 + length:
                    break
                got.append(self.pending[2 : 2 + length])
                self.pending = self.pending[2 + length :]
            if got and self.sock.gettimeout():
                break
        return got


def accept_direct(mode: str) -> tuple[Link, tuple[str, int], socket.socket | None]:
    """A receiving end the sender reaches directly: a UDP socket or a TCP listener."""
    kind = socket.SOCK_DGRAM if mode == "udp" else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    if mode == "udp":
        return Link(mode, sock, ("127.0.0.1", 0)), sock.getsockname(), None
    sock.listen(1)
    return Link(mode, sock, ("127.0.0.1", 0)), sock.getsockname(), sock


# ---------------------------------------------------------------- client processes


def receive_process(control: Connection, mode: str, legs: list[int], timed: bool) -> None:
    """Receivers on ``legs`` (or, with no legs, one direct receiver): check in, count what
    arrives until the sender is done and the line is quiet, with ``timed`` decrypt each
    packet and read its send time."""
    pin(CLIENT_CPU)
    if legs:
        port = control.recv()
        links = [Link.to(mode, ("127.0.0.1", port)) for _ in legs]
        for leg, link in zip(legs, links, strict=True):
            link.check_in(leg)
        contexts = [SrtpContext(PROFILE, *keys(leg)) for leg in legs]
    else:
        link, address, listener = accept_direct(mode)
        control.send(address)
        if listener is not None:
            conn, _ = listener.accept()
            link = Link(mode, conn, address)
        link.sock.setblocking(False)
        links, contexts = [link], [SrtpContext(PROFILE, *keys(SENDER_LEG + 1))]
    control.send("ready")
    selector = selectors.DefaultSelector()
    for i, link in enumerate(links):
        selector.register(link.sock, selectors.EVENT_READ, i)
    received, last, done = 0, 0, False
    delays: list[float] = []
    while True:
        events = selector.select(QUIET_S if done else 0.5)
        if not events and done:
            break
        for key, _ in events:
            i = key.data
            if links[i].closed:
                selector.unregister(links[i].sock)  # the direct sender is gone
            for data in links[i].receive():
                if not 0x80 <= data[0] <= 0xBF or 192 <= data[1] <= 223:
                    continue  # STUN, or the port's RTCP
                now = last = time.monotonic_ns()
                received += 1
                if timed:
                    delays.append((now - _send_time(contexts[i].unprotect(data))) / 1e3)
        if not done and control.poll():
            control.recv()
            done = True
    control.send((received, delays, last))


def send_process(control: Connection, mode: str, count: int, rate: float, timed: bool) -> None:
    """The sender: checks in as leg 0 (or reaches the direct receiver), waits for go,
    sends ``count`` packets at ``rate``, reports how long that took."""
    pin(CLIENT_CPU)
    target = control.recv()  # the port's number, or the direct receiver's address
    sender = Sender(SENDER_LEG if isinstance(target, int) else SENDER_LEG + 1)
    if isinstance(target, int):
        link = Link.to(mode, ("127.0.0.1", target))
        link.check_in(SENDER_LEG)
    else:
        link = Link.to(mode, (str(target[0]), int(target[1])))
    control.send("ready")
    control.recv()  # go
    started = time.monotonic_ns()
    sender.sock = link  # type: ignore[assignment]  # a Link sends as the socket did
    sender.run(link.peer, count, rate, stamp=timed)
    control.send(((time.monotonic_ns() - started) / 1e9, started))


# ---------------------------------------------------------------- one step


def answer(conn: Connection, within: float = 60.0) -> Any:
    """What a client process says next; an error if it says nothing (it died)."""
    if not conn.poll(within):
        raise RuntimeError("a bench client did not answer")
    return conn.recv()


def wait_nominated(sock: MediaSocket, transports: int) -> None:
    nominated: set[int] = set()
    deadline = time.monotonic() + 10
    while len(nominated) < transports:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(nominated)} of {transports} legs checked in")
        select.select([sock.wakeup_fd()], [], [], 0.2)
        with contextlib.suppress(BlockingIOError):
            os.read(sock.wakeup_fd(), 4096)
        nominated |= {e.transport for e in sock.poll_events() if isinstance(e, TransportNominated)}


def set_up(sock: MediaSocket, receivers: int) -> None:
    """The session: the sender's leg routed to each receiver's, keys installed."""
    transports = [sock.add_transport(SESSION, leg, ufrag(leg), PWD) for leg in range(receivers + 1)]
    return_key = keys(100)  # what the port would send the sender (its RTCP)
    for leg, transport in enumerate(transports):
        tx = keys(leg) if leg else return_key
        rx = keys(SENDER_LEG) if leg == SENDER_LEG else keys(100 + leg)
        sock.set_srtp_keys(transport, PROFILE, *tx, *rx)
        recv_ssrc = 0x12345678 if leg == SENDER_LEG else None
        sock.add_leg(SESSION, leg, transport, [video_line(1000 + leg, recv_ssrc)], True)
        sock.switch(SESSION, leg, "connected", True)
        if leg != SENDER_LEG:
            sock.add_route(SESSION, SENDER_LEG, leg, "video")


def one_step(mode: str, receivers: int, rate: float, seconds: float, timed: bool) -> dict[str, Any]:
    """``rate`` packets/s for ``seconds`` through a fresh port; receivers 0: direct."""
    ctx = multiprocessing.get_context("fork")
    rx, rx_child = ctx.Pipe()
    tx, tx_child = ctx.Pipe()
    count = packets_for(rate, seconds)
    receiving = ctx.Process(
        target=receive_process, args=(rx_child, mode, list(range(1, receivers + 1)), timed)
    )
    sending = ctx.Process(target=send_process, args=(tx_child, mode, count, rate, timed))
    receiving.start()
    sending.start()
    port: MediaSocket | None = None
    closed: dict[str, int] = {}
    try:
        if receivers:
            port = MediaSocket("127.0.0.1", 0)
            set_up(port, receivers)
            number = port.local_address[1]
            rx.send(number)
            tx.send(number)
            wait_nominated(port, receivers + 1)
        else:
            tx.send(answer(rx))  # the direct receiver's address
        assert answer(rx) == "ready" and answer(tx) == "ready"
        cpu = threads_cpu_s()
        tx.send("go")
        sending_s, started = answer(tx)
        rx.send("done")
        received, delays, last = answer(rx)
        cpu = threads_cpu_s() - cpu
    finally:
        if port is not None:
            closed = port.stats()["tcp"]["closed"]  # ICE-TCP connections the port cut
            port.close()
        for process in (receiving, sending):
            process.join(5)
            if process.is_alive():  # the step failed: its clients wait for nothing
                process.terminate()
                process.join()
    expected = count * max(receivers, 1)
    return {
        "forwarded": received,
        "loss": 1 - received / expected,
        "cpu_s": cpu,
        "wall_s": max(sending_s, (last - started) / 1e9),
        "delays": delays,
        "closed": closed,
    }


def measure(
    mode: str, receivers: int, rate: float, latency_rate: float, seconds: float
) -> dict[str, Any]:
    step = one_step(mode, receivers, rate, seconds, timed=False)
    via, direct = [], []
    for _ in range(LATENCY_ROUNDS):  # alternating, the median round counts
        delays = one_step(mode, receivers, latency_rate, 1.0, timed=True)["delays"]
        via.append((percentile(delays, 50), percentile(delays, 99)))
        delays = one_step(mode, 0, latency_rate, 1.0, timed=True)["delays"]
        direct.append((percentile(delays, 50), percentile(delays, 99)))
    (p50, p99), (d50, d99) = median_round(via), median_round(direct)
    return {
        "bench": "tcp_path",
        "path": mode,
        "receivers": receivers,
        "offered_pps": rate,
        "forwarded_pps": step["forwarded"] / step["wall_s"],
        "per_core_pps": step["forwarded"] / max(step["cpu_s"], 1e-9),
        "cpu_utilisation": step["cpu_s"] / step["wall_s"],
        "loss": step["loss"],
        "p50_us": p50,
        "p99_us": p99,
        "direct_p50_us": d50,
        "direct_p99_us": d99,
        "latency_pps": latency_rate,
        "profile": PROFILE,
        "tcp_closed": step["closed"],  # connections the port cut (none expected)
    }


def table(lines: list[str]) -> list[str]:
    """The README's table of this bench's JSON lines (``benchmarks.report``)."""
    from benchmarks.report import latency_cells  # report imports this module

    rows = {(r["receivers"], r["path"]): r for r in map(json.loads, filter(str.strip, lines))}
    if not rows:
        return []

    out = [
        "### ICE-TCP beside UDP: the media port, one SRTP sender to N receivers",
        "",
        "| receivers | path | forwarded pkt/s | data-plane CPU | **forwarded pkt/s per core** "
        "| **UDP / TCP per core** | loss | latency p50 / p99 via port (µs) "
        "| direct p50 / p99 (µs) | **added p50 / p99 (µs)** |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for (n, path), r in sorted(rows.items(), key=lambda item: (item[0][0], item[0][1] != "udp")):
        udp = rows.get((n, "udp"))
        ratio = (
            f"{udp['per_core_pps'] / r['per_core_pps']:.2f}\N{MULTIPLICATION SIGN}"
            if udp and path == "tcp"
            else ""
        )
        out.append(
            f"| {n} | {path} | {r['forwarded_pps']:,.0f} | {r['cpu_utilisation']:.0%} "
            f"| {r['per_core_pps']:,.0f} | {ratio} | {r['loss']:.2%} " + latency_cells(r)
        )
    first = next(iter(rows.values()))
    out += [
        "",
        f"`benchmarks/tcp_path.py`: the product's `MediaSocket`, Python clients over UDP or "
        f"their own ICE-TCP connection, keys installed directly. Both paths at the same "
        f"offered {first['offered_pps']:,.0f} packets/s (not the maximum: see "
        f"`relay_loopback` for UDP's), CPU of the port's UDP and TCP threads; latency at "
        f"{first['latency_pps']:,.0f} packets/s, every packet decrypted, median of three "
        f"rounds; *direct* is the same sender to one receiver over the same transport.",
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receivers", default="1,4,8")
    parser.add_argument("--rate", type=float, default=5000.0, help="offered packets/s")
    parser.add_argument("--latency-rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--markdown", action="store_true", help="print the table at the end")
    args = parser.parse_args()
    pin(RELAY_CPU)  # the port's threads, started from this one, inherit it
    lines = []
    for n in (int(x) for x in args.receivers.split(",")):
        for mode in ("udp", "tcp"):
            lines.append(json.dumps(measure(mode, n, args.rate, args.latency_rate, args.seconds)))
            print(lines[-1], flush=True)
    if args.markdown:
        print("\n".join(table(lines)))


if __name__ == "__main__":
    main()
