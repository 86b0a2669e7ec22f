//! Recordings for Python: `RecordingReader` serves plaintext byte ranges of a sealed
//! recording (playback, download) decrypting only the chunks a range needs, and
//! `seal_recording` seals bytes in the same format (tests, tools). Refusals are the
//! `RecordingError` classes (`error.rs`). The recorder itself runs in the media port:
//! `MediaSocket`'s recording methods (`net.rs`) are thin calls of the functions here,
//! and a recording that ends on its own is a `RecordingFailed` event.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::error::{Error, Result};
use crate::net::endpoint::{Endpoint, SessionId};
use crate::net::router::LegId;
use crate::record::seal::{tail_span, ChunkWriter, Opened, HEADER_LEN};
use crate::record::RecorderStats;

/// The bytes a recording's header takes at the start of the sealed file.
pub const RECORDING_HEADER_LEN: usize = HEADER_LEN;

/// A sealed recording opened for reading: its end checked once (final chunk, trailer),
/// then each `read` decrypts and authenticates the chunks of its range.
#[pyclass(module = "livelens._fastpath", name = "RecordingReader", frozen)]
pub struct RecordingReader {
    opened: Opened,
}

#[pymethods]
impl RecordingReader {
    /// `header`: the file's first `RECORDING_HEADER_LEN` bytes (more are ignored);
    /// `tail`: the file's bytes `tail_span(header, file_len)`.
    #[new]
    fn new(
        py: Python<'_>,
        key: &[u8],
        recording_id: &str,
        header: &[u8],
        file_len: u64,
        tail: &[u8],
    ) -> Result<Self> {
        let opened =
            py.detach(|| Opened::open(key, recording_id.as_bytes(), header, file_len, tail))?;
        Ok(Self { opened })
    }

    /// The sealed byte range `(start, end)` (end exclusive) to read to open a file of
    /// `file_len` bytes with this `header`.
    #[staticmethod]
    fn tail_span(header: &[u8], file_len: u64) -> Result<(u64, u64)> {
        let span = tail_span(header, file_len)?;
        Ok((span.start, span.end))
    }

    /// The plaintext (WebM) length.
    #[getter]
    fn plaintext_len(&self) -> u64 {
        self.opened.len()
    }

    /// The sealed byte range `(start, end)` (end exclusive) that holds the plaintext
    /// bytes `start..end`.
    fn span(&self, start: u64, end: u64) -> Result<(u64, u64)> {
        let span = self.opened.span(&(start..end))?;
        Ok((span.start, span.end))
    }

    /// The plaintext bytes `start..end` (end exclusive) from `sealed`, exactly the bytes
    /// of `span(start, end)`; every chunk is authenticated before any byte is returned.
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        end: u64,
        sealed: &[u8],
    ) -> Result<Bound<'py, PyBytes>> {
        let opened = &self.opened;
        let plaintext = py.detach(|| opened.read(&(start..end), sealed))?;
        Ok(PyBytes::new(py, &plaintext))
    }

    fn __repr__(&self) -> String {
        format!("RecordingReader(plaintext_len={})", self.opened.len())
    }
}

/// `plaintext` sealed as a recording of `recording_id` under `key` (32 bytes), cut into
/// `chunk_size`-byte chunks; no patches. For tests and tools: the media port seals what
/// it records itself.
#[pyfunction]
#[pyo3(signature = (key, recording_id, plaintext, chunk_size = 65_536))]
fn seal_recording<'py>(
    py: Python<'py>,
    key: &[u8],
    recording_id: &str,
    plaintext: &[u8],
    chunk_size: u32,
) -> Result<Bound<'py, PyBytes>> {
    let sealed = py.detach(|| -> std::result::Result<Vec<u8>, Error> {
        let mut writer = ChunkWriter::new(key, recording_id.as_bytes(), chunk_size)?;
        writer.push(plaintext)?;
        let mut sealed = writer.take_sealed();
        sealed.extend(writer.finish(&[])?);
        Ok(sealed)
    })?;
    Ok(PyBytes::new(py, &sealed))
}

/// The recording on `leg` of `session` ended on its own: what it sealed so far is not a
/// complete file, and the port has dropped it.
#[pyclass(module = "livelens._fastpath", frozen, get_all)]
pub struct RecordingFailed {
    pub session: SessionId,
    pub leg: LegId,
    pub reason: String,
}

#[pymethods]
impl RecordingFailed {
    fn __repr__(&self) -> String {
        format!(
            "RecordingFailed(session={}, leg={}, reason={:?})",
            self.session, self.leg, self.reason
        )
    }
}

/// What `MediaSocket.start_recording` starts.
pub struct Start<'a> {
    pub session: SessionId,
    pub leg: LegId,
    pub key: &'a [u8],
    pub recording_id: &'a str,
    pub max_uncollected: Option<u64>,
}

/// `MediaSocket.start_recording`, under the endpoint's lock.
pub fn start(
    endpoint: &mut Endpoint,
    start: &Start<'_>,
    now: f64,
    out: &mut Vec<crate::net::endpoint::Outgoing>,
) -> Result<()> {
    let (session, leg) = (start.session, start.leg);
    endpoint.start_recording(
        session,
        leg,
        start.key,
        start.recording_id.as_bytes(),
        now,
        out,
    )?;
    if let Some(limit) = start.max_uncollected {
        endpoint.set_recording_limit(session, leg, limit)?;
    }
    Ok(())
}

/// A recording's counters as a dict: per track (`video`, `audio`) `packets`, `frames`,
/// `lost_packets`, `late_packets`, `dropped_frames`, `stream_changes`; and
/// `webm_bytes`, `sealed_bytes`, `clusters`, `reanchors`, `duration_ms`.
pub fn stats_dict<'py>(py: Python<'py>, stats: &RecorderStats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, track) in [("video", &stats.video), ("audio", &stats.audio)] {
        let counts = PyDict::new(py);
        counts.set_item("packets", track.packets)?;
        counts.set_item("frames", track.frames)?;
        counts.set_item("lost_packets", track.lost_packets)?;
        counts.set_item("late_packets", track.late_packets)?;
        counts.set_item("dropped_frames", track.dropped_frames)?;
        counts.set_item("stream_changes", track.stream_changes)?;
        dict.set_item(name, counts)?;
    }
    dict.set_item("webm_bytes", stats.webm_bytes)?;
    dict.set_item("sealed_bytes", stats.sealed_bytes)?;
    dict.set_item("clusters", stats.clusters)?;
    dict.set_item("reanchors", stats.reanchors)?;
    dict.set_item("duration_ms", stats.duration_ms)?;
    Ok(dict)
}

/// Adds the recording classes and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("RECORDING_HEADER_LEN", RECORDING_HEADER_LEN)?;
    m.add_class::<RecordingFailed>()?;
    m.add_class::<RecordingReader>()?;
    m.add_function(wrap_pyfunction!(seal_recording, m)?)?;
    Ok(())
}
