//! The three primitives SRTP needs, over aws-lc-rs: AES in counter mode, HMAC-SHA1 and
//! AES-GCM. Nothing else in the crate names the crypto library, so swapping it is one file.

use aws_lc_rs::{aead, cipher, constant_time, hmac};

use super::Error;

/// AES (128 or 256) in counter mode with a caller-supplied 128-bit initial counter block.
pub(crate) struct AesCtr(cipher::EncryptingKey);

/// The AES-128 or AES-256 form of an algorithm, by the key's length.
fn by_key_len<A>(key: &[u8], aes_128: A, aes_256: A) -> Result<A, Error> {
    match key.len() {
        16 => Ok(aes_128),
        32 => Ok(aes_256),
        _ => Err(Error::BadKeyLength),
    }
}

impl AesCtr {
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        let algorithm = by_key_len(key, &cipher::AES_128, &cipher::AES_256)?;
        let key = cipher::UnboundCipherKey::new(algorithm, key).map_err(|_| Error::BadKeyLength)?;
        cipher::EncryptingKey::ctr(key)
            .map(Self)
            .map_err(|_| Error::Crypto)
    }

    /// XORs the keystream that starts at counter block `iv` into `data` (encrypts and
    /// decrypts alike). The counter increments as a 128-bit big-endian integer; SRTP's IVs
    /// end in 16 zero bits, so a packet under 1 MiB never carries past them.
    pub(crate) fn apply(&self, iv: [u8; 16], data: &mut [u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.0
            .less_safe_encrypt(data, cipher::EncryptionContext::Iv128(iv.into()))
            .map(|_| ())
            .map_err(|_| Error::Crypto)
    }
}

/// HMAC-SHA1 with a fixed key (the SRTP session authentication key).
pub(crate) struct HmacSha1(hmac::Key);

impl HmacSha1 {
    pub(crate) fn new(key: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key))
    }

    /// The full 20-byte tag over the concatenation of `parts`.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut context = hmac::Context::with_key(&self.0);
        for part in parts {
            context.update(part);
        }
        let mut out = [0u8; 20];
        let tag = context.sign();
        // HMAC-SHA1 tags are always 20 bytes; zip keeps this panic-free regardless.
        for (dst, src) in out.iter_mut().zip(tag.as_ref()) {
            *dst = *src;
        }
        out
    }
}

/// Constant-time equality of two byte strings (lengths are public).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// AES-GCM (128 or 256) with 96-bit nonces and 16-byte tags.
pub(crate) struct AesGcm(aead::LessSafeKey);

impl AesGcm {
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        let algorithm = by_key_len(key, &aead::AES_128_GCM, &aead::AES_256_GCM)?;
        aead::UnboundKey::new(algorithm, key)
            .map(|key| Self(aead::LessSafeKey::new(key)))
            .map_err(|_| Error::BadKeyLength)
    }

    /// Encrypts `data` in place and returns the tag.
    pub(crate) fn seal(
        &self,
        nonce: [u8; 12],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; 16], Error> {
        let tag = self
            .0
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                data,
            )
            .map_err(|_| Error::Crypto)?;
        let mut out = [0u8; 16];
        for (dst, src) in out.iter_mut().zip(tag.as_ref()) {
            *dst = *src;
        }
        Ok(out)
    }

    /// Verifies and decrypts `ciphertext_and_tag` in place; the plaintext is its first
    /// `len - 16` bytes. On failure the buffer's content is unspecified.
    pub(crate) fn open(
        &self,
        nonce: [u8; 12],
        aad: &[u8],
        ciphertext_and_tag: &mut [u8],
    ) -> Result<(), Error> {
        self.0
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                ciphertext_and_tag,
            )
            .map(|_| ())
            .map_err(|_| Error::AuthFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, AesCtr, AesGcm, HmacSha1};
    use crate::srtp::Error;

    #[test]
    fn keys_of_the_wrong_size_are_refused() {
        for len in [0, 15, 17, 24, 31, 33] {
            let key = vec![0u8; len];
            assert_eq!(
                AesCtr::new(&key).err(),
                Some(Error::BadKeyLength),
                "ctr {len}"
            );
            assert_eq!(
                AesGcm::new(&key).err(),
                Some(Error::BadKeyLength),
                "gcm {len}"
            );
        }
    }

    #[test]
    fn gcm_round_trips_and_rejects_a_flipped_bit() {
        let gcm = AesGcm::new(&[7u8; 32]).expect("key");
        let mut data = b"hello world".to_vec();
        let tag = gcm.seal([1u8; 12], b"aad", &mut data).expect("seal");
        let mut sealed = data.clone();
        sealed.extend_from_slice(&tag);
        let mut good = sealed.clone();
        gcm.open([1u8; 12], b"aad", &mut good).expect("open");
        assert_eq!(&good[..11], b"hello world");
        for index in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[index] ^= 0x80;
            assert_eq!(
                gcm.open([1u8; 12], b"aad", &mut bad),
                Err(Error::AuthFailed)
            );
        }
        assert_eq!(
            gcm.open([1u8; 12], b"aae", &mut sealed.clone()),
            Err(Error::AuthFailed)
        );
    }

    #[test]
    fn empty_ctr_input_is_fine_and_hmac_is_deterministic() {
        let ctr = AesCtr::new(&[0u8; 16]).expect("key");
        ctr.apply([0u8; 16], &mut []).expect("empty");
        let mac = HmacSha1::new(b"key");
        assert_eq!(mac.sign(&[b"ab", b"c"]), mac.sign(&[b"abc"]));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
