//! Counters as Python dicts, built here from the cores' typed snapshots (no JSON on the
//! way). The relay's dict is the reference relay's `stats()`, value for value; legs are
//! named by a function the caller gives (the `Relay` class's names, or the port's
//! numbers and whatever names Python gave them).

use std::net::SocketAddr;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::net::endpoint::{Counters, PortStats, SessionStats, TransportStats};
use crate::relay::{DropReason, LegId, RelayStats, SinkStats, SourceStats};
use crate::srtp;

/// How the caller calls a leg.
pub type LegName<'a, 'py> = &'a dyn Fn(LegId) -> PyResult<Bound<'py, PyAny>>;

fn drops<'py>(
    py: Python<'py>,
    reasons: impl Iterator<Item = (DropReason, u64)>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (reason, n) in reasons {
        dict.set_item(reason.as_str(), n)?;
    }
    Ok(dict)
}

/// The reference relay's `stats()`: totals (those counted so far, and every drop
/// reason), and per leg its gate, transport state, drops and streams.
pub fn relay<'py>(
    py: Python<'py>,
    stats: &RelayStats,
    name: LegName<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let totals = PyDict::new(py);
    for (total, n) in stats.totals.counted() {
        totals.set_item(total.as_str(), n)?;
    }
    // Relay-wide drops list every reason; per leg and stream only those that happened.
    totals.set_item("drops", drops(py, stats.drops.all())?)?;
    let legs = PyDict::new(py);
    for leg in &stats.legs {
        let sources = PyDict::new(py);
        for (kind, s) in &leg.sources {
            sources.set_item(kind.as_str(), source(py, s, name)?)?;
        }
        let sinks = PyDict::new(py);
        for (kind, s) in &leg.sinks {
            sinks.set_item(kind.as_str(), sink(py, s, name)?)?;
        }
        let entry = PyDict::new(py);
        entry.set_item("connected", leg.connected)?;
        entry.set_item("forwarding", leg.forwarding)?;
        entry.set_item("drops", drops(py, leg.drops.nonzero())?)?;
        entry.set_item("sources", sources)?;
        entry.set_item("sinks", sinks)?;
        legs.set_item(name(leg.id)?, entry)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("totals", totals)?;
    dict.set_item("legs", legs)?;
    Ok(dict)
}

fn source<'py>(
    py: Python<'py>,
    s: &SourceStats,
    name: LegName<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let sinks = s
        .sinks
        .iter()
        .map(|&leg| name(leg))
        .collect::<PyResult<Vec<_>>>()?;
    let dict = PyDict::new(py);
    dict.set_item("ssrc", s.ssrc)?;
    dict.set_item("rtx_ssrc", s.rtx_ssrc)?;
    dict.set_item("packets", s.packets)?;
    dict.set_item("bytes", s.bytes)?;
    dict.set_item("rtx_packets", s.rtx_packets)?;
    dict.set_item("padding_only", s.padding_only)?;
    dict.set_item("lost", s.lost)?;
    dict.set_item("keyframe_requests_sent", s.keyframe_requests_sent)?;
    dict.set_item("nacks_forwarded", s.nacks_forwarded)?;
    dict.set_item("sinks", PyList::new(py, sinks)?)?;
    dict.set_item("drops", drops(py, s.drops.nonzero())?)?;
    Ok(dict)
}

fn sink<'py>(
    py: Python<'py>,
    s: &SinkStats,
    name: LegName<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("ssrc", s.ssrc)?;
    dict.set_item("rtx_ssrc", s.rtx_ssrc)?;
    dict.set_item("source", s.source.map(name).transpose()?)?;
    dict.set_item("packets", s.packets)?;
    dict.set_item("bytes", s.bytes)?;
    dict.set_item("retransmits", s.retransmits)?;
    dict.set_item("receiver_lost", s.receiver_lost)?;
    dict.set_item("keyframe_requests_received", s.keyframe_requests_received)?;
    dict.set_item("nacks_received", s.nacks_received)?;
    dict.set_item("sender_reports", s.sender_reports)?;
    dict.set_item("drops", drops(py, s.drops.nonzero())?)?;
    Ok(dict)
}

/// An SRTP context's counters: successes per operation, refusals by reason.
pub fn srtp<'py>(py: Python<'py>, stats: &srtp::Stats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in stats.fields() {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

/// `(ip, port)`, as `MediaSocket.local_address` and the events have it.
pub fn address(a: SocketAddr) -> (String, u16) {
    (a.ip().to_string(), a.port())
}

fn counters<'py>(py: Python<'py>, c: &Counters) -> PyResult<Bound<'py, PyDict>> {
    let rx_packets = PyDict::new(py);
    for (kind, n) in &c.rx_packets {
        rx_packets.set_item(*kind, *n)?;
    }
    let drops = PyDict::new(py);
    for (reason, n) in &c.drops {
        drops.set_item(*reason, *n)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("rx_packets", rx_packets)?;
    dict.set_item("rx_bytes", c.rx_bytes)?;
    dict.set_item("tx_packets", c.tx_packets)?;
    dict.set_item("tx_bytes", c.tx_bytes)?;
    dict.set_item("drops", drops)?;
    Ok(dict)
}

fn transport<'py>(py: Python<'py>, t: &TransportStats) -> PyResult<Bound<'py, PyDict>> {
    let dict = counters(py, &t.counters)?;
    dict.set_item("session", t.session)?;
    dict.set_item("leg", t.leg)?;
    dict.set_item("nominated", t.nominated.map(address))?;
    dict.set_item("srtp", t.srtp.as_ref().map(|s| srtp(py, s)).transpose()?)?;
    Ok(dict)
}

/// `MediaSocket.stats()`: the port's own counters, every transport's by its id.
pub fn port<'py>(py: Python<'py>, stats: &PortStats) -> PyResult<Bound<'py, PyDict>> {
    let transports = PyDict::new(py);
    for (id, t) in &stats.transports {
        transports.set_item(*id, transport(py, t)?)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("port", counters(py, &stats.port)?)?;
    dict.set_item("transports", transports)?;
    dict.set_item("sessions", stats.sessions)?;
    Ok(dict)
}

/// `MediaSocket.session_stats()`: the relay's counters and each leg's transport.
pub fn session<'py>(
    py: Python<'py>,
    stats: &SessionStats,
    name: LegName<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = match &stats.router {
        Some(router) => relay(py, router, name)?,
        None => relay(py, &RelayStats::default(), name)?,
    };
    let transports = PyDict::new(py);
    for (leg, t) in &stats.legs {
        transports.set_item(name(*leg)?, transport(py, t)?)?;
    }
    dict.set_item("transports", transports)?;
    Ok(dict)
}
