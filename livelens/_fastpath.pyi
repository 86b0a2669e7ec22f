"""Typed contract of the Rust data plane (``rust_fastpath``), checked against the built module."""

__version__: str
