//! `SrtpContext`: SRTP/SRTCP for Python; refusals are `SrtpError`s (`error.rs`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::error::Result;
use super::stats;
use crate::srtp::{self, Profile, SessionKeys};

type Operation = fn(&mut srtp::SrtpContext, &mut Vec<u8>) -> Result<(), srtp::Error>;

/// SRTP and SRTCP for one set of keys: `protect`/`protect_rtcp` for what we send,
/// `unprotect`/`unprotect_rtcp` for what we receive (per-SSRC state for each direction).
#[pyclass(module = "livelens._fastpath", name = "SrtpContext")]
pub struct SrtpContext {
    inner: srtp::SrtpContext,
    /// Reused for every packet, so the steady state does not allocate on the Rust side.
    buf: Vec<u8>,
}

impl SrtpContext {
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        packet: &[u8],
        operation: Operation,
    ) -> Result<Bound<'py, PyBytes>> {
        self.buf.clear();
        self.buf.extend_from_slice(packet);
        operation(&mut self.inner, &mut self.buf)?;
        Ok(PyBytes::new(py, &self.buf))
    }
}

#[pymethods]
impl SrtpContext {
    #[new]
    fn new(profile: &str, master_key: &[u8], master_salt: &[u8]) -> Result<Self> {
        let profile = Profile::from_name(profile)?;
        let inner = srtp::SrtpContext::new(profile, master_key, master_salt)?;
        Ok(Self {
            inner,
            buf: Vec::new(),
        })
    }

    /// A context keyed by session keys, bypassing key derivation (SDES-style keying,
    /// test vectors). The auth keys are 20 bytes for AES_CM_128_HMAC_SHA1_80, empty for GCM.
    #[staticmethod]
    #[pyo3(
        signature = (profile, rtp_key, rtp_salt, rtcp_key, rtcp_salt, rtp_auth_key = b"".as_slice(), rtcp_auth_key = b"".as_slice()),
        text_signature = "(profile, rtp_key, rtp_salt, rtcp_key, rtcp_salt, rtp_auth_key=b'', rtcp_auth_key=b'')"
    )]
    fn from_session_keys(
        profile: &str,
        rtp_key: &[u8],
        rtp_salt: &[u8],
        rtcp_key: &[u8],
        rtcp_salt: &[u8],
        rtp_auth_key: &[u8],
        rtcp_auth_key: &[u8],
    ) -> Result<Self> {
        let profile = Profile::from_name(profile)?;
        let keys = SessionKeys {
            rtp_key: rtp_key.to_vec(),
            rtp_salt: rtp_salt.to_vec(),
            rtp_auth_key: rtp_auth_key.to_vec(),
            rtcp_key: rtcp_key.to_vec(),
            rtcp_salt: rtcp_salt.to_vec(),
            rtcp_auth_key: rtcp_auth_key.to_vec(),
        };
        let inner = srtp::SrtpContext::from_session_keys(profile, &keys)?;
        Ok(Self {
            inner,
            buf: Vec::new(),
        })
    }

    /// The profile name this context was keyed for.
    #[getter]
    fn profile(&self) -> &'static str {
        self.inner.profile().name()
    }

    /// The SRTP packet for an RTP packet.
    fn protect<'py>(&mut self, py: Python<'py>, rtp: &[u8]) -> Result<Bound<'py, PyBytes>> {
        self.run(py, rtp, srtp::SrtpContext::protect_rtp)
    }

    /// The RTP packet inside an SRTP packet; `MalformedPacket`, `AuthenticationFailed`
    /// or `ReplayedPacket` if it is malformed, fails authentication or was already
    /// received.
    fn unprotect<'py>(&mut self, py: Python<'py>, srtp: &[u8]) -> Result<Bound<'py, PyBytes>> {
        self.run(py, srtp, srtp::SrtpContext::unprotect_rtp)
    }

    /// The SRTCP packet for an RTCP compound packet.
    fn protect_rtcp<'py>(&mut self, py: Python<'py>, rtcp: &[u8]) -> Result<Bound<'py, PyBytes>> {
        self.run(py, rtcp, srtp::SrtpContext::protect_rtcp)
    }

    /// The RTCP compound packet inside an SRTCP packet; refused as for `unprotect`.
    fn unprotect_rtcp<'py>(
        &mut self,
        py: Python<'py>,
        srtcp: &[u8],
    ) -> Result<Bound<'py, PyBytes>> {
        self.run(py, srtcp, srtp::SrtpContext::unprotect_rtcp)
    }

    /// Packet counters: successes per operation, refusals by reason.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats::srtp(py, self.inner.stats())
    }

    fn __repr__(&self) -> String {
        format!("SrtpContext(profile='{}')", self.inner.profile().name())
    }
}
