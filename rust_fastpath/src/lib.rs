//! LiveLens data plane, exposed to Python as `livelens._fastpath`.
//!
//! The pure Rust core lives in modules with no Python in them (`srtp`, `relay`, `net`); `py` is
//! the thin PyO3 layer that `livelens/_fastpath.pyi` describes.

pub mod net;
pub mod record;
pub mod relay;
pub mod srtp;

mod py;
#[cfg(test)]
mod test_support;

/// Version of the data plane, the same as the crate's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

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
