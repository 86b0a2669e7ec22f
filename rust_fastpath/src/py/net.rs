//! The PyO3 layer of the media port: `livelens._fastpath.MediaSocket`. Control calls
//! (once per transport, leg or state change) take the endpoint's lock with the GIL
//! released; packets never come through here.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::net::driver::{self, Shared};
use crate::net::endpoint::{ControlError, Endpoint, Event, TransportId};
use crate::net::io::MediaUdpSocket;
use crate::net::new_router;
use crate::net::router::{Codec, MediaKind, MediaLine};

fn control_error(error: ControlError) -> PyErr {
    PyValueError::new_err(error.reason())
}

fn kind(name: &str) -> PyResult<MediaKind> {
    MediaKind::from_name(name).ok_or_else(|| PyValueError::new_err("kind must be audio or video"))
}

/// The transport id of events that matched no transport (ids start at 1).
const NO_TRANSPORT: TransportId = 0;

/// `(payload_type, mime_type, clock_rate, channels, format_key, rtx_apt)`
type CodecTuple = (u8, String, u32, Option<u32>, Vec<String>, Option<u8>);
/// `(kind, mid, codecs, extensions, recv_ssrc, recv_rtx_ssrc, send_ssrc, send_rtx_ssrc,
/// cname, receives, sends)`: `livelens.media.streams.MediaLine` as plain values.
type LineTuple = (
    String,
    String,
    Vec<CodecTuple>,
    Vec<(String, u8)>,
    Option<u32>,
    Option<u32>,
    u32,
    Option<u32>,
    Option<String>,
    bool,
    bool,
);

fn media_line(t: LineTuple) -> PyResult<MediaLine> {
    let (
        k,
        mid,
        codecs,
        extensions,
        recv_ssrc,
        recv_rtx_ssrc,
        send_ssrc,
        send_rtx_ssrc,
        cname,
        receives,
        sends,
    ) = t;
    Ok(MediaLine {
        kind: kind(&k)?,
        mid,
        codecs: codecs
            .into_iter()
            .map(
                |(payload_type, mime_type, clock_rate, channels, format_key, rtx_apt)| Codec {
                    payload_type,
                    mime_type,
                    clock_rate,
                    channels,
                    format_key,
                    rtx_apt,
                },
            )
            .collect(),
        extensions,
        recv_ssrc,
        recv_rtx_ssrc,
        send_ssrc,
        send_rtx_ssrc,
        cname,
        receives,
        sends,
    })
}

/// `(kind, transport, data, address)` as Python gets it from `poll_events`.
type EventTuple<'py> = (
    &'static str,
    TransportId,
    Bound<'py, PyBytes>,
    Option<(String, u16)>,
);

fn address(a: SocketAddr) -> Option<(String, u16)> {
    Some((a.ip().to_string(), a.port()))
}

/// The media UDP port: one socket for all sessions, its own thread, ICE-lite, SRTP and
/// relaying in Rust. DTLS records and ICE state come to Python as events.
#[pyclass(module = "livelens._fastpath", name = "MediaSocket")]
pub struct MediaSocket {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    wakeup: UnixStream,
}

impl MediaSocket {
    fn run_control<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Endpoint, f64, &mut Vec<crate::net::endpoint::Outgoing>) -> T + Send,
    ) -> T {
        let shared = &self.shared;
        py.detach(|| shared.with_endpoint(f))
    }
}

#[pymethods]
impl MediaSocket {
    /// Bind `host:port` (port 0: ephemeral) and start the media thread.
    #[new]
    #[pyo3(signature = (host, port, consent_timeout = 30.0))]
    fn new(host: &str, port: u16, consent_timeout: f64) -> PyResult<Self> {
        if !(consent_timeout.is_finite() && consent_timeout > 0.0) {
            return Err(PyValueError::new_err("consent_timeout must be positive"));
        }
        let ip: IpAddr = host
            .parse()
            .map_err(|_| PyValueError::new_err("host must be an IP address"))?;
        let socket = MediaUdpSocket::bind(SocketAddr::new(ip, port))
            .map_err(|e| PyOSError::new_err(format!("cannot bind UDP {host}:{port}: {e}")))?;
        let (wakeup, notify) = UnixStream::pair().map_err(|e| PyOSError::new_err(e.to_string()))?;
        wakeup
            .set_nonblocking(true)
            .and_then(|()| notify.set_nonblocking(true))
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        let mut endpoint = Endpoint::new(new_router);
        endpoint.set_consent_timeout(consent_timeout);
        let shared = Arc::new(Shared::new(endpoint, socket, notify));
        let thread =
            driver::spawn(Arc::clone(&shared)).map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
            wakeup,
        })
    }

    /// `(ip, port)` the socket is bound to.
    #[getter]
    fn local_address(&self) -> PyResult<(String, u16)> {
        let a = self
            .shared
            .socket
            .local_addr()
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok((a.ip().to_string(), a.port()))
    }

    /// A file descriptor that becomes readable when events wait (read and discard its
    /// bytes, then call `poll_events`).
    fn wakeup_fd(&self) -> i32 {
        self.wakeup.as_raw_fd()
    }

    fn add_transport(
        &self,
        py: Python<'_>,
        session_id: &str,
        leg_id: &str,
        local_ufrag: &str,
        local_pwd: &str,
    ) -> PyResult<TransportId> {
        self.run_control(py, |e, _, _| {
            e.add_transport(session_id, leg_id, local_ufrag, local_pwd)
        })
        .map_err(control_error)
    }

    fn set_remote_ufrag(
        &self,
        py: Python<'_>,
        transport: TransportId,
        ufrag: &str,
    ) -> PyResult<()> {
        self.run_control(py, |e, _, _| e.set_remote_ufrag(transport, ufrag))
            .map_err(control_error)
    }

    fn remove_transport(&self, py: Python<'_>, transport: TransportId) {
        self.run_control(py, |e, _, _| e.remove_transport(transport));
    }

    /// Send a datagram (DTLS) to the transport's nominated address; False if it has none.
    fn send(&self, py: Python<'_>, transport: TransportId, data: &[u8]) -> bool {
        let data = data.to_vec();
        self.run_control(py, |e, _, out| match e.outgoing(transport, data) {
            Ok(o) => {
                out.push(o);
                true
            }
            Err(_) => false,
        })
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
    ) -> PyResult<()> {
        self.run_control(py, |e, now, out| {
            e.set_srtp(
                transport, profile, tx_key, tx_salt, rx_key, rx_salt, now, out,
            )
        })
        .map_err(control_error)
    }

    fn add_leg(
        &self,
        py: Python<'_>,
        session_id: &str,
        leg_id: &str,
        transport: TransportId,
        media: Vec<LineTuple>,
        forwarding: bool,
    ) -> PyResult<()> {
        let media = media
            .into_iter()
            .map(media_line)
            .collect::<PyResult<Vec<_>>>()?;
        self.run_control(py, |e, _, _| {
            e.add_leg(session_id, leg_id, transport, &media, forwarding)
        })
        .map_err(control_error)
    }

    fn remove_leg(&self, py: Python<'_>, session_id: &str, leg_id: &str) {
        self.run_control(py, |e, _, _| e.remove_leg(session_id, leg_id));
    }

    fn add_route(
        &self,
        py: Python<'_>,
        session_id: &str,
        source: &str,
        sink: &str,
        kind_name: &str,
    ) -> PyResult<()> {
        let k = kind(kind_name)?;
        self.run_control(py, |e, _, _| e.add_route(session_id, source, sink, k))
            .map_err(control_error)
    }

    fn remove_route(
        &self,
        py: Python<'_>,
        session_id: &str,
        source: &str,
        sink: &str,
        kind_name: &str,
    ) -> PyResult<()> {
        let k = kind(kind_name)?;
        self.run_control(py, |e, _, _| e.remove_route(session_id, source, sink, k))
            .map_err(control_error)
    }

    fn set_forwarding(
        &self,
        py: Python<'_>,
        session_id: &str,
        leg_id: &str,
        forwarding: bool,
    ) -> PyResult<()> {
        self.run_control(py, |e, now, out| {
            e.set_forwarding(session_id, leg_id, forwarding, now, out)
        })
        .map_err(control_error)
    }

    fn set_connected(
        &self,
        py: Python<'_>,
        session_id: &str,
        leg_id: &str,
        connected: bool,
    ) -> PyResult<()> {
        self.run_control(py, |e, now, out| {
            e.set_connected(session_id, leg_id, connected, now, out)
        })
        .map_err(control_error)
    }

    fn end_session(&self, py: Python<'_>, session_id: &str) {
        self.run_control(py, |e, _, _| e.end_session(session_id));
    }

    /// Everything that happened since the last call, oldest first:
    /// `("dtls", transport, record, None)`, `("selected" | "moved", transport, b"",
    /// (ip, port))`, `("consent_expired", transport, b"", None)`.
    fn poll_events<'py>(&self, py: Python<'py>) -> Vec<EventTuple<'py>> {
        let shared = &self.shared;
        let events = py.detach(|| {
            shared.rearm();
            shared.endpoint().take_events()
        });
        let empty = || PyBytes::new(py, b"");
        events
            .into_iter()
            .map(|event| match event {
                Event::Dtls(t, data) => ("dtls", t, PyBytes::new(py, &data), None),
                Event::Selected(t, a) => ("selected", t, empty(), address(a)),
                Event::Moved(t, a) => ("moved", t, empty(), address(a)),
                Event::ConsentExpired(t) => ("consent_expired", t, empty(), None),
                Event::Anomaly {
                    transport,
                    reason,
                    count,
                    from,
                } => {
                    let detail = format!(r#"{{"reason": "{reason}", "count": {count}}}"#);
                    let t = transport.unwrap_or(NO_TRANSPORT);
                    (
                        "anomaly",
                        t,
                        PyBytes::new(py, detail.as_bytes()),
                        address(from),
                    )
                }
            })
            .collect()
    }

    /// Counters of the port and of every transport, as JSON.
    fn stats_json(&self, py: Python<'_>) -> String {
        self.run_control(py, |e, _, _| e.stats().to_string())
    }

    /// One session's legs and router view, as JSON.
    fn session_stats_json(&self, py: Python<'_>, session_id: &str) -> String {
        self.run_control(py, |e, _, _| e.session_stats(session_id).to_string())
    }

    /// Stop the thread and close the socket's use (idempotent).
    fn close(&self, py: Python<'_>) {
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let shared = &self.shared;
            py.detach(|| {
                shared.stop();
                let _ = handle.join();
            });
        }
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
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            self.shared.stop();
            let _ = handle.join();
        }
    }
}
