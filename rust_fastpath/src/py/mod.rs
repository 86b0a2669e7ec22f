//! The PyO3 layer: `livelens._fastpath` as `livelens/_fastpath.pyi` types it. Thin on
//! purpose: argument conversion, Python exceptions with the core's reason, and nothing
//! else; the behaviour lives in the pure Rust modules.

use pyo3::prelude::*;

mod net;
mod relay;
mod srtp;

#[pymodule]
fn _fastpath(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    m.add_class::<srtp::SrtpContext>()?;
    m.add_class::<relay::Relay>()?;
    m.add_class::<net::MediaSocket>()?;
    Ok(())
}
