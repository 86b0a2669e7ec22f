//! The one place a data-plane error becomes a Python exception, as pyca/cryptography's
//! `error.rs` does: the pure Rust modules return their own error enums; the bindings
//! return [`Error`] (`?` converts them), and `From<Error> for PyErr` chooses the class.
//! The classes are declared in `livelens/_fastpath.pyi`; each subclasses the builtin
//! exception the same refusal raised before (and the reference relay raises), so
//! `except ValueError` / `except KeyError` still catch them.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyError, PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::net::endpoint::ControlError;
use crate::record::seal::SealError;
use crate::relay;
use crate::srtp;

create_exception!(
    livelens._fastpath,
    SrtpError,
    PyValueError,
    "SRTP refused a packet or a key; the message is the reason."
);
create_exception!(
    livelens._fastpath,
    MalformedPacket,
    SrtpError,
    "Too short, the wrong version, or a header that claims more bytes than there are."
);
create_exception!(
    livelens._fastpath,
    AuthenticationFailed,
    SrtpError,
    "The authentication tag does not match: a forged or corrupted packet, or other keys."
);
create_exception!(
    livelens._fastpath,
    ReplayedPacket,
    SrtpError,
    "Already received, or older than the replay window."
);
create_exception!(
    livelens._fastpath,
    RelayError,
    PyValueError,
    "The relay refused a topology call or its settings (an existing leg, a route to \
     itself, m-lines it cannot serve, a bad history size or seed)."
);
create_exception!(
    livelens._fastpath,
    UnknownLeg,
    PyKeyError,
    "A leg the relay does not have."
);
create_exception!(
    livelens._fastpath,
    UnknownTransport,
    PyKeyError,
    "A transport the media port does not have (removed, or never added)."
);
create_exception!(
    livelens._fastpath,
    UnknownSession,
    PyKeyError,
    "A session the media port has no leg of (or that ended)."
);
create_exception!(
    livelens._fastpath,
    MediaPortError,
    PyValueError,
    "The media port refused a control call (an ICE ufrag in use, no nominated address)."
);

create_exception!(
    livelens._fastpath,
    RecordingError,
    PyValueError,
    "A sealed recording cannot be written or read (bad key, not a recording, a range \
     outside it, a writer failure); the subclasses say what is wrong with a file."
);
create_exception!(
    livelens._fastpath,
    RecordingTampered,
    RecordingError,
    "A chunk fails authentication: changed bytes, another key or another recording."
);
create_exception!(
    livelens._fastpath,
    RecordingTruncated,
    RecordingError,
    "The file ends before its final chunk."
);
create_exception!(
    livelens._fastpath,
    RecordingDropped,
    RecordingError,
    "Chunks are missing from the file."
);
create_exception!(
    livelens._fastpath,
    RecordingReordered,
    RecordingError,
    "A chunk is not at the position its index says."
);
create_exception!(
    livelens._fastpath,
    RecordingRangeError,
    RecordingError,
    "A plaintext byte range that is empty or reaches past the end of the recording."
);

/// Every refusal the bindings report.
#[derive(Debug)]
pub enum Error {
    Srtp(srtp::Error),
    /// The relay's refusal, with legs as the core numbers them (the media port's).
    Relay(relay::RelayError),
    /// A leg the `Relay` class does not know, by the name its caller gave it.
    UnknownLegNamed(String),
    /// `Relay.add_leg` for a name that has a leg.
    LegNamedExists(String),
    Control(ControlError),
    /// A sealed recording's refusal.
    Seal(SealError),
    /// The operating system refused (binding the port, starting its thread).
    Os(String),
    /// An argument out of its range or of the wrong kind.
    Argument(String),
    /// Raised by Python itself (a missing attribute, a conversion), passed on as it is.
    Py(PyErr),
}

/// What every binding returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<srtp::Error> for Error {
    fn from(error: srtp::Error) -> Self {
        Self::Srtp(error)
    }
}

impl From<relay::RelayError> for Error {
    fn from(error: relay::RelayError) -> Self {
        Self::Relay(error)
    }
}

impl From<ControlError> for Error {
    fn from(error: ControlError) -> Self {
        match error {
            // The same classes whether a refusal comes through the port or directly.
            ControlError::Srtp(error) => Self::Srtp(error),
            ControlError::Router(error) => Self::Relay(error),
            ControlError::Recording(error) => Self::Seal(error),
            error => Self::Control(error),
        }
    }
}

impl From<SealError> for Error {
    fn from(error: SealError) -> Self {
        Self::Seal(error)
    }
}

impl From<PyErr> for Error {
    fn from(error: PyErr) -> Self {
        Self::Py(error)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Os(error.to_string())
    }
}

impl From<Error> for PyErr {
    fn from(error: Error) -> Self {
        match error {
            Error::Srtp(error) => {
                let reason = error.reason();
                match error {
                    srtp::Error::Malformed => MalformedPacket::new_err(reason),
                    srtp::Error::AuthFailed => AuthenticationFailed::new_err(reason),
                    srtp::Error::Replayed => ReplayedPacket::new_err(reason),
                    _ => SrtpError::new_err(reason),
                }
            }
            Error::Relay(error @ relay::RelayError::UnknownLeg(_)) => {
                UnknownLeg::new_err(error.to_string())
            }
            Error::Relay(error) => RelayError::new_err(error.to_string()),
            // The reference relay's messages.
            Error::UnknownLegNamed(name) => UnknownLeg::new_err(format!("unknown leg '{name}'")),
            Error::LegNamedExists(name) => {
                RelayError::new_err(format!("leg '{name}' already exists"))
            }
            Error::Control(error @ ControlError::UnknownTransport(_)) => {
                UnknownTransport::new_err(error.to_string())
            }
            Error::Control(error @ ControlError::UnknownSession(_)) => {
                UnknownSession::new_err(error.to_string())
            }
            Error::Control(error @ ControlError::NotRecording(_)) => {
                RecordingError::new_err(error.to_string())
            }
            Error::Control(error) => MediaPortError::new_err(error.to_string()),
            Error::Seal(error) => {
                let reason = error.to_string();
                match error {
                    SealError::Tampered { .. } => RecordingTampered::new_err(reason),
                    SealError::Truncated => RecordingTruncated::new_err(reason),
                    SealError::Dropped { .. } => RecordingDropped::new_err(reason),
                    SealError::Reordered { .. } => RecordingReordered::new_err(reason),
                    SealError::OutOfRange => RecordingRangeError::new_err(reason),
                    _ => RecordingError::new_err(reason),
                }
            }
            Error::Os(reason) => PyOSError::new_err(reason),
            Error::Argument(reason) => PyValueError::new_err(reason),
            Error::Py(error) => error,
        }
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SrtpError", py.get_type::<SrtpError>())?;
    m.add("MalformedPacket", py.get_type::<MalformedPacket>())?;
    m.add(
        "AuthenticationFailed",
        py.get_type::<AuthenticationFailed>(),
    )?;
    m.add("ReplayedPacket", py.get_type::<ReplayedPacket>())?;
    m.add("RelayError", py.get_type::<RelayError>())?;
    m.add("UnknownLeg", py.get_type::<UnknownLeg>())?;
    m.add("UnknownTransport", py.get_type::<UnknownTransport>())?;
    m.add("UnknownSession", py.get_type::<UnknownSession>())?;
    m.add("MediaPortError", py.get_type::<MediaPortError>())?;
    m.add("RecordingError", py.get_type::<RecordingError>())?;
    m.add("RecordingTampered", py.get_type::<RecordingTampered>())?;
    m.add("RecordingTruncated", py.get_type::<RecordingTruncated>())?;
    m.add("RecordingDropped", py.get_type::<RecordingDropped>())?;
    m.add("RecordingReordered", py.get_type::<RecordingReordered>())?;
    m.add("RecordingRangeError", py.get_type::<RecordingRangeError>())?;
    Ok(())
}
