"""Encryption at rest: AES-256-GCM with envelope keys.

Each account has its own random data key. Data keys are stored only sealed by a
master key, which lives in a file in the data directory (mode 0600) or in the
``LIVELENS_MASTER_KEY`` environment variable and never reaches the store.
Master keys carry ids so they can be rotated: the first key seals, all open.

Every sealed value is bound to its context (account, record and field) through
the GCM associated data, so a ciphertext copied to another record fails to open.

The instance's derivation key (behind cookie signing and the keyed hashes of join
tokens, PINs and sign-in guards) is stored sealed like a data key, so putting a new
master key first changes none of those.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from livelens import private_files
from livelens.errors import InvalidInput

_FORMAT = b"\x01"  # version byte of the sealed layout: 01 | nonce(12) | ciphertext+tag
_NONCE = 12
KEY_BYTES = 32
_DERIVATION_CONTEXT = b"livelens/derivation-key"


class DecryptionError(Exception):
    """A sealed value failed authentication: wrong key, wrong context or tampered."""


def _seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return _FORMAT + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def _open(key: bytes, sealed: bytes, context: bytes) -> bytes:
    if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != _FORMAT:
        raise DecryptionError("not a sealed value")
    nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        return AESGCM(key).decrypt(nonce, body, context)
    except InvalidTag as exc:
        raise DecryptionError("authentication failed") from exc


@dataclass(frozen=True)
class WrappedKey:
    master_key_id: str
    sealed: bytes


class MasterKeyring:
    """Master keys by id; the first one is current and seals new data keys."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise InvalidInput("The master keyring is empty.")
        for key_id, key in keys:
            if len(key) != KEY_BYTES:
                raise InvalidInput(f"Master key {key_id!r} must be {KEY_BYTES} bytes.")
        self._keys = dict(keys)
        self.current_id = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> MasterKeyring:
        """Read ``id:base64key`` entries separated by commas or newlines."""
        keys = []
        for entry in text.replace(",", "\n").split():
            key_id, sep, b64 = entry.partition(":")
            if not sep or not key_id:
                raise InvalidInput("Master keys are written as id:base64key.")
            try:
                keys.append((key_id, base64.b64decode(b64, validate=True)))
            except ValueError as exc:
                raise InvalidInput(f"Master key {key_id!r} is not valid base64.") from exc
        return cls(keys)

    def serialise(self) -> str:
        current = [(self.current_id, self._keys[self.current_id])]
        rest = [(k, v) for k, v in self._keys.items() if k != self.current_id]
        return "".join(f"{k}:{base64.b64encode(v).decode()}\n" for k, v in current + rest)

    def save(self, path: Path) -> None:
        """Replace the key file in one step (mode 0600), so no reader sees half of it."""
        temporary = path.with_name(path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.serialise())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    @classmethod
    def load_or_create(cls, path: Path, env_value: str | None = None) -> MasterKeyring:
        """From the environment if set, else the key file, created on first use."""
        if env_value:
            return cls.parse(env_value)
        if path.exists():
            return cls.parse(path.read_text())
        ring = cls([(new_key_id(), secrets.token_bytes(KEY_BYTES))])
        private_files.make_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(ring.serialise())
        return ring

    def rotated(self) -> MasterKeyring:
        """A keyring with a new current key; older keys still open old data."""
        return MasterKeyring([(new_key_id(), secrets.token_bytes(KEY_BYTES)), *self._keys.items()])

    @property
    def key_ids(self) -> list[str]:
        """The current key first."""
        return [self.current_id, *(k for k in self._keys if k != self.current_id)]

    def current_key(self) -> bytes:
        return self._keys[self.current_id]

    def wrap(self, tenant_id: str, data_key: bytes) -> WrappedKey:
        sealed = _seal(self._keys[self.current_id], data_key, _dek_context(tenant_id))
        return WrappedKey(self.current_id, sealed)

    def wrap_derivation_key(self, key: bytes) -> WrappedKey:
        return WrappedKey(self.current_id, _seal(self.current_key(), key, _DERIVATION_CONTEXT))

    def unwrap_derivation_key(self, wrapped: WrappedKey) -> bytes:
        return self._open(wrapped, _DERIVATION_CONTEXT)

    def wrap_instance_key(self, name: str, key: bytes) -> WrappedKey:
        """Seal another of the instance's keys (``name``: e.g. "signing")."""
        return WrappedKey(self.current_id, _seal(self.current_key(), key, _instance_context(name)))

    def unwrap_instance_key(self, name: str, wrapped: WrappedKey) -> bytes:
        return self._open(wrapped, _instance_context(name))

    def unwrap(self, tenant_id: str, wrapped: WrappedKey) -> bytes:
        return self._open(wrapped, _dek_context(tenant_id))

    def _open(self, wrapped: WrappedKey, context: bytes) -> bytes:
        key = self._keys.get(wrapped.master_key_id)
        if key is None:
            raise DecryptionError(f"master key {wrapped.master_key_id!r} is not in the keyring")
        return _open(key, wrapped.sealed, context)


def new_key_id() -> str:
    return "mk-" + secrets.token_hex(4)


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _instance_context(name: str) -> bytes:
    return b"livelens/instance-key/" + name.encode()


def _dek_context(tenant_id: str) -> bytes:
    return b"livelens/data-key/" + tenant_id.encode()


class AccountCipher:
    """Seals and opens one account's values with its data key."""

    def __init__(self, tenant_id: str, data_key: bytes) -> None:
        self._tenant_id = tenant_id
        self._key = data_key

    def _context(self, purpose: str) -> bytes:
        return f"livelens/{self._tenant_id}/{purpose}".encode()

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        """``purpose`` names the record and field, e.g. ``user/<id>/totp``."""
        return _seal(self._key, plaintext, self._context(purpose))

    def open(self, sealed: bytes, purpose: str) -> bytes:
        return _open(self._key, sealed, self._context(purpose))

    def derive(self, info: bytes) -> bytes:
        """A 256-bit key for one purpose, ``info``: HKDF-SHA256 of the data key (no salt),
        for what is sealed outside this module (a recording, sealed by the media port
        with its own key: services.recordings). The data key itself never leaves."""
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                    info=info).derive(self._key)  # fmt: skip
