"""What every use case needs: the store, the keys and the hashing parameters."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from livelens.config import Settings
from livelens.errors import NotFound
from livelens.identity.passwords import PasswordHashing
from livelens.signalling.ratelimit import BurstLog, JoinLimits, SignInLimits
from livelens.store.encryption import AccountCipher, MasterKeyring, WrappedKey
from livelens.store.records import Tenant
from livelens.store.repository import Store

if TYPE_CHECKING:
    from livelens.services.alert_delivery import AlertDelivery


@dataclass
class Context:
    store: Store
    keyring: MasterKeyring
    settings: Settings
    # The instance's derivation key (see derived_secret), opened from the store.
    derivation_key: bytes
    hashing: PasswordHashing = field(default_factory=PasswordHashing)
    join_limits: JoinLimits = field(default_factory=JoinLimits)
    signin_limits: SignInLimits = field(default_factory=SignInLimits)
    refusals: BurstLog = field(default_factory=BurstLog)  # refused attempts, logged per burst
    # Where security events go as alerts (webhooks); None: nowhere (the CLI's commands).
    alerts: AlertDelivery | None = None
    _ciphers: dict[str, AccountCipher] = field(default_factory=dict)

    def derived_secret(self, label: str) -> bytes:
        """A per-purpose secret (cookie signing, keyed hashes of join tokens and sign-in
        guards) from the instance's derivation key, which master-key rotation keeps."""
        label_bytes = b"livelens/derived/" + label.encode()
        return hmac.new(self.derivation_key, label_bytes, hashlib.sha256).digest()

    def cipher(self, tenant: Tenant) -> AccountCipher:
        cipher = self._ciphers.get(tenant.id)
        if cipher is None:
            wrapped = WrappedKey(tenant.master_key_id, tenant.wrapped_data_key)
            if wrapped.master_key_id not in self.keyring.key_ids and not self.settings.master_key:
                # `livelens keys rotate` ran while this node was up: the file has the key.
                self.keyring = MasterKeyring.load_or_create(self.settings.master_key_file)
            cipher = AccountCipher(tenant.id, self.keyring.unwrap(tenant.id, wrapped))
            self._ciphers[tenant.id] = cipher
        return cipher

    def forget_cipher(self, tenant_id: str) -> None:
        """Drop an account's opened data key from memory (the account was deleted)."""
        self._ciphers.pop(tenant_id, None)

    async def cipher_of(self, tenant_id: str) -> AccountCipher:
        """The cipher of an account known only by id (loads the account once)."""
        cipher = self._ciphers.get(tenant_id)
        if cipher is not None:
            return cipher
        tenant = await self.store.scoped(tenant_id).get_tenant()
        if tenant is None:
            raise NotFound("No such account.")
        return self.cipher(tenant)
