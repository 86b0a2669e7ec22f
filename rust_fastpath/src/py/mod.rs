//! The PyO3 layer: `livelens._fastpath` as `livelens/_fastpath.pyi` types it. Thin on
//! purpose: argument conversion, the Python exception for each core error (`error.rs`,
//! the one place that chooses them), events as small classes and counters as dicts
//! built here; the behaviour lives in the pure Rust modules.

use pyo3::prelude::*;

mod error;
mod media;
mod net;
mod record;
mod relay;
mod srtp;
mod stats;

#[pymodule]
fn _fastpath(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    error::register(m)?;
    m.add_class::<srtp::SrtpContext>()?;
    m.add_class::<relay::Relay>()?;
    net::register(m)?;
    record::register(m)?;
    Ok(())
}
