//! LiveLens data plane, exposed to Python as `livelens._fastpath`.
//!
//! For now it proves the packaging path: the crate builds with maturin into the
//! Python package and reports its version. The media relay lands here next.

use pyo3::prelude::*;

/// Version of the data plane, the same as the crate's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[pymodule]
fn _fastpath(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", VERSION)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::VERSION;

    #[test]
    fn version_is_semver() {
        let parts: Vec<&str> = VERSION.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()));
    }
}
