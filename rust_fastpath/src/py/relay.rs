//! `Relay`: the Rust relay with the reference relay's Python API, for the tests that
//! hold the two together and the benchmark that sets them side by side (the media port
//! drives the core directly, with numbers). Python names legs with strings, as the
//! reference does; they are numbered once, in `add_leg`, and each transmit carries its
//! leg's name as the same `str` object, never a new one.

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::error::{Error, Result};
use super::media::media_lines;
use super::stats;
use crate::relay::{self, Config, LegId, MediaKind, Protocol, RelayError, Switch, Transmit};

/// The number the core sees for a name it has never been given: no leg has it, so the
/// core counts the packet as for an unknown leg, as the reference does.
const NO_LEG: LegId = LegId::MAX;

/// The packet relay of one session (see `livelens/media/reference_relay/`).
#[pyclass(module = "livelens._fastpath", name = "Relay")]
pub struct Relay {
    inner: relay::Relay,
    /// Every name `add_leg` was given, with its number (kept after `remove_leg`, so a
    /// leg that comes back has the same number and its name object is not rebuilt).
    numbers: HashMap<String, LegId>,
    /// The names by number (numbers are indices).
    names: Vec<Py<PyString>>,
}

// The literal defaults of `Relay.__new__` below.
const _: () = assert!(relay::HISTORY_SIZE == 512 && relay::KEYFRAME_REQUEST_INTERVAL == 0.5);

impl Relay {
    fn number(&self, name: &str) -> LegId {
        self.numbers.get(name).copied().unwrap_or(NO_LEG)
    }

    /// The number of a leg the relay has; `UnknownLeg` otherwise.
    fn leg(&self, name: &str) -> Result<LegId> {
        match self.numbers.get(name) {
            Some(&n) if self.inner.has_leg(n) => Ok(n),
            _ => Err(Error::UnknownLegNamed(name.to_owned())),
        }
    }

    fn name<'py>(&self, py: Python<'py>, leg: LegId) -> PyResult<Bound<'py, PyAny>> {
        let index = usize::try_from(leg).ok();
        match index.and_then(|i| self.names.get(i)) {
            Some(name) => Ok(name.bind(py).clone().into_any()),
            None => Ok(leg.into_pyobject(py)?.into_any()), // cannot happen: we number legs
        }
    }

    /// `(leg_id, data)` tuples, which unpack like the reference's `Transmit`.
    fn transmits<'py>(&self, py: Python<'py>, out: Vec<Transmit>) -> PyResult<Bound<'py, PyList>> {
        let items = out
            .into_iter()
            .map(|t| {
                PyTuple::new(
                    py,
                    [
                        self.name(py, t.leg_id)?,
                        PyBytes::new(py, &t.data).into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
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
    ) -> Result<Self> {
        let seed = match seed {
            Some(seed) if !seed.is_none() => Some(seed.extract::<u64>().map_err(|_| {
                RelayError::InvalidConfig("seed must be an unsigned 64-bit integer".to_owned())
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
            inner: relay::Relay::new(config)?,
            numbers: HashMap::new(),
            names: Vec::new(),
        })
    }

    #[pyo3(signature = (leg_id, media, *, forwarding = false))]
    fn add_leg(
        &mut self,
        leg_id: &Bound<'_, PyString>,
        media: &Bound<'_, PyAny>,
        forwarding: bool,
    ) -> Result<()> {
        let name = leg_id.to_str()?;
        let known = self.numbers.get(name).copied();
        if known.is_some_and(|n| self.inner.has_leg(n)) {
            return Err(Error::LegNamedExists(name.to_owned()));
        }
        let lines = media_lines(media)?;
        let number = match known {
            Some(n) => n,
            None => LegId::try_from(self.names.len()).unwrap_or(NO_LEG),
        };
        self.inner.add_leg(number, &lines, forwarding)?;
        if known.is_none() {
            self.numbers.insert(name.to_owned(), number);
            self.names.push(leg_id.clone().unbind());
        }
        Ok(())
    }

    fn remove_leg(&mut self, leg_id: &str) {
        self.inner.remove_leg(self.number(leg_id));
    }

    fn add_route(&mut self, source_leg: &str, sink_leg: &str, kind: &str) -> Result<bool> {
        if source_leg == sink_leg {
            return Err(RelayError::SelfRoute.into());
        }
        let (source, sink) = (self.leg(source_leg)?, self.leg(sink_leg)?);
        // A kind the relay does not know: no stream of it on either side.
        let Some(kind) = MediaKind::from_name(kind) else {
            return Ok(false);
        };
        Ok(self.inner.add_route(source, sink, kind)?)
    }

    fn remove_route(&mut self, source_leg: &str, sink_leg: &str, kind: &str) -> Result<()> {
        let source = self.leg(source_leg)?;
        let Some(kind) = MediaKind::from_name(kind) else {
            return Ok(());
        };
        Ok(self
            .inner
            .remove_route(source, self.number(sink_leg), kind)?)
    }

    /// Turns one of a leg's switches on or off: `"forwarding"` (its consent gate) or
    /// `"connected"` (its transport), as the core's [`Switch`].
    fn switch<'py>(
        &mut self,
        py: Python<'py>,
        leg_id: &str,
        switch: &str,
        on: bool,
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let switch = match switch {
            "forwarding" => Switch::Forwarding(on),
            "connected" => Switch::Connected(on),
            other => return Err(PyValueError::new_err(format!("no switch {other:?}"))),
        };
        let out = self
            .inner
            .switch(self.leg(leg_id)?, switch, now)
            .map_err(Error::from)?;
        self.transmits(py, out)
    }

    /// One plaintext packet received on a leg: RTP or RTCP, told apart as RFC 5761 says.
    fn handle_packet<'py>(
        &mut self,
        py: Python<'py>,
        leg_id: &str,
        packet: &[u8],
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        let leg = self.number(leg_id);
        self.inner
            .receive(Protocol::of(packet), leg, packet, now, &mut out);
        self.transmits(py, out)
    }

    fn next_timeout(&self) -> Option<f64> {
        self.inner.next_timeout()
    }

    fn handle_timeout<'py>(&mut self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyList>> {
        let out = self.inner.handle_timeout(now);
        self.transmits(py, out)
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats::relay(py, &self.inner.stats(), &|leg| self.name(py, leg))
    }
}
