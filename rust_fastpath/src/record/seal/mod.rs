//! The sealed chunk format of a recording at rest: the WebM byte stream cut into
//! fixed-size chunks, each sealed with AES-256-GCM, so no plaintext reaches a disk or a
//! database and any change to the file is refused with its own error.
//!
//! ```text
//! file    = header chunk*
//! header  = "LLREC" version(1) 0 0 chunk_size(u32 BE)                 12 bytes, clear
//! chunk   = index(u32 BE) final_bit|length(u32 BE) ciphertext tag(16) 8 bytes clear
//! stream  = webm_bytes trailer trailer_len(u32 BE)                     what the chunks carry
//! trailer = count(u16 BE) { offset(u64 BE) len(u16 BE) bytes }*        patches, see below
//! ```
//!
//! Every chunk but the last holds exactly `chunk_size` bytes of the stream, so chunk `i`
//! sits at a known offset and a plaintext byte range maps to the chunks that hold it
//! without reading the others (HTTP range requests). The last chunk (1 to `chunk_size`
//! bytes) has the final bit.
//!
//! Each chunk is sealed under the recording's key with
//! - nonce = 32 zero bits ‖ chunk index (u64 BE): never reused, as a key seals one
//!   recording and each index once;
//! - associated data = the header ‖ recording id (u16 BE length ‖ bytes) ‖ chunk index
//!   (u32 BE) ‖ final flag (one byte).
//!
//! So: a flipped byte fails authentication ([`SealError::Tampered`]); a file that stops
//! before its final chunk, or inside a chunk, is [`SealError::Truncated`]; a missing
//! chunk shows as a final chunk whose index is past the chunks present
//! ([`SealError::Dropped`]); a chunk at another position than its index is
//! [`SealError::Reordered`]; a chunk of another recording (or key) fails authentication.
//!
//! **Patches.** The writer seals as it goes, so it cannot go back to fill in values
//! known only at the end (the WebM's duration and where its Cues are).
//! Those travel in the final chunk's trailer as (offset, bytes) overwrites of the
//! plaintext, and the reader applies them to whatever range it serves; the bytes on disk
//! stay a valid, if less informative, stream before they are applied.
//!
//! **Key.** The caller passes the 32-byte recording key. It is derived per recording
//! from the session's data key (Python: `services.recordings.recording_key`) as
//! `HKDF-SHA256(ikm = session data key, salt = empty, info = "livelens recording v1" ‖
//! recording id)`, 32 bytes, so crypto-shredding the session (its key) or the account
//! (whose key seals the session's) shreds its recordings, and no two recordings share a
//! key (the nonce is only unique per key).

mod reader;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

pub use reader::{open_file, tail_span, Opened};
pub use writer::ChunkWriter;

/// The plaintext bytes per chunk the recorder uses: 64 KiB.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Largest chunk size a file may declare (the reader refuses anything above).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
pub const HEADER_LEN: usize = 12;
pub const CHUNK_HEADER_LEN: usize = 8;
pub const TAG_LEN: usize = 16;
pub const KEY_LEN: usize = 32;
/// Longest recording id (bytes) the associated data takes.
pub const MAX_RECORDING_ID: usize = 255;
/// Largest trailer (patch list) a writer emits and a reader accepts.
pub const MAX_TRAILER: usize = 4096;

const MAGIC: &[u8; 5] = b"LLREC";
const VERSION: u8 = 1;
const FINAL_BIT: u32 = 1 << 31;

/// Why a sealed recording cannot be written or read. The reader's errors are distinct
/// so the playback layer can say what is wrong with a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealError {
    /// The key is not 32 bytes.
    BadKey,
    /// The recording id is longer than [`MAX_RECORDING_ID`] bytes.
    BadRecordingId,
    /// A chunk size of 0 or above [`MAX_CHUNK_SIZE`].
    BadChunkSize,
    /// Not a sealed recording (magic, version or chunk size).
    BadHeader,
    /// The file ends before its final chunk (cut at or inside a chunk).
    Truncated,
    /// The final chunk says there are `declared` chunks; the file holds `present`.
    Dropped { declared: u64, present: u64 },
    /// The chunk at `position` is chunk `found` (moved, or another chunk's copy).
    Reordered { position: u64, found: u64 },
    /// Chunk `chunk` fails authentication: changed bytes, another key or recording.
    Tampered { chunk: u64 },
    /// An authentic trailer that does not describe this stream (a writer bug).
    BadTrailer,
    /// A patch outside the data, or a trailer above [`MAX_TRAILER`] bytes.
    BadPatch,
    /// A byte range that is empty or reaches past the end of the plaintext.
    OutOfRange,
    /// The bytes given are not the span that was asked for.
    WrongSpan,
    /// More than 2^32 chunks: the writer stops rather than reuse a nonce.
    TooLong,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::BadKey => f.write_str("the recording key must be 32 bytes"),
            SealError::BadRecordingId => f.write_str("the recording id is too long"),
            SealError::BadChunkSize => f.write_str("chunk size out of range"),
            SealError::BadHeader => f.write_str("not a sealed recording"),
            SealError::Truncated => f.write_str("the recording is truncated"),
            SealError::Dropped { declared, present } => write!(
                f,
                "the recording is missing chunks ({present} of {declared} present)"
            ),
            SealError::Reordered { position, found } => {
                write!(
                    f,
                    "chunk {found} is at position {position}: chunks reordered"
                )
            }
            SealError::Tampered { chunk } => {
                write!(
                    f,
                    "chunk {chunk} fails authentication: tampered or wrong key"
                )
            }
            SealError::BadTrailer => f.write_str("the recording's trailer is malformed"),
            SealError::BadPatch => f.write_str("patch outside the recording"),
            SealError::OutOfRange => f.write_str("byte range outside the recording"),
            SealError::WrongSpan => {
                f.write_str("the sealed bytes given are not the span asked for")
            }
            SealError::TooLong => f.write_str("the recording is too long for one key"),
        }
    }
}

impl std::error::Error for SealError {}

/// Bytes to overwrite in the plaintext at `offset` when it is read (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// What every chunk of one recording shares: its key, header and recording id.
struct Sealing {
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    recording_id: Vec<u8>,
}

impl Sealing {
    fn new(key: &[u8], recording_id: &[u8], header: [u8; HEADER_LEN]) -> Result<Self, SealError> {
        if key.len() != KEY_LEN {
            return Err(SealError::BadKey);
        }
        if recording_id.len() > MAX_RECORDING_ID {
            return Err(SealError::BadRecordingId);
        }
        let key = UnboundKey::new(&aead::AES_256_GCM, key).map_err(|_| SealError::BadKey)?;
        Ok(Self {
            key: LessSafeKey::new(key),
            header,
            recording_id: recording_id.to_vec(),
        })
    }

    fn aad(&self, index: u32, last: bool) -> Vec<u8> {
        let mut aad = Vec::with_capacity(HEADER_LEN + 2 + self.recording_id.len() + 5);
        aad.extend_from_slice(&self.header);
        // At most MAX_RECORDING_ID bytes (checked in `new`), so this fits.
        aad.extend_from_slice(&(self.recording_id.len() as u16).to_be_bytes());
        aad.extend_from_slice(&self.recording_id);
        aad.extend_from_slice(&index.to_be_bytes());
        aad.push(u8::from(last));
        aad
    }

    fn seal(&self, index: u32, last: bool, data: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce(index), Aad::from(self.aad(index, last)), data)
            // aws-lc refuses only inputs above GCM's 64 GiB limit; chunks are ≤ 16 MiB.
            .map_or([0u8; TAG_LEN], |tag| {
                let mut out = [0u8; TAG_LEN];
                for (dst, src) in out.iter_mut().zip(tag.as_ref()) {
                    *dst = *src;
                }
                out
            });
        tag
    }

    /// Opens `ciphertext_and_tag` in place; the plaintext is its first `len - 16` bytes.
    fn open(&self, index: u32, last: bool, ciphertext_and_tag: &mut [u8]) -> Result<(), SealError> {
        self.key
            .open_in_place(
                nonce(index),
                Aad::from(self.aad(index, last)),
                ciphertext_and_tag,
            )
            .map(|_| ())
            .map_err(|_| SealError::Tampered {
                chunk: u64::from(index),
            })
    }
}

fn nonce(index: u32) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&u64::from(index).to_be_bytes());
    Nonce::assume_unique_for_key(bytes)
}

fn header(chunk_size: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..5].copy_from_slice(MAGIC);
    out[5] = VERSION;
    out[8..].copy_from_slice(&chunk_size.to_be_bytes());
    out
}

fn check_chunk_size(chunk_size: u32) -> Result<u32, SealError> {
    if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
        return Err(SealError::BadChunkSize);
    }
    Ok(chunk_size)
}

/// The bytes one sealed chunk of `len` plaintext bytes takes in the file.
fn sealed_len(len: u32) -> u64 {
    u64::from(len) + (CHUNK_HEADER_LEN + TAG_LEN) as u64
}

/// The trailer's wire form: the patches, then the length of that, so a reader finds it
/// from the end.
fn encode_trailer(patches: &[Patch]) -> Result<Vec<u8>, SealError> {
    let count = u16::try_from(patches.len()).map_err(|_| SealError::BadPatch)?;
    let mut out = count.to_be_bytes().to_vec();
    for patch in patches {
        let len = u16::try_from(patch.bytes.len()).map_err(|_| SealError::BadPatch)?;
        out.extend_from_slice(&patch.offset.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&patch.bytes);
    }
    if out.len() > MAX_TRAILER {
        return Err(SealError::BadPatch);
    }
    let body = out.len() as u32; // ≤ MAX_TRAILER
    out.extend_from_slice(&body.to_be_bytes());
    Ok(out)
}

/// The patches of a trailer body (without its length word), each within `data_len`.
fn decode_trailer(mut body: &[u8], data_len: u64) -> Result<Vec<Patch>, SealError> {
    fn take<'a>(body: &mut &'a [u8], n: usize) -> Result<&'a [u8], SealError> {
        let (head, rest) = body.split_at_checked(n).ok_or(SealError::BadTrailer)?;
        *body = rest;
        Ok(head)
    }
    let count = u16::from_be_bytes(
        take(&mut body, 2)?
            .try_into()
            .map_err(|_| SealError::BadTrailer)?,
    );
    let mut patches = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let offset = u64::from_be_bytes(
            take(&mut body, 8)?
                .try_into()
                .map_err(|_| SealError::BadTrailer)?,
        );
        let len = u16::from_be_bytes(
            take(&mut body, 2)?
                .try_into()
                .map_err(|_| SealError::BadTrailer)?,
        );
        let bytes = take(&mut body, usize::from(len))?.to_vec();
        if !patch_fits(offset, bytes.len(), data_len) {
            return Err(SealError::BadTrailer);
        }
        patches.push(Patch { offset, bytes });
    }
    if !body.is_empty() {
        return Err(SealError::BadTrailer);
    }
    Ok(patches)
}

fn patch_fits(offset: u64, len: usize, data_len: u64) -> bool {
    offset
        .checked_add(len as u64)
        .is_some_and(|end| end <= data_len)
}
