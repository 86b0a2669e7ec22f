import base64
import stat
from pathlib import Path

import pytest

from livelens.errors import InvalidInput
from livelens.store.encryption import (
    AccountCipher,
    DecryptionError,
    MasterKeyring,
    new_data_key,
)


def test_sealed_value_opens_only_in_its_own_context() -> None:
    cipher = AccountCipher("t1", new_data_key())
    sealed = cipher.seal(b"JBSWY3DPEHPK3PXP", "user/u1/totp")
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert cipher.open(sealed, "user/u1/totp") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(DecryptionError):
        cipher.open(sealed, "user/u2/totp")  # copied onto another record
    with pytest.raises(DecryptionError):
        AccountCipher("t2", new_data_key()).open(sealed, "user/u1/totp")


def test_tampering_is_detected() -> None:
    cipher = AccountCipher("t1", new_data_key())
    sealed = bytearray(cipher.seal(b"secret", "p"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.open(bytes(sealed), "p")
    with pytest.raises(DecryptionError):
        cipher.open(b"\x01short", "p")


def test_data_keys_survive_master_key_rotation() -> None:
    ring = MasterKeyring.parse("k1:" + base64.b64encode(b"\x07" * 32).decode())
    data_key = new_data_key()
    wrapped = ring.wrap("t1", data_key)
    rotated = ring.rotated()
    assert rotated.current_id != "k1"
    assert rotated.unwrap("t1", wrapped) == data_key  # old key still opens
    assert rotated.wrap("t1", data_key).master_key_id == rotated.current_id
    with pytest.raises(DecryptionError):
        rotated.unwrap("t2", wrapped)  # bound to its tenant


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    first = MasterKeyring.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = MasterKeyring.load_or_create(path)
    assert again.current_id == first.current_id
    assert again.current_key() == first.current_key()


def test_environment_key_wins_over_file(tmp_path: Path) -> None:
    env = "envkey:" + base64.b64encode(b"\x01" * 32).decode()
    ring = MasterKeyring.load_or_create(tmp_path / "master.key", env)
    assert ring.current_id == "envkey"
    assert not (tmp_path / "master.key").exists()


@pytest.mark.parametrize("text", ["", "nokey", "k:%%%", "k:" + base64.b64encode(b"x").decode()])
def test_bad_master_key_text_is_a_clear_error(text: str) -> None:
    with pytest.raises(InvalidInput):
        MasterKeyring.parse(text)
