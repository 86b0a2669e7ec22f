//! `Relay`: the Rust relay with the reference relay's Python API. Reads the m-lines from
//! `livelens.media.streams.MediaLine` objects, returns transmits as `(leg_id, data)`
//! tuples and `stats()` as the reference's nested dicts.

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::relay::{self, Codec, Config, MediaKind, MediaLine, RelayError, Transmit};

fn relay_error(error: RelayError) -> PyErr {
    match error {
        RelayError::UnknownLeg(_) => PyKeyError::new_err(error.to_string()),
        _ => PyValueError::new_err(error.to_string()),
    }
}

/// A Python int in `0..=max`, else `ValueError` naming `what`.
fn int_in<T: TryFrom<u64>>(value: &Bound<'_, PyAny>, max: u64, what: &str) -> PyResult<T> {
    let out_of_range = || PyValueError::new_err(format!("{what} out of range"));
    let n: u64 = value.extract().map_err(|_| out_of_range())?;
    if n > max {
        return Err(out_of_range());
    }
    T::try_from(n).map_err(|_| out_of_range())
}

fn optional_int_in<T: TryFrom<u64>>(
    value: &Bound<'_, PyAny>,
    max: u64,
    what: &str,
) -> PyResult<Option<T>> {
    if value.is_none() {
        Ok(None)
    } else {
        int_in(value, max, what).map(Some)
    }
}

fn attr<'py>(object: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    object.getattr(name)
}

fn ssrc(object: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<u32>> {
    optional_int_in(&attr(object, name)?, u64::from(u32::MAX), "SSRC")
}

fn codec(object: &Bound<'_, PyAny>) -> PyResult<Codec> {
    let format_key = attr(object, "format_key")?
        .try_iter()?
        .map(|item| item?.extract::<String>())
        .collect::<PyResult<Vec<String>>>()?;
    Ok(Codec {
        payload_type: int_in(&attr(object, "payload_type")?, 127, "payload type")?,
        mime_type: attr(object, "mime_type")?.extract()?,
        clock_rate: int_in(
            &attr(object, "clock_rate")?,
            u64::from(u32::MAX),
            "clock rate",
        )?,
        channels: optional_int_in(&attr(object, "channels")?, u64::from(u32::MAX), "channels")?,
        format_key,
        rtx_apt: optional_int_in(&attr(object, "rtx_apt")?, 127, "payload type")?,
    })
}

fn media_line(object: &Bound<'_, PyAny>) -> PyResult<MediaLine> {
    let kind: String = attr(object, "kind")?.extract()?;
    let kind = MediaKind::from_name(&kind)
        .ok_or_else(|| PyValueError::new_err(format!("unknown media kind '{kind}'")))?;
    let codecs = attr(object, "codecs")?
        .try_iter()?
        .map(|item| codec(&item?))
        .collect::<PyResult<Vec<Codec>>>()?;
    let extensions = attr(object, "extensions")?
        .call_method0("items")?
        .try_iter()?
        .map(|item| {
            let (uri, id): (String, Bound<'_, PyAny>) = item?.extract()?;
            let id: u8 = int_in(&id, 255, "header extension id")?;
            Ok((uri, id))
        })
        .collect::<PyResult<Vec<(String, u8)>>>()?;
    Ok(MediaLine {
        kind,
        mid: attr(object, "mid")?.extract()?,
        codecs,
        extensions,
        recv_ssrc: ssrc(object, "recv_ssrc")?,
        recv_rtx_ssrc: ssrc(object, "recv_rtx_ssrc")?,
        send_ssrc: int_in(&attr(object, "send_ssrc")?, u64::from(u32::MAX), "SSRC")?,
        send_rtx_ssrc: ssrc(object, "send_rtx_ssrc")?,
        cname: attr(object, "cname")?.extract()?,
        receives: attr(object, "receives")?.is_truthy()?,
        sends: attr(object, "sends")?.is_truthy()?,
    })
}

fn transmits<'py>(py: Python<'py>, out: Vec<Transmit>) -> PyResult<Bound<'py, PyList>> {
    let items = out
        .into_iter()
        .map(|t| {
            PyTuple::new(
                py,
                [
                    t.leg_id.into_pyobject(py)?.into_any(),
                    PyBytes::new(py, &t.data).into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// The packet relay of one session (see `livelens/media/reference_relay/`).
#[pyclass(module = "livelens._fastpath", name = "Relay")]
pub struct Relay {
    inner: relay::Relay,
}

// The literal defaults of `Relay.__new__` below.
const _: () = assert!(relay::HISTORY_SIZE == 512 && relay::KEYFRAME_REQUEST_INTERVAL == 0.5);

impl Relay {
    /// For a kind the relay does not know: the reference looks the legs up first (so an
    /// unknown leg is still a `KeyError`) and then finds no stream of that kind.
    fn check_legs(&self, legs: &[&str]) -> PyResult<()> {
        match legs.iter().find(|leg| !self.inner.has_leg(leg)) {
            Some(leg) => Err(relay_error(RelayError::UnknownLeg((*leg).to_owned()))),
            None => Ok(()),
        }
    }
}

#[pymethods]
impl Relay {
    // Literal defaults, so Python's signature shows them; a test holds them equal to the
    // reference's, and the assertion above to the core's.
    #[new]
    #[pyo3(signature = (*, seed = None, history_size = 512, keyframe_interval = 0.5))]
    fn new(
        seed: Option<&Bound<'_, PyAny>>,
        history_size: i64,
        keyframe_interval: f64,
    ) -> PyResult<Self> {
        let seed =
            match seed {
                Some(seed) if !seed.is_none() => Some(seed.extract::<u64>().map_err(|_| {
                    PyValueError::new_err("seed must be an unsigned 64-bit integer")
                })?),
                _ => None,
            };
        let config = Config {
            seed,
            // Negative: as invalid as any other size that is not a power of two.
            history_size: usize::try_from(history_size).unwrap_or(0),
            keyframe_interval,
        };
        Ok(Self {
            inner: relay::Relay::new(config).map_err(relay_error)?,
        })
    }

    #[pyo3(signature = (leg_id, media, *, forwarding = false))]
    fn add_leg(
        &mut self,
        leg_id: &str,
        media: &Bound<'_, PyAny>,
        forwarding: bool,
    ) -> PyResult<()> {
        let lines = media
            .try_iter()?
            .map(|line| media_line(&line?))
            .collect::<PyResult<Vec<MediaLine>>>()?;
        self.inner
            .add_leg(leg_id, &lines, forwarding)
            .map_err(relay_error)
    }

    fn remove_leg(&mut self, leg_id: &str) {
        self.inner.remove_leg(leg_id);
    }

    fn add_route(&mut self, source_leg: &str, sink_leg: &str, kind: &str) -> PyResult<bool> {
        let Some(kind) = MediaKind::from_name(kind) else {
            if source_leg == sink_leg {
                return Err(relay_error(RelayError::SelfRoute));
            }
            self.check_legs(&[source_leg, sink_leg])?;
            return Ok(false);
        };
        self.inner
            .add_route(source_leg, sink_leg, kind)
            .map_err(relay_error)
    }

    fn remove_route(&mut self, source_leg: &str, sink_leg: &str, kind: &str) -> PyResult<()> {
        let Some(kind) = MediaKind::from_name(kind) else {
            return self.check_legs(&[source_leg]);
        };
        self.inner
            .remove_route(source_leg, sink_leg, kind)
            .map_err(relay_error)
    }

    fn set_forwarding<'py>(
        &mut self,
        py: Python<'py>,
        leg_id: &str,
        allowed: bool,
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = self
            .inner
            .set_forwarding(leg_id, allowed, now)
            .map_err(relay_error)?;
        transmits(py, out)
    }

    fn set_connected<'py>(
        &mut self,
        py: Python<'py>,
        leg_id: &str,
        connected: bool,
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = self
            .inner
            .set_connected(leg_id, connected, now)
            .map_err(relay_error)?;
        transmits(py, out)
    }

    fn handle_rtp<'py>(
        &mut self,
        py: Python<'py>,
        leg_id: &str,
        packet: &[u8],
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        transmits(py, self.inner.handle_rtp(leg_id, packet, now))
    }

    fn handle_rtcp<'py>(
        &mut self,
        py: Python<'py>,
        leg_id: &str,
        packet: &[u8],
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        transmits(py, self.inner.handle_rtcp(leg_id, packet, now))
    }

    fn next_timeout(&self) -> Option<f64> {
        self.inner.next_timeout()
    }

    fn handle_timeout<'py>(&mut self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyList>> {
        transmits(py, self.inner.handle_timeout(now))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // Stats are read a few times a second at most: one JSON conversion serves
        // here and the media port alike.
        let json = self.inner.stats().to_json().to_string();
        py.import("json")?.call_method1("loads", (json,))
    }
}
