"""The rules of the data lifecycle, without I/O: deletion certificates and retention."""
