//! The PyO3 layer of the media port: `livelens._fastpath.MediaSocket` and the events it
//! reports. Control calls (once per transport, leg or state change) take the endpoint's
//! lock with the GIL released; packets never come through here. Sessions and legs are
//! numbers Python chose when it created them, so the Rust thread never sees a string of
//! Python's on the packet path.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::error::{Error, Result};
use super::media::{media_kind, media_lines};
use super::record;
use super::stats;
use crate::net::driver::{self, Shared};
use crate::net::endpoint::{Endpoint, Event, Outgoing, SessionId, TransportId};
use crate::net::io::MediaUdpSocket;
use crate::net::new_router;
use crate::net::router::{LegId, Switch};
use crate::net::tcp_io::TcpShell;
use crate::net::tcp_link::TcpConfig;
use crate::net::web_port::WebPort;

/// Tries at finding an ephemeral port number free for both UDP and TCP.
const EPHEMERAL_TRIES: usize = 32;

/// The UDP socket on `address` and, with `tcp`, its TCP twin on the same port number
/// (for port 0, a number free for both).
fn bind(address: SocketAddr, tcp: bool) -> std::io::Result<(MediaUdpSocket, Option<TcpShell>)> {
    let mut tries = 0;
    loop {
        let udp = MediaUdpSocket::bind(address)?;
        if !tcp {
            return Ok((udp, None));
        }
        match TcpShell::bind(udp.local_addr()?) {
            Ok(shell) => return Ok((udp, Some(shell))),
            Err(e) if address.port() == 0 && tries < EPHEMERAL_TRIES => {
                tries += 1;
                let _ = e; // that number is taken for TCP: another one
            }
            Err(e) => return Err(e),
        }
    }
}

/// A DTLS record for the transport's `RTCDtlsTransport`.
#[pyclass(module = "livelens._fastpath", frozen, get_all)]
pub struct DtlsReceived {
    transport: TransportId,
    data: Py<PyBytes>,
}

/// ICE nominated an address of the transport: its first (`moved` false: it is up, DTLS
/// may start) or a new one (`moved` true: the browser moved, a network change).
#[pyclass(module = "livelens._fastpath", frozen, get_all)]
pub struct TransportNominated {
    transport: TransportId,
    address: (String, u16),
    moved: bool,
}

/// No valid consent check for the consent timeout: the transport is dead.
#[pyclass(module = "livelens._fastpath", frozen, get_all)]
pub struct ConsentExpired {
    transport: TransportId,
}

/// Forged SRTP or STUN with wrong credentials, at its 1st, 10th, 100th, ... occurrence
/// on the transport (`transport` None: none matched).
#[pyclass(module = "livelens._fastpath", frozen, get_all)]
pub struct Anomaly {
    transport: Option<TransportId>,
    reason: String,
    count: u64,
    address: (String, u16),
}

#[pymethods]
impl DtlsReceived {
    fn __repr__(&self, py: Python<'_>) -> String {
        let len = self.data.bind(py).as_bytes().len();
        format!(
            "DtlsReceived(transport={}, data=<{len} bytes>)",
            self.transport
        )
    }
}

#[pymethods]
impl TransportNominated {
    fn __repr__(&self) -> String {
        format!(
            "TransportNominated(transport={}, address={:?}, moved={})",
            self.transport,
            self.address,
            if self.moved { "True" } else { "False" }
        )
    }
}

#[pymethods]
impl ConsentExpired {
    fn __repr__(&self) -> String {
        format!("ConsentExpired(transport={})", self.transport)
    }
}

#[pymethods]
impl Anomaly {
    fn __repr__(&self) -> String {
        format!(
            "Anomaly(transport={:?}, reason={:?}, count={}, address={:?})",
            self.transport, self.reason, self.count, self.address
        )
    }
}

fn event(py: Python<'_>, event: Event) -> PyResult<Py<PyAny>> {
    Ok(match event {
        Event::Dtls(transport, data) => {
            let data = PyBytes::new(py, &data).unbind();
            Py::new(py, DtlsReceived { transport, data })?.into_any()
        }
        Event::Selected(transport, a) | Event::Moved(transport, a) => {
            let moved = matches!(event, Event::Moved(..));
            let address = stats::address(a);
            Py::new(
                py,
                TransportNominated {
                    transport,
                    address,
                    moved,
                },
            )?
            .into_any()
        }
        Event::ConsentExpired(transport) => Py::new(py, ConsentExpired { transport })?.into_any(),
        Event::Anomaly {
            transport,
            reason,
            count,
            from,
        } => Py::new(
            py,
            Anomaly {
                transport,
                reason: reason.to_owned(),
                count,
                address: stats::address(from),
            },
        )?
        .into_any(),
        Event::RecordingFailed {
            session,
            leg,
            reason,
        } => Py::new(
            py,
            record::RecordingFailed {
                session,
                leg,
                reason,
            },
        )?
        .into_any(),
    })
}

/// The media UDP port: one socket for all sessions, its own thread, ICE-lite, SRTP and
/// relaying in Rust; and its TCP twin for ICE-TCP. DTLS records and ICE state come to
/// Python as events.
#[pyclass(module = "livelens._fastpath", name = "MediaSocket")]
pub struct MediaSocket {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    wakeup: UnixStream,
}

impl MediaSocket {
    fn run_control<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Endpoint, f64, &mut Vec<Outgoing>) -> T + Send,
    ) -> T {
        let shared = &self.shared;
        py.detach(|| shared.with_endpoint(f))
    }

    fn web_port(&self) -> Option<&WebPort> {
        self.shared.tcp.as_ref().and_then(|t| t.web.as_ref())
    }

    /// Stops the media threads and waits for them; the first call does, later ones find
    /// no thread.
    fn stop(&self) {
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if !threads.is_empty() {
            self.shared.stop();
            for thread in threads {
                let _ = thread.join();
            }
        }
    }
}

#[pymethods]
impl MediaSocket {
    /// Bind `host:port` (port 0: ephemeral) for UDP and, with `tcp`, for TCP (ICE-TCP,
    /// the same port number), and start the media threads.
    #[new]
    /// With `web_hosts`, also listen on `web_port` of those IPs: the web port shared
    /// with media (see `net/web_port.rs`).
    #[pyo3(signature = (
        host, port, consent_timeout = 30.0, *, tcp = true, tcp_stall_timeout = 5.0,
        tcp_ice_timeout = 5.0, tcp_queue_bytes = 262_144, web_hosts = Vec::new(), web_port = 0,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        host: &str,
        port: u16,
        consent_timeout: f64,
        tcp: bool,
        tcp_stall_timeout: f64,
        tcp_ice_timeout: f64,
        tcp_queue_bytes: usize,
        web_hosts: Vec<String>,
        web_port: u16,
    ) -> Result<Self> {
        for (name, seconds) in [
            ("consent_timeout", consent_timeout),
            ("tcp_stall_timeout", tcp_stall_timeout),
            ("tcp_ice_timeout", tcp_ice_timeout),
        ] {
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(Error::Argument(format!("{name} must be positive")));
            }
        }
        if tcp_queue_bytes < 4096 {
            return Err(Error::Argument(
                "tcp_queue_bytes must be at least 4096".into(),
            ));
        }
        let ip: IpAddr = host
            .parse()
            .map_err(|_| Error::Argument("host must be an IP address".into()))?;
        let web_ips = web_hosts
            .iter()
            .map(|h| h.parse::<IpAddr>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::Argument("web_hosts must be IP addresses".into()))?;
        if !web_ips.is_empty() && !tcp {
            return Err(Error::Argument("sharing the web port needs tcp".into()));
        }
        let (socket, mut shell) = bind(SocketAddr::new(ip, port), tcp)
            .map_err(|e| Error::Os(format!("cannot bind UDP and TCP {host}:{port}: {e}")))?;
        if !web_ips.is_empty() {
            let web = WebPort::bind(&web_ips, web_port)
                .map_err(|e| Error::Os(format!("cannot listen on the web port {web_port}: {e}")))?;
            shell = shell.map(|s| s.with_web(web));
        }
        let (wakeup, notify) = UnixStream::pair()?;
        wakeup.set_nonblocking(true)?;
        notify.set_nonblocking(true)?;
        let mut endpoint = Endpoint::new(new_router);
        endpoint.set_consent_timeout(consent_timeout);
        endpoint.set_tcp_config(TcpConfig {
            stall_timeout: tcp_stall_timeout,
            ice_timeout: tcp_ice_timeout,
            queue_bytes: tcp_queue_bytes,
            ..TcpConfig::default()
        });
        let shared = Arc::new(Shared::new(endpoint, socket, shell, notify));
        let threads = driver::spawn(&shared)?;
        Ok(Self {
            shared,
            threads: Mutex::new(threads),
            wakeup,
        })
    }

    /// `(ip, port)` the socket is bound to.
    #[getter]
    fn local_address(&self) -> Result<(String, u16)> {
        Ok(stats::address(self.shared.socket.local_addr()?))
    }

    /// `(ip, port)` of the TCP twin (ICE-TCP), None without one.
    #[getter]
    fn tcp_address(&self) -> Result<Option<(String, u16)>> {
        match &self.shared.tcp {
            Some(shell) => Ok(Some(stats::address(shell.local_addr()?))),
            None => Ok(None),
        }
    }

    /// `(ip, port)` of each listener of the shared web port (empty: not shared).
    #[getter]
    fn web_addresses(&self) -> Vec<(String, u16)> {
        self.web_port()
            .map(|w| w.local_addrs().into_iter().map(stats::address).collect())
            .unwrap_or_default()
    }

    /// The web connections the shared port sorted since the last call: each a file
    /// descriptor the caller now owns, and the peer's `(ip, port)`.
    fn take_web_connections(&self) -> Vec<(i32, (String, u16))> {
        self.web_port()
            .map(|w| {
                w.take_handed()
                    .into_iter()
                    .map(|(stream, remote)| (stream.into_raw_fd(), stats::address(remote)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How the shared web port sorted its connections, by outcome.
    fn web_port_stats(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.web_port().map(WebPort::counts).unwrap_or_default()
    }

    /// A file descriptor that becomes readable when events wait (read and discard its
    /// bytes, then call `poll_events`).
    fn wakeup_fd(&self) -> i32 {
        self.wakeup.as_raw_fd()
    }

    fn add_transport(
        &self,
        py: Python<'_>,
        session: SessionId,
        leg: LegId,
        local_ufrag: &str,
        local_pwd: &str,
    ) -> Result<TransportId> {
        Ok(self.run_control(py, |e, _, _| {
            e.add_transport(session, leg, local_ufrag, local_pwd)
        })?)
    }

    fn set_remote_ufrag(&self, py: Python<'_>, transport: TransportId, ufrag: &str) -> Result<()> {
        Ok(self.run_control(py, |e, _, _| e.set_remote_ufrag(transport, ufrag))?)
    }

    fn remove_transport(&self, py: Python<'_>, transport: TransportId) {
        self.run_control(py, |e, _, _| e.remove_transport(transport));
    }

    /// Send a datagram (DTLS) down the transport's nominated path (a UDP address or an
    /// ICE-TCP connection); False if it has none.
    fn send(&self, py: Python<'_>, transport: TransportId, data: &[u8]) -> bool {
        let data = data.to_vec();
        self.run_control(py, |e, now, out| e.send(transport, data, now, out).is_ok())
    }

    /// SRTP takes over: keys from the DTLS exporter, by the profile's RFC name.
    #[allow(clippy::too_many_arguments)]
    fn set_srtp_keys(
        &self,
        py: Python<'_>,
        transport: TransportId,
        profile: &str,
        tx_key: &[u8],
        tx_salt: &[u8],
        rx_key: &[u8],
        rx_salt: &[u8],
    ) -> Result<()> {
        Ok(self.run_control(py, |e, now, out| {
            e.set_srtp(
                transport, profile, tx_key, tx_salt, rx_key, rx_salt, now, out,
            )
        })?)
    }

    fn add_leg(
        &self,
        py: Python<'_>,
        session: SessionId,
        leg: LegId,
        transport: TransportId,
        media: &Bound<'_, PyAny>,
        forwarding: bool,
    ) -> Result<()> {
        let media = media_lines(media)?;
        Ok(self.run_control(py, |e, _, _| {
            e.add_leg(session, leg, transport, &media, forwarding)
        })?)
    }

    fn remove_leg(&self, py: Python<'_>, session: SessionId, leg: LegId) {
        self.run_control(py, |e, _, _| e.remove_leg(session, leg));
    }

    fn add_route(
        &self,
        py: Python<'_>,
        session: SessionId,
        source: LegId,
        sink: LegId,
        kind: &str,
    ) -> Result<bool> {
        let k = media_kind(kind)?;
        Ok(self.run_control(py, |e, _, _| e.add_route(session, source, sink, k))?)
    }

    /// Turns one of a leg's switches on or off: `"forwarding"` (its consent gate) or
    /// `"connected"` (its transport), as the relay's [`Switch`].
    fn switch(
        &self,
        py: Python<'_>,
        session: SessionId,
        leg: LegId,
        switch: &str,
        on: bool,
    ) -> PyResult<()> {
        let switch = match switch {
            "forwarding" => Switch::Forwarding(on),
            "connected" => Switch::Connected(on),
            other => return Err(PyValueError::new_err(format!("no switch {other:?}"))),
        };
        self.run_control(py, |e, now, out| e.switch(session, leg, switch, now, out))
            .map_err(|e| Error::from(e).into())
    }

    /// Record the session as its relay's sink leg `leg` (see `net/endpoint/recording.rs`).
    #[pyo3(signature = (session, leg, key, recording_id, *, max_uncollected = None))]
    fn start_recording(
        &self,
        py: Python<'_>,
        session: SessionId,
        leg: LegId,
        key: &[u8],
        recording_id: &str,
        max_uncollected: Option<u64>,
    ) -> Result<()> {
        let start = record::Start {
            session,
            leg,
            key,
            recording_id,
            max_uncollected,
        };
        self.run_control(py, |e, now, out| record::start(e, &start, now, out))
    }

    /// The sealed bytes the recording produced since the last call.
    fn take_recording<'py>(
        &self,
        py: Python<'py>,
        session: SessionId,
        leg: LegId,
    ) -> Result<Bound<'py, PyBytes>> {
        let sealed = self.run_control(py, |e, _, _| e.take_recording(session, leg))?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// The recording's counters so far.
    fn recording_stats<'py>(
        &self,
        py: Python<'py>,
        session: SessionId,
        leg: LegId,
    ) -> Result<Bound<'py, PyDict>> {
        let stats = self.run_control(py, |e, _, _| e.recording_stats(session, leg))?;
        Ok(record::stats_dict(py, &stats)?)
    }

    /// Ends the recording: the last sealed bytes and the final counters.
    fn stop_recording<'py>(
        &self,
        py: Python<'py>,
        session: SessionId,
        leg: LegId,
    ) -> Result<(Bound<'py, PyBytes>, Bound<'py, PyDict>)> {
        let (sealed, stats) = self.run_control(py, |e, _, _| e.stop_recording(session, leg))?;
        Ok((PyBytes::new(py, &sealed), record::stats_dict(py, &stats)?))
    }

    fn end_session(&self, py: Python<'_>, session: SessionId) {
        self.run_control(py, |e, _, _| e.end_session(session));
    }

    /// Everything that happened since the last call, oldest first, as event objects.
    fn poll_events(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        let shared = &self.shared;
        let events = py.detach(|| {
            shared.rearm();
            shared.endpoint().take_events()
        });
        events.into_iter().map(|e| event(py, e)).collect()
    }

    /// Counters of the port and of every transport (by id).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let snapshot = self.run_control(py, |e, _, _| e.stats());
        stats::port(py, &snapshot)
    }

    /// One session's relay counters and its legs' transports, the legs named by `names`
    /// (leg number -> name; by their numbers otherwise).
    #[pyo3(signature = (session, names = None))]
    fn session_stats<'py>(
        &self,
        py: Python<'py>,
        session: SessionId,
        names: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let snapshot = self.run_control(py, |e, _, _| e.session_stats(session));
        let name = |leg: LegId| -> PyResult<Bound<'py, PyAny>> {
            match names.map(|n| n.get_item(leg)).transpose()?.flatten() {
                Some(name) => Ok(name),
                None => Ok(leg.into_pyobject(py)?.into_any()),
            }
        };
        stats::session(py, &snapshot, &name)
    }

    /// Stop the thread and close the socket's use (idempotent).
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.stop());
    }

    fn __repr__(&self) -> String {
        match self.shared.socket.local_addr() {
            Ok(a) => format!("MediaSocket('{a}')"),
            Err(_) => "MediaSocket(closed)".to_owned(),
        }
    }
}

impl Drop for MediaSocket {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Adds the event classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MediaSocket>()?;
    m.add_class::<DtlsReceived>()?;
    m.add_class::<TransportNominated>()?;
    m.add_class::<ConsentExpired>()?;
    m.add_class::<Anomaly>()?;
    Ok(())
}
