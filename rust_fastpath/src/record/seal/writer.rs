//! Sealing as the stream is written: push bytes, take the sealed chunks, `finish`.

use super::{
    check_chunk_size, encode_trailer, header, patch_fits, Patch, SealError, Sealing, FINAL_BIT,
};

/// Cuts a byte stream into chunks and seals each as soon as it is full. At most one
/// chunk of plaintext is held in memory; nothing is written anywhere: the caller takes
/// the sealed bytes ([`ChunkWriter::take_sealed`]) and stores them.
pub struct ChunkWriter {
    sealing: Sealing,
    chunk_size: usize,
    pending: Vec<u8>,
    next_index: u64,
    data_len: u64,
    out: Vec<u8>,
}

impl ChunkWriter {
    /// A writer for one recording; the file header is the first sealed output.
    ///
    /// # Errors
    /// [`SealError::BadKey`], [`SealError::BadRecordingId`] or [`SealError::BadChunkSize`].
    pub fn new(key: &[u8], recording_id: &[u8], chunk_size: u32) -> Result<Self, SealError> {
        let chunk_size = check_chunk_size(chunk_size)?;
        let header = header(chunk_size);
        Ok(Self {
            sealing: Sealing::new(key, recording_id, header)?,
            chunk_size: chunk_size as usize,
            pending: Vec::with_capacity(chunk_size as usize),
            next_index: 0,
            data_len: 0,
            out: header.to_vec(),
        })
    }

    /// Plaintext bytes pushed so far.
    #[must_use]
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Sealed bytes written so far (taken or not), the file header included.
    #[must_use]
    pub fn pending_sealed(&self) -> usize {
        self.out.len()
    }

    /// Appends plaintext, sealing every chunk it fills.
    ///
    /// # Errors
    /// [`SealError::TooLong`] past 2^32 chunks (nothing more is accepted then).
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), SealError> {
        while !bytes.is_empty() {
            let room = self.chunk_size - self.pending.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            self.data_len += now.len() as u64;
            bytes = later;
            if self.pending.len() == self.chunk_size {
                self.seal_pending(false)?;
            }
        }
        Ok(())
    }

    /// The sealed bytes produced since the last call, in file order.
    pub fn take_sealed(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Seals the rest and the trailer carrying `patches`, the last chunk marked final;
    /// returns the sealed bytes not taken yet.
    ///
    /// # Errors
    /// [`SealError::BadPatch`] for a patch outside the data written or a trailer above
    /// [`super::MAX_TRAILER`] bytes; [`SealError::TooLong`].
    pub fn finish(mut self, patches: &[Patch]) -> Result<Vec<u8>, SealError> {
        if !patches
            .iter()
            .all(|p| patch_fits(p.offset, p.bytes.len(), self.data_len))
        {
            return Err(SealError::BadPatch);
        }
        let mut trailer: &[u8] = &encode_trailer(patches)?;
        loop {
            let room = self.chunk_size - self.pending.len();
            let (now, later) = trailer.split_at(room.min(trailer.len()));
            self.pending.extend_from_slice(now);
            trailer = later;
            if trailer.is_empty() {
                self.seal_pending(true)?;
                return Ok(self.out);
            }
            self.seal_pending(false)?;
        }
    }

    fn seal_pending(&mut self, last: bool) -> Result<(), SealError> {
        let index = u32::try_from(self.next_index).map_err(|_| SealError::TooLong)?;
        // The chunk size is at most MAX_CHUNK_SIZE (< 2^31), so the length fits beside the bit.
        let len = self.pending.len() as u32;
        self.out.extend_from_slice(&index.to_be_bytes());
        self.out
            .extend_from_slice(&(len | if last { FINAL_BIT } else { 0 }).to_be_bytes());
        let start = self.out.len();
        self.out.extend_from_slice(&self.pending);
        let tag = self
            .sealing
            .seal(index, last, self.out.get_mut(start..).unwrap_or_default());
        self.out.extend_from_slice(&tag);
        self.pending.clear();
        self.next_index += 1;
        Ok(())
    }
}
