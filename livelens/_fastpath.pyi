"""Typed contract of the Rust data plane (``rust_fastpath``), checked against the built module."""

from typing import final

__version__: str

@final
class SrtpContext:
    """SRTP/SRTCP (RFC 3711, RFC 7714) for one set of keys, any number of SSRCs.

    ``profile`` is ``"AES_CM_128_HMAC_SHA1_80"``, ``"AEAD_AES_128_GCM"`` or
    ``"AEAD_AES_256_GCM"``; the master key is 16 bytes (32 for AES-256) and the master salt
    14 bytes for AES-CM, 12 for GCM. ``protect``/``protect_rtcp`` keep sender state,
    ``unprotect``/``unprotect_rtcp`` receiver state (ROC, 128-packet replay windows).
    Every refusal is a ``ValueError`` whose message is the reason (``"malformed packet"``,
    ``"authentication failed"``, ``"replayed packet"``, ...) and is counted in ``stats()``.
    """

    def __init__(self, profile: str, master_key: bytes, master_salt: bytes) -> None: ...
    @staticmethod
    def from_session_keys(
        profile: str,
        rtp_key: bytes,
        rtp_salt: bytes,
        rtcp_key: bytes,
        rtcp_salt: bytes,
        rtp_auth_key: bytes = b"",
        rtcp_auth_key: bytes = b"",
    ) -> SrtpContext:
        """A context keyed by session keys (no key derivation): SDES keying, test vectors.
        The auth keys are 20 bytes for AES_CM_128_HMAC_SHA1_80 and empty for GCM."""
    @property
    def profile(self) -> str:
        """The profile name the context was keyed for."""
    def protect(self, rtp: bytes) -> bytes:
        """The SRTP packet for an RTP packet. Re-protecting a sequence number inside the
        replay window is allowed (retransmission); an older one raises ``ValueError``."""
    def unprotect(self, srtp: bytes) -> bytes:
        """The RTP packet in an SRTP packet; ``ValueError`` on a malformed, inauthentic or
        replayed packet."""
    def protect_rtcp(self, rtcp: bytes) -> bytes:
        """The SRTCP packet for an RTCP compound packet (next SRTCP index of its SSRC)."""
    def unprotect_rtcp(self, srtcp: bytes) -> bytes:
        """The RTCP compound packet in an SRTCP packet; ``ValueError`` as for ``unprotect``."""
    def stats(self) -> dict[str, int]:
        """Counters: ``rtp_protected``, ``rtp_unprotected``, ``rtcp_protected``,
        ``rtcp_unprotected``, and refusals: ``malformed``, ``auth_failed``, ``replayed``,
        ``rejected`` (stream limit, SRTCP index exhausted, cipher failure)."""
