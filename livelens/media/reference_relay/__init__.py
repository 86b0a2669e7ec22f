"""Sans-IO packet relay: the reference the Rust data plane implements, and its test oracle.

The relay never opens sockets, starts tasks or reads a clock: every call takes the
input and ``now`` (seconds, any epoch) and returns the plaintext packets to send as
:class:`Transmit` values. SRTP is the adapter's job, per leg.

Vocabulary
    leg     one participant's transport (one BUNDLEd PeerConnection), by ``LegId``.
    source  a stream a leg sends to the server (one per kind: audio, video).
    sink    a stream the server sends to a leg (one per kind), on the SSRC from its answer.
    route   source -> sink; a sink may have several routes but forwards one source at a
            time (see Selection), because a browser m-line plays exactly one stream.
    segment a run of a sink's output from one source, with fixed seq/timestamp offsets.

Per sink the relay rewrites SSRC, payload type (mapped by codec identity), sequence
number (random start below 32768, then continuous across source switches and
wraps), timestamp (offset per segment), header extensions (ids remapped by URI,
unnegotiated ones dropped, MID value replaced, abs-send-time restamped) and the
RTX original sequence number. Feedback: PLI/FIR become a rate-limited PLI to the
source; NACKs are answered from a per-source history or forwarded, translated, to
the source; SRs from a source are translated for each sink.

Our own RTCP towards publishers (sender SSRC and CNAME: those of the leg's first m-line
the server sends on, else of its first m-line):
    receiver reports  REPORT_INTERVAL after a leg's first media packet, and every interval
            while it keeps sending, a compound RR + SDES with a block per source of the leg
            that sent since the last report: RFC 3550 extended highest sequence, cumulative
            and fractional loss (A.3, duplicates count as received, RTX-repaired packets
            do not), interarrival jitter in the codec's clock (A.8, integer form, from a
            frame's first in-order packet) and LSR/DLSR from the source's last SR. A leg
            that stops sending stops being reported on; a leg that is not connected gets
            nothing (and sets no deadline); the gate does not matter (it guards media).
    REMB    receivers' REMBs are remembered per sink; each video source gets the minimum
            over its routes' deliverable sinks that sent one, listing its media SSRC, at
            most once per REMB_INTERVAL unless it fell by more than 20 % (deferred values
            go out from handle_timeout). No receiver estimate: no REMB.
Both are timed only through next_timeout/handle_timeout, so the Rust relay matches.

Selection: a sink keeps its current source until that source has sent nothing for
SOURCE_IDLE_SWITCH, or (audio) another source is speaking while the current one is
not, judged by the RFC 6464 audio level, after SPEAKER_HOLD. A switch opens a new
segment: sequence numbers continue, timestamps advance by the wall time elapsed,
audio gets a marker bit, video asks the new source for a keyframe.

Gate: a leg with ``forwarding`` False receives nothing from anyone (counted as
"gated"). The media hub uses it so no customer media reaches an agent before the
customer's consent is recorded.

Randomness: sequence-number and timestamp starts come from the OS, or, given a ``seed``,
from splitmix64 (:class:`SplitMix64`, the same in the Rust relay), so that a seeded run
of this relay and of ``livelens._fastpath.Relay`` produce byte-identical output.

Counters (:meth:`Relay.stats`): totals (including ``rtcp_reports_sent`` and
``remb_forwarded``), and per leg its drops and per stream packets, bytes, losses (a
source's sequence gaps; a sink's loss as its receiver reports it) and drops by reason.

Modules, each the twin of one in the Rust relay (``rust_fastpath/src/relay/``):
``session`` (:class:`Relay`: its API and the topology) and, by concern, ``forwarding``,
``retransmission`` (NACKs and RTX), ``keyframes`` (PLI/FIR) and ``reports`` (SR, RR,
REMB); the state they share is in ``streams``, ``history``, ``rng``, ``stats`` and ``base``.
"""

from livelens.media.reference_relay.base import Transmit
from livelens.media.reference_relay.forwarding import SOURCE_IDLE_SWITCH, SPEAKER_HOLD
from livelens.media.reference_relay.keyframes import KEYFRAME_REQUEST_INTERVAL
from livelens.media.reference_relay.reports import REMB_INTERVAL, REPORT_INTERVAL
from livelens.media.reference_relay.retransmission import HISTORY_SIZE
from livelens.media.reference_relay.rng import SplitMix64
from livelens.media.reference_relay.session import Relay
from livelens.media.reference_relay.stats import DROP_REASONS, DropReason
from livelens.media.reference_relay.streams import (
    MAX_PENDING_RTX,
    MAX_SEGMENTS,
    SPEAKING_LEVEL,
    LegId,
)

__all__ = [
    "DROP_REASONS",
    "HISTORY_SIZE",
    "KEYFRAME_REQUEST_INTERVAL",
    "MAX_PENDING_RTX",
    "MAX_SEGMENTS",
    "REMB_INTERVAL",
    "REPORT_INTERVAL",
    "SOURCE_IDLE_SWITCH",
    "SPEAKER_HOLD",
    "SPEAKING_LEVEL",
    "DropReason",
    "LegId",
    "Relay",
    "SplitMix64",
    "Transmit",
]
