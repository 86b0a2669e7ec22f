//! RFC 4571 framing: how ICE-TCP (RFC 6544) carries datagrams on a byte stream, each
//! behind a 16-bit big-endian length. Sans-IO: the [`Decoder`] is fed whatever the
//! socket returned, in chunks of any size, and hands out whole frames.
//!
//! Bounded: a frame never exceeds the decoder's limit (at most [`MAX_FRAME`], the most
//! 16 bits can say), and only an incomplete frame is ever buffered, so a connection
//! costs at most `2 + limit` bytes of buffer. Garbage is refused as soon as it shows:
//! a length over the limit, or a first payload byte the caller's check rejects (for
//! the media port, one RFC 7983 does not classify), after 3 bytes rather than after
//! the 64 KiB an HTTP request's "GE" would announce. Once refused, the decoder stays
//! refused: the stream has lost its framing for good.

/// The longest frame RFC 4571 can carry.
pub const MAX_FRAME: usize = 0xFFFF;

/// Why a stream's framing is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A frame announced longer than the decoder's limit.
    TooLong(usize),
    /// A frame whose first byte the decoder's check rejected.
    BadFirstByte(u8),
}

impl FrameError {
    /// The counted drop reason.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::TooLong(_) => "frame_too_long",
            Self::BadFirstByte(_) => "frame_bad_first_byte",
        }
    }
}

/// Append `payload` as one frame; `Err` (nothing appended) when it is over [`MAX_FRAME`].
///
/// # Errors
/// A payload longer than 65535 bytes.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let len = u16::try_from(payload.len()).map_err(|_| FrameError::TooLong(payload.len()))?;
    out.reserve(2 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Decodes a stream of frames fed in arbitrary chunks.
#[derive(Clone, Debug)]
pub struct Decoder {
    /// An incomplete frame (with its length prefix) carried over from earlier chunks.
    partial: Vec<u8>,
    max_frame: usize,
    first_byte_ok: fn(u8) -> bool,
    refused: Option<FrameError>,
}

fn any_byte(_: u8) -> bool {
    true
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(MAX_FRAME, any_byte)
    }
}

impl Decoder {
    /// Frames of at most `max_frame` bytes (capped at [`MAX_FRAME`]) whose first byte
    /// passes `first_byte_ok` (empty frames have none and pass).
    #[must_use]
    pub fn new(max_frame: usize, first_byte_ok: fn(u8) -> bool) -> Self {
        Self {
            partial: Vec::new(),
            max_frame: max_frame.min(MAX_FRAME),
            first_byte_ok,
            refused: None,
        }
    }

    /// Change the limit for frames not started yet (a stream trusted after ICE may send
    /// longer frames than a stranger's first one).
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max_frame = max_frame.min(MAX_FRAME);
    }

    /// Bytes held for an incomplete frame.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// The refusal that broke the stream, if any.
    #[must_use]
    pub const fn refused(&self) -> Option<FrameError> {
        self.refused
    }

    /// Whether a frame header (or a header and first byte) is acceptable; `None`: not
    /// enough bytes to say yet.
    fn check(&self, head: &[u8]) -> Result<Option<usize>, FrameError> {
        let [hi, lo, rest @ ..] = head else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if len > self.max_frame {
            return Err(FrameError::TooLong(len));
        }
        match rest.first() {
            Some(&first) if len > 0 && !(self.first_byte_ok)(first) => {
                Err(FrameError::BadFirstByte(first))
            }
            _ => Ok(Some(len)),
        }
    }

    /// Feed one chunk; `on_frame` gets each complete frame, in order. Frames wholly in
    /// `chunk` are not copied. `Err` once the framing is broken (frames before the
    /// broken one were delivered); every later call returns the same error.
    ///
    /// # Errors
    /// The first [`FrameError`] of the stream.
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut on_frame: impl FnMut(&[u8]),
    ) -> Result<(), FrameError> {
        if let Some(error) = self.refused {
            return Err(error);
        }
        let result = self.feed_inner(&mut chunk, &mut on_frame);
        if let Err(error) = result {
            self.refused = Some(error);
            self.partial = Vec::new();
        }
        result
    }

    fn feed_inner(
        &mut self,
        chunk: &mut &[u8],
        on_frame: &mut impl FnMut(&[u8]),
    ) -> Result<(), FrameError> {
        // First complete the frame carried over.
        if !self.partial.is_empty() {
            let take = 2usize.saturating_sub(self.partial.len()).min(chunk.len());
            self.partial.extend_from_slice(&chunk[..take]);
            *chunk = &chunk[take..];
            let Some(len) = self.check(&self.partial)? else {
                return Ok(()); // still no whole header
            };
            let take = (2 + len)
                .saturating_sub(self.partial.len())
                .min(chunk.len());
            self.partial.extend_from_slice(&chunk[..take]);
            *chunk = &chunk[take..];
            self.check(&self.partial)?; // the first byte, if it came
            if self.partial.len() < 2 + len {
                return Ok(());
            }
            on_frame(&self.partial[2..]);
            self.partial.clear();
        }
        // Then every frame wholly inside the chunk, without copying.
        while let Some(len) = self.check(chunk)? {
            let Some(frame) = chunk.get(2..2 + len) else {
                break;
            };
            on_frame(frame);
            *chunk = &chunk[2 + len..];
        }
        // Keep the start of the next frame (checked already, as far as it goes).
        if !chunk.is_empty() {
            if self.partial.capacity() == 0 {
                self.partial.reserve(2 + self.max_frame.min(2048));
            }
            self.partial.extend_from_slice(chunk);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::xorshift;
    use proptest::prelude::*;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(p, &mut out).unwrap();
        }
        out
    }

    /// Feed `stream` cut at `cuts`; the frames and the outcome.
    fn decode(
        decoder: &mut Decoder,
        stream: &[u8],
        cuts: &[usize],
    ) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
        let mut got = Vec::new();
        let mut start = 0;
        let mut result = Ok(());
        for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
            let cut = cut.clamp(start, stream.len());
            result = decoder.feed(&stream[start..cut], |f| got.push(f.to_vec()));
            start = cut;
            if result.is_err() {
                break;
            }
        }
        (got, result)
    }

    #[test]
    fn frames_whole_split_and_byte_by_byte() {
        let payloads: [&[u8]; 4] = [b"\x00\x01stun", b"", &[0x80; 1500], b"\x16dtls"];
        let stream = frames(&payloads);
        let want: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();
        let whole = decode(&mut Decoder::default(), &stream, &[]);
        assert_eq!(whole, (want.clone(), Ok(())));
        let every: Vec<usize> = (1..stream.len()).collect();
        let bytewise = decode(&mut Decoder::default(), &stream, &every);
        assert_eq!(bytewise, (want, Ok(())));
    }

    #[test]
    fn a_partial_frame_is_kept_and_bounded() {
        let mut d = Decoder::new(100, any_byte);
        let stream = frames(&[&[7; 100]]);
        let mut got = 0;
        d.feed(&stream[..50], |_| got += 1).unwrap();
        assert_eq!((got, d.buffered()), (0, 50));
        d.feed(&stream[50..], |f| {
            assert_eq!(f, &[7; 100]);
            got += 1;
        })
        .unwrap();
        assert_eq!((got, d.buffered()), (1, 0));
    }

    #[test]
    fn garbage_is_refused_at_once_and_for_good() {
        let media = |b: u8| matches!(b, 0..=3 | 20..=63 | 128..=191);
        // An HTTP request: "GE" is 18245 bytes, more than this decoder takes.
        let mut d = Decoder::new(1500, media);
        let r = d.feed(b"GET / HTTP/1.1\r\n", |_| panic!("no frame"));
        assert_eq!(r, Err(FrameError::TooLong(0x4745)));
        assert_eq!(d.feed(&frames(&[b"\x00ok"]), |_| panic!("refused")), r);
        assert_eq!(d.refused(), Some(FrameError::TooLong(0x4745)));
        // A TLS ClientHello (16 03 01 ...) announces 0x1603 bytes: over a stranger's limit.
        let mut d = Decoder::new(1500, media);
        let r = d.feed(&[0x16, 0x03, 0x01, 0x02, 0x00], |_| panic!("no frame"));
        assert_eq!(r, Err(FrameError::TooLong(0x1603)));
        // A short frame of text: refused at its first byte, not after its length.
        let mut d = Decoder::new(MAX_FRAME, media);
        let r = d.feed(&[0x00, 0x40], |_| panic!("no frame"));
        assert_eq!(r, Ok(()), "two bytes say nothing yet");
        let r = d.feed(b"Hello", |_| panic!("no frame"));
        assert_eq!(r, Err(FrameError::BadFirstByte(b'H')));
        // Frames before the broken one are delivered.
        let mut stream = frames(&[b"\x00a", b"\x80b"]);
        stream.extend_from_slice(&[0, 4, b'x']);
        let (got, r) = decode(&mut Decoder::new(MAX_FRAME, media), &stream, &[3]);
        assert_eq!(got, [b"\x00a".to_vec(), b"\x80b".to_vec()]);
        assert_eq!(r, Err(FrameError::BadFirstByte(b'x')));
    }

    #[test]
    fn encode_refuses_what_16_bits_cannot_say() {
        let mut out = Vec::new();
        encode(&vec![0; MAX_FRAME], &mut out).unwrap();
        assert_eq!(out.len(), 2 + MAX_FRAME);
        assert_eq!(&out[..2], &[0xff, 0xff]);
        assert_eq!(
            encode(&vec![0; MAX_FRAME + 1], &mut out),
            Err(FrameError::TooLong(MAX_FRAME + 1))
        );
        assert_eq!(out.len(), 2 + MAX_FRAME, "nothing appended");
    }

    #[test]
    fn the_limit_can_grow_for_a_trusted_stream() {
        let mut d = Decoder::new(10, any_byte);
        let mut got = Vec::new();
        d.feed(&frames(&[&[1; 10]]), |f| got.push(f.len())).unwrap();
        d.set_max_frame(1000);
        d.feed(&frames(&[&[1; 1000]]), |f| got.push(f.len()))
            .unwrap();
        assert_eq!(got, [10, 1000]);
    }

    #[test]
    fn random_chunks_never_panic() {
        let mut next = xorshift(0x4571);
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut d = Decoder::new((next() % 70_000) as usize, |b| b < 200);
            let cuts: Vec<usize> = (0..(next() % 5)).map(|_| (next() % 64) as usize).collect();
            let mut cuts = cuts;
            cuts.sort_unstable();
            let _ = decode(&mut d, &bytes, &cuts);
            assert!(d.buffered() <= 2 + MAX_FRAME);
        }
    }

    proptest! {
        #[test]
        fn any_split_decodes_what_was_encoded(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in proptest::collection::vec(0usize..3000, 0..10),
        ) {
            let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
            let stream = frames(&refs);
            let mut cuts = cuts;
            cuts.sort_unstable();
            let (got, result) = decode(&mut Decoder::default(), &stream, &cuts);
            prop_assert_eq!(result, Ok(()));
            prop_assert_eq!(got, payloads);
        }
    }
}
