//! Counters as Python dicts, built here from the cores' typed snapshots (no JSON on the
//! way). The relay's dict is the reference relay's `stats()`, value for value; legs are
//! named by a function the caller gives (the `Relay` class's names, or the port's
//! numbers and whatever names Python gave them).

use std::net::SocketAddr;

use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyDict, PyList};

use crate::net::endpoint::{Counters, PortStats, SessionStats, TransportStats};
use crate::relay::{DropReason, LegId, MediaKind, RelayStats, SinkStats, SourceStats};
use crate::srtp;

/// How the caller calls a leg.
pub type LegName<'a, 'py> = &'a dyn Fn(LegId) -> PyResult<Bound<'py, PyAny>>;

/// What each of these builders returns.
type Dict<'py> = PyResult<Bound<'py, PyDict>>;

/// Sets `dict["field"] = stats.field` for each field named, in order.
macro_rules! set_fields {
    ($dict:ident, $stats:ident => $($field:ident),+ $(,)?) => {
        $($dict.set_item(stringify!($field), &$stats.$field)?;)+
    };
}

/// A dict of the pairs `items` yields, stopping at the first error.
fn try_dict<'py, K, V>(py: Python<'py>, items: impl Iterator<Item = PyResult<(K, V)>>) -> Dict<'py>
where
    K: IntoPyObject<'py>,
    V: IntoPyObject<'py>,
{
    let dict = PyDict::new(py);
    for item in items {
        let (key, value) = item?;
        dict.set_item(key, value)?;
    }
    Ok(dict)
}

/// A leg's sources or sinks by their kind, each stream's dict made by `stats`.
fn by_kind<'py, T>(
    py: Python<'py>,
    streams: &[(MediaKind, T)],
    stats: impl Fn(&T) -> Dict<'py>,
) -> Dict<'py> {
    try_dict(
        py,
        streams
            .iter()
            .map(|(kind, s)| Ok((kind.as_str(), stats(s)?))),
    )
}

fn drops<'py>(py: Python<'py>, reasons: impl Iterator<Item = (DropReason, u64)>) -> Dict<'py> {
    reasons
        .map(|(reason, n)| (reason.as_str(), n))
        .into_py_dict(py)
}

/// The reference relay's `stats()`: totals (those counted so far, and every drop
/// reason), and per leg its gate, transport state, drops and streams.
pub fn relay<'py>(py: Python<'py>, stats: &RelayStats, name: LegName<'_, 'py>) -> Dict<'py> {
    let totals = stats.totals.counted().map(|(total, n)| (total.as_str(), n));
    let totals = totals.into_py_dict(py)?;
    // Relay-wide drops list every reason; per leg and stream only those that happened.
    totals.set_item("drops", drops(py, stats.drops.all())?)?;
    let legs = PyDict::new(py);
    for leg in &stats.legs {
        let sources = by_kind(py, &leg.sources, |s| source(py, s, name))?;
        let sinks = by_kind(py, &leg.sinks, |s| sink(py, s, name))?;
        let entry = PyDict::new(py);
        set_fields!(entry, leg => connected, forwarding);
        entry.set_item("drops", drops(py, leg.drops.nonzero())?)?;
        entry.set_item("sources", sources)?;
        entry.set_item("sinks", sinks)?;
        legs.set_item(name(leg.id)?, entry)?;
    }
    [("totals", totals), ("legs", legs)].into_py_dict(py)
}

fn source<'py>(py: Python<'py>, s: &SourceStats, name: LegName<'_, 'py>) -> Dict<'py> {
    let sinks = s
        .sinks
        .iter()
        .map(|&leg| name(leg))
        .collect::<PyResult<Vec<_>>>()?;
    let dict = PyDict::new(py);
    set_fields!(dict, s => ssrc, rtx_ssrc, packets, bytes, rtx_packets, padding_only, lost,
        keyframe_requests_sent, nacks_forwarded);
    dict.set_item("sinks", PyList::new(py, sinks)?)?;
    dict.set_item("drops", drops(py, s.drops.nonzero())?)?;
    Ok(dict)
}

fn sink<'py>(py: Python<'py>, s: &SinkStats, name: LegName<'_, 'py>) -> Dict<'py> {
    let dict = PyDict::new(py);
    set_fields!(dict, s => ssrc, rtx_ssrc);
    dict.set_item("source", s.source.map(name).transpose()?)?;
    set_fields!(dict, s => packets, bytes, retransmits, receiver_lost,
        keyframe_requests_received, nacks_received, sender_reports);
    dict.set_item("drops", drops(py, s.drops.nonzero())?)?;
    Ok(dict)
}

/// An SRTP context's counters: successes per operation, refusals by reason.
pub fn srtp<'py>(py: Python<'py>, stats: &srtp::Stats) -> Dict<'py> {
    stats.fields().into_py_dict(py)
}

/// `(ip, port)`, as `MediaSocket.local_address` and the events have it.
pub fn address(a: SocketAddr) -> (String, u16) {
    (a.ip().to_string(), a.port())
}

fn counters<'py>(py: Python<'py>, c: &Counters) -> Dict<'py> {
    let dict = PyDict::new(py);
    set_fields!(dict, c => rx_packets, rx_bytes, tx_packets, tx_bytes, drops);
    Ok(dict)
}

fn transport<'py>(py: Python<'py>, t: &TransportStats) -> Dict<'py> {
    let dict = counters(py, &t.counters)?;
    set_fields!(dict, t => session, leg);
    dict.set_item("nominated", t.nominated.map(address))?;
    dict.set_item("protocol", t.protocol)?;
    dict.set_item("srtp", t.srtp.as_ref().map(|s| srtp(py, s)).transpose()?)?;
    Ok(dict)
}

/// `MediaSocket.stats()`: the port's own counters, every transport's by its id.
pub fn port<'py>(py: Python<'py>, stats: &PortStats) -> Dict<'py> {
    let transports = stats
        .transports
        .iter()
        .map(|(id, t)| Ok((*id, transport(py, t)?)));
    let dict = PyDict::new(py);
    dict.set_item("port", counters(py, &stats.port)?)?;
    dict.set_item("transports", try_dict(py, transports)?)?;
    dict.set_item("sessions", stats.sessions)?;
    let (tcp, counts) = (PyDict::new(py), &stats.tcp);
    set_fields!(tcp, counts => connections, accepted, closed);
    dict.set_item("tcp", tcp)?;
    Ok(dict)
}

/// `MediaSocket.session_stats()`: the relay's counters and each leg's transport.
pub fn session<'py>(py: Python<'py>, stats: &SessionStats, name: LegName<'_, 'py>) -> Dict<'py> {
    let dict = match &stats.router {
        Some(router) => relay(py, router, name)?,
        None => relay(py, &RelayStats::default(), name)?,
    };
    let transports = stats
        .legs
        .iter()
        .map(|(leg, t)| Ok((name(*leg)?, transport(py, t)?)));
    dict.set_item("transports", try_dict(py, transports)?)?;
    Ok(dict)
}
