//! Opening a sealed recording chunk by chunk: check its end once ([`Opened::open`]),
//! then decrypt only the chunks a byte range needs ([`Opened::span`], [`Opened::read`]).
//! Sans-IO: the caller reads the sealed bytes the reader names, from a file or GridFS.

use std::ops::Range;

use super::{
    check_chunk_size, decode_trailer, header, sealed_len, Patch, SealError, Sealing,
    CHUNK_HEADER_LEN, FINAL_BIT, HEADER_LEN, MAGIC, MAX_TRAILER, TAG_LEN, VERSION,
};

/// An authenticated recording: its layout, plaintext length and patches. Reads of it
/// check every chunk they decrypt again (its position, its tag).
pub struct Opened {
    sealing: Sealing,
    chunk_size: u64,
    chunks: u64,
    file_len: u64,
    data_len: u64,
    patches: Vec<Patch>,
}

/// The chunk size a file header declares.
fn parse_header(bytes: &[u8]) -> Result<u32, SealError> {
    let head = bytes.get(..HEADER_LEN).ok_or(SealError::BadHeader)?;
    let chunk_size = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    if head.get(..5) != Some(MAGIC.as_slice()) || head[5] != VERSION || head[6..8] != [0, 0] {
        return Err(SealError::BadHeader);
    }
    check_chunk_size(chunk_size).map_err(|_| SealError::BadHeader)
}

fn slot(chunk_size: u64) -> u64 {
    chunk_size + (CHUNK_HEADER_LEN + TAG_LEN) as u64
}

/// How many chunks (the last possibly partial) a file of `file_len` bytes holds.
fn chunk_count(chunk_size: u64, file_len: u64) -> Result<u64, SealError> {
    let body = file_len
        .checked_sub(HEADER_LEN as u64)
        .ok_or(SealError::BadHeader)?;
    if body == 0 {
        return Err(SealError::Truncated);
    }
    Ok(body.div_ceil(slot(chunk_size)))
}

fn chunk_offset(chunk_size: u64, position: u64) -> u64 {
    HEADER_LEN as u64 + position * slot(chunk_size)
}

/// The sealed bytes to read for [`Opened::open`]: the chunks at the end of the file that
/// can hold the trailer.
///
/// # Errors
/// [`SealError::BadHeader`] or, for a file with no chunk at all, [`SealError::Truncated`].
pub fn tail_span(header: &[u8], file_len: u64) -> Result<Range<u64>, SealError> {
    let chunk_size = u64::from(parse_header(header)?);
    let chunks = chunk_count(chunk_size, file_len)?;
    let tail = chunks.min((MAX_TRAILER as u64 + 4).div_ceil(chunk_size) + 1);
    Ok(chunk_offset(chunk_size, chunks - tail)..file_len)
}

/// Opens a recording held in memory as a whole.
///
/// # Errors
/// As [`Opened::open`].
pub fn open_file(key: &[u8], recording_id: &[u8], file: &[u8]) -> Result<Opened, SealError> {
    let file_len = file.len() as u64;
    let span = tail_span(file, file_len)?;
    let tail = file
        .get(usize::try_from(span.start).map_err(|_| SealError::WrongSpan)?..)
        .ok_or(SealError::WrongSpan)?;
    Opened::open(key, recording_id, file, file_len, tail)
}

/// The plaintext of one chunk, checked: its clear header, its position and its tag.
struct Chunk {
    index: u32,
    last: bool,
    plaintext: Vec<u8>,
}

impl Opened {
    /// Checks the end of a recording: the file must end with its final chunk, that chunk
    /// must be authentic and sit where its index says, and its trailer must parse.
    /// `header` is the file's first [`HEADER_LEN`] bytes, `tail` the bytes of
    /// [`tail_span`].
    ///
    /// # Errors
    /// [`SealError::BadKey`], [`SealError::BadRecordingId`], [`SealError::BadHeader`],
    /// [`SealError::WrongSpan`] (a `tail` of another length), [`SealError::Truncated`],
    /// [`SealError::Dropped`], [`SealError::Reordered`], [`SealError::Tampered`] or
    /// [`SealError::BadTrailer`].
    pub fn open(
        key: &[u8],
        recording_id: &[u8],
        header_bytes: &[u8],
        file_len: u64,
        tail: &[u8],
    ) -> Result<Self, SealError> {
        let chunk_size = parse_header(header_bytes)?;
        let sealing = Sealing::new(key, recording_id, header(chunk_size))?;
        let chunk_size = u64::from(chunk_size);
        let chunks = chunk_count(chunk_size, file_len)?;
        let span = tail_span(header_bytes, file_len)?;
        if tail.len() as u64 != span.end - span.start {
            return Err(SealError::WrongSpan);
        }
        let mut opened = Self {
            sealing,
            chunk_size,
            chunks,
            file_len,
            data_len: 0,
            patches: Vec::new(),
        };
        let slots: Vec<&[u8]> = tail.chunks(slot_usize(chunk_size)?).collect();
        let first = chunks - slots.len() as u64;
        // The last chunk first: it tells a dropped chunk from a moved one.
        let (last, before) = slots.split_last().ok_or(SealError::Truncated)?;
        let last = opened.open_chunk(chunks - 1, last)?;
        let stream_len = (chunks - 1) * chunk_size + last.plaintext.len() as u64;
        let mut stream_tail = Vec::new();
        for (i, bytes) in before.iter().enumerate() {
            stream_tail.extend(opened.open_chunk(first + i as u64, bytes)?.plaintext);
        }
        stream_tail.extend(last.plaintext);
        let (rest, len_word) = stream_tail
            .split_last_chunk::<4>()
            .ok_or(SealError::BadTrailer)?;
        let body_len = u32::from_be_bytes(*len_word) as usize;
        let body_start = rest
            .len()
            .checked_sub(body_len)
            .filter(|_| body_len <= MAX_TRAILER)
            .ok_or(SealError::BadTrailer)?;
        opened.data_len = stream_len - 4 - body_len as u64;
        opened.patches =
            decode_trailer(rest.get(body_start..).unwrap_or_default(), opened.data_len)?;
        Ok(opened)
    }

    /// Plaintext length: the WebM file's size.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.data_len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data_len == 0
    }

    /// The sealed bytes (a range of the file) that hold the plaintext `range`.
    ///
    /// # Errors
    /// [`SealError::OutOfRange`] for an empty range or one past the end.
    pub fn span(&self, range: &Range<u64>) -> Result<Range<u64>, SealError> {
        let chunks = self.chunks_of(range)?;
        let start = chunk_offset(self.chunk_size, chunks.start);
        let end = chunk_offset(self.chunk_size, chunks.end).min(self.file_len);
        Ok(start..end)
    }

    /// The plaintext `range`, patched, from `sealed`: exactly the bytes of
    /// [`Opened::span`] for it. Every chunk is authenticated before any byte is returned.
    ///
    /// # Errors
    /// [`SealError::OutOfRange`], [`SealError::WrongSpan`], or what a chunk fails with:
    /// [`SealError::Tampered`], [`SealError::Reordered`], [`SealError::Truncated`].
    pub fn read(&self, range: &Range<u64>, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let span = self.span(range)?;
        if sealed.len() as u64 != span.end - span.start {
            return Err(SealError::WrongSpan);
        }
        let chunks = self.chunks_of(range)?;
        let mut out = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
        for (i, bytes) in sealed.chunks(slot_usize(self.chunk_size)?).enumerate() {
            let position = chunks.start + i as u64;
            let chunk = self.open_chunk(position, bytes)?;
            let base = position * self.chunk_size;
            let from = range.start.saturating_sub(base);
            let to = (range.end - base).min(chunk.plaintext.len() as u64);
            let piece = usize::try_from(from)
                .ok()
                .zip(usize::try_from(to).ok())
                .and_then(|(from, to)| chunk.plaintext.get(from..to))
                .ok_or(SealError::BadTrailer)?;
            out.extend_from_slice(piece);
        }
        self.apply_patches(range.start, &mut out);
        Ok(out)
    }

    /// [`Opened::read`] from a file held in memory.
    ///
    /// # Errors
    /// As [`Opened::read`].
    pub fn read_from(&self, file: &[u8], range: &Range<u64>) -> Result<Vec<u8>, SealError> {
        let span = self.span(range)?;
        let sealed = usize::try_from(span.start)
            .ok()
            .zip(usize::try_from(span.end).ok())
            .and_then(|(start, end)| file.get(start..end))
            .ok_or(SealError::WrongSpan)?;
        self.read(range, sealed)
    }

    fn chunks_of(&self, range: &Range<u64>) -> Result<Range<u64>, SealError> {
        if range.start >= range.end || range.end > self.data_len {
            return Err(SealError::OutOfRange);
        }
        Ok(range.start / self.chunk_size..(range.end - 1) / self.chunk_size + 1)
    }

    fn apply_patches(&self, start: u64, out: &mut [u8]) {
        let end = start + out.len() as u64;
        for patch in &self.patches {
            for (i, byte) in patch.bytes.iter().enumerate() {
                let at = patch.offset + i as u64;
                if (start..end).contains(&at) {
                    if let Some(slot) = out.get_mut((at - start) as usize) {
                        *slot = *byte;
                    }
                }
            }
        }
    }

    /// Checks and decrypts the chunk at `position` from `bytes`, which run from its start
    /// to the end of its slot or of the file.
    fn open_chunk(&self, position: u64, bytes: &[u8]) -> Result<Chunk, SealError> {
        let last = position + 1 == self.chunks;
        let Some((clear, sealed)) = bytes.split_first_chunk::<CHUNK_HEADER_LEN>() else {
            return Err(SealError::Truncated);
        };
        let index = u32::from_be_bytes([clear[0], clear[1], clear[2], clear[3]]);
        let word = u32::from_be_bytes([clear[4], clear[5], clear[6], clear[7]]);
        let claimed_last = word & FINAL_BIT != 0;
        let len = u64::from(word & !FINAL_BIT);
        let tampered = SealError::Tampered { chunk: position };
        let bad_len = len > self.chunk_size || (!claimed_last && len != self.chunk_size);
        if bad_len || (claimed_last && len == 0) {
            return Err(tampered);
        }
        let needed = sealed_len(word & !FINAL_BIT) - CHUNK_HEADER_LEN as u64;
        if (sealed.len() as u64) < needed {
            return Err(SealError::Truncated);
        }
        if sealed.len() as u64 > needed {
            return Err(tampered);
        }
        let mut plaintext = sealed.to_vec();
        self.sealing
            .open(index, claimed_last, &mut plaintext)
            .map_err(|_| tampered)?;
        plaintext.truncate(plaintext.len() - TAG_LEN);
        let chunk = Chunk {
            index,
            last: claimed_last,
            plaintext,
        };
        self.check_place(position, last, &chunk)?;
        Ok(chunk)
    }

    /// An authentic chunk in the wrong place: which error that is.
    fn check_place(&self, position: u64, last: bool, chunk: &Chunk) -> Result<(), SealError> {
        let index = u64::from(chunk.index);
        if last && chunk.last && index > position {
            return Err(SealError::Dropped {
                declared: index + 1,
                present: self.chunks,
            });
        }
        if index != position || (chunk.last && !last) {
            return Err(SealError::Reordered {
                position,
                found: index,
            });
        }
        if last && !chunk.last {
            // The file stops after a chunk that is not the final one.
            return Err(SealError::Truncated);
        }
        Ok(())
    }
}

fn slot_usize(chunk_size: u64) -> Result<usize, SealError> {
    usize::try_from(slot(chunk_size)).map_err(|_| SealError::BadHeader)
}
