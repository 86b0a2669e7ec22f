"""The control plane under load (issue 16): ``python -m benchmarks.control_plane``."""
