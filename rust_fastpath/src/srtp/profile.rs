//! The three SRTP protection profiles aiortc negotiates, and their lengths.

use super::Error;

/// An SRTP protection profile (RFC 5764 section 4.1.2, RFC 7714 section 14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80`: AES-128 counter mode, HMAC-SHA1 tag cut to 80 bits.
    AesCm128HmacSha1_80,
    /// `SRTP_AEAD_AES_128_GCM`: AES-128-GCM with a 16-byte tag.
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM`: AES-256-GCM with a 16-byte tag.
    AeadAes256Gcm,
}

impl Profile {
    /// Every supported profile, in aiortc's order of preference reversed (oldest first).
    pub const ALL: [Self; 3] = [
        Self::AesCm128HmacSha1_80,
        Self::AeadAes128Gcm,
        Self::AeadAes256Gcm,
    ];

    /// The profile with this name, as the issue and SDES spell them.
    ///
    /// # Errors
    /// [`Error::UnknownProfile`] for any other string.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|profile| profile.name() == name)
            .ok_or(Error::UnknownProfile)
    }

    /// `AES_CM_128_HMAC_SHA1_80`, `AEAD_AES_128_GCM` or `AEAD_AES_256_GCM`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Self::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Master key length, also the session encryption key length.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 | Self::AeadAes128Gcm => 16,
            Self::AeadAes256Gcm => 32,
        }
    }

    /// Master salt length, also the session salt length: 112 bits for AES-CM,
    /// 96 bits for GCM.
    #[must_use]
    pub const fn salt_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 14,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 12,
        }
    }

    /// Session authentication key length; zero for the AEAD profiles.
    #[must_use]
    pub const fn auth_key_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 20,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 0,
        }
    }

    /// Authentication tag length on the wire, the same for SRTP and SRTCP.
    #[must_use]
    pub const fn tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 10,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
        }
    }

    /// Bytes `protect` adds to an RTP packet.
    #[must_use]
    pub const fn rtp_overhead(self) -> usize {
        self.tag_len()
    }

    /// Bytes `protect_rtcp` adds to an RTCP packet: the tag and the E-flag/index word.
    #[must_use]
    pub const fn rtcp_overhead(self) -> usize {
        self.tag_len() + 4
    }
}

#[cfg(test)]
mod tests {
    use super::{Error, Profile};

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for profile in Profile::ALL {
            assert_eq!(Profile::from_name(profile.name()), Ok(profile));
        }
        for name in [
            "",
            "aes_cm_128_hmac_sha1_80",
            "AES_CM_128_HMAC_SHA1_32",
            "NULL",
        ] {
            assert_eq!(Profile::from_name(name), Err(Error::UnknownProfile));
        }
    }

    #[test]
    fn lengths_follow_rfc_5764_and_rfc_7714() {
        // (key, salt, auth key, tag)
        for (p, lengths) in [
            (Profile::AesCm128HmacSha1_80, (16, 14, 20, 10)),
            (Profile::AeadAes128Gcm, (16, 12, 0, 16)),
            (Profile::AeadAes256Gcm, (32, 12, 0, 16)),
        ] {
            let got = (p.key_len(), p.salt_len(), p.auth_key_len(), p.tag_len());
            assert_eq!(got, lengths, "{p:?}");
        }
    }
}
