"""What LiveLens writes is for its own user only, whatever the umask; wider modes found
are reported with the chmod that fixes them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from livelens import private_files
from livelens.http import tls
from livelens.store.encryption import MasterKeyring


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    """umask 022, the usual default, which makes 0755 directories and 0644 files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_missing_directory_on_the_way_is_private(tmp_path: Path) -> None:
    private_files.make_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700
    assert mode(tmp_path / "a" / "b") == 0o700
    (tmp_path / "open").mkdir(mode=0o755)
    private_files.make_dir(tmp_path / "open")
    assert mode(tmp_path / "open") == 0o755  # existing ones are reported, not changed


def test_master_key_and_self_signed_certificate_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    MasterKeyring.load_or_create(data_dir / "master.key")
    cert, key = tls.ensure_self_signed(data_dir / "tls", "192.0.2.1")
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "tls") == 0o700
    assert mode(data_dir / "master.key") == 0o600
    assert mode(cert) == 0o600
    assert mode(key) == 0o600
    assert private_files.warnings(data_dir) == []


def test_wider_modes_are_reported_once_with_the_chmod(tmp_path: Path) -> None:
    data_dir = tmp_path / "data dir"
    private_files.make_dir(data_dir / "tls")
    for name in ("master.key", "tls/self-signed.key"):
        private_files.create_file(data_dir / name)
    assert private_files.warnings(data_dir) == []
    (data_dir / "tls" / "self-signed.key").chmod(0o644)
    (data_dir / "tls").chmod(0o755)
    store = tmp_path / "elsewhere" / "livelens.db"
    store.parent.mkdir()
    store.write_bytes(b"")
    Path(f"{store}-wal").write_bytes(b"")
    lines = private_files.warnings(data_dir, [store, data_dir / "master.key"])
    assert lines == [
        f"{data_dir} is readable by other users (2 path(s) wider than 0700/0600, e.g. "
        f"{data_dir / 'tls'}): run  chmod -R go= '{data_dir}'",
        f"{store} is readable by other users: run  chmod go= {store} {store}-wal",
    ]
    assert private_files.warnings(tmp_path / "missing") == []
