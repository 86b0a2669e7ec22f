use proptest::prelude::*;

use super::*;

const KEY: [u8; 32] = [7; 32];
const RID: &[u8] = b"rec-1";

/// Seals `data` pushed in pieces cut at `cuts`, with `patches`.
fn seal(data: &[u8], cuts: &[usize], chunk_size: u32, patches: &[Patch]) -> Vec<u8> {
    let mut writer = ChunkWriter::new(&KEY, RID, chunk_size).expect("writer");
    let mut file = Vec::new();
    let mut rest = data;
    for &cut in cuts {
        let (now, later) = rest.split_at(cut.min(rest.len()));
        writer.push(now).expect("push");
        file.extend(writer.take_sealed());
        rest = later;
    }
    writer.push(rest).expect("push");
    file.extend(writer.finish(patches).expect("finish"));
    file
}

fn read_all(file: &[u8]) -> Result<Vec<u8>, SealError> {
    let opened = open_file(&KEY, RID, file)?;
    if opened.is_empty() {
        return Ok(Vec::new());
    }
    opened.read_from(file, &(0..opened.len()))
}

/// The file's chunks (header first), so tests can drop and swap them.
fn split(file: &[u8], chunk_size: u32) -> (Vec<u8>, Vec<Vec<u8>>) {
    let slot = chunk_size as usize + CHUNK_HEADER_LEN + TAG_LEN;
    let (header, body) = file.split_at(HEADER_LEN);
    (
        header.to_vec(),
        body.chunks(slot).map(<[u8]>::to_vec).collect(),
    )
}

fn join(header: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header.to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn round_trip_with_patches_and_ranges() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let patch = Patch {
        offset: 95,
        bytes: vec![0xEE; 10],
    };
    let file = seal(&data, &[3, 500], 64, &[patch]);
    let mut expected = data.clone();
    expected[95..105].fill(0xEE);
    assert_eq!(read_all(&file), Ok(expected.clone()));
    let opened = open_file(&KEY, RID, &file).expect("open");
    assert_eq!(opened.len(), 1000);
    for range in [0..1, 63..65, 100..101, 90..200, 999..1000] {
        let span = opened.span(&range).expect("span");
        let touched = (range.end - 1) / 64 - range.start / 64 + 1;
        assert!(
            span.end - span.start <= touched * (64 + 24),
            "only the chunks needed"
        );
        let got = opened.read_from(&file, &range).expect("read");
        assert_eq!(got, expected[range.start as usize..range.end as usize]);
    }
    assert_eq!(opened.span(&(5..5)), Err(SealError::OutOfRange));
    assert_eq!(opened.span(&(0..1001)), Err(SealError::OutOfRange));
    assert_eq!(
        opened.read(&(0..10), &file[..10]),
        Err(SealError::WrongSpan)
    );
}

#[test]
fn an_empty_recording_opens_empty() {
    let file = seal(&[], &[], 16, &[]);
    assert_eq!(read_all(&file), Ok(Vec::new()));
}

#[test]
fn bad_inputs_are_refused() {
    assert_eq!(
        ChunkWriter::new(&[0; 16], RID, 64).err(),
        Some(SealError::BadKey)
    );
    assert_eq!(
        ChunkWriter::new(&KEY, &[0; 256], 64).err(),
        Some(SealError::BadRecordingId)
    );
    assert_eq!(
        ChunkWriter::new(&KEY, RID, 0).err(),
        Some(SealError::BadChunkSize)
    );
    let writer = ChunkWriter::new(&KEY, RID, 64).expect("writer");
    let outside = Patch {
        offset: 0,
        bytes: vec![1],
    };
    assert_eq!(writer.finish(&[outside]).err(), Some(SealError::BadPatch));
    let file = seal(b"hello", &[], 64, &[]);
    assert_eq!(
        open_file(&KEY, RID, &file[..5]).err(),
        Some(SealError::BadHeader)
    );
    let mut other = file.clone();
    other[0] = b'X';
    assert_eq!(
        open_file(&KEY, RID, &other).err(),
        Some(SealError::BadHeader)
    );
    assert_eq!(
        open_file(&[8; 32], RID, &file).err(),
        Some(SealError::Tampered { chunk: 0 })
    );
    assert_eq!(
        open_file(&KEY, b"rec-2", &file).err(),
        Some(SealError::Tampered { chunk: 0 })
    );
    assert_eq!(tail_span(&file, 12), Err(SealError::Truncated));
    assert!(SealError::Dropped {
        declared: 3,
        present: 2
    }
    .to_string()
    .contains("missing"));
}

#[test]
fn the_classic_attacks_have_their_own_errors() {
    let data = vec![0x5A; 64 * 5 + 10];
    let file = seal(&data, &[], 64, &[]);
    let (header, chunks) = split(&file, 64);
    assert_eq!(chunks.len(), 6);

    // The file read back with its chunks rearranged by `change`.
    let read_changed = |change: &dyn Fn(&mut Vec<Vec<u8>>)| {
        let mut changed = chunks.clone();
        change(&mut changed);
        read_all(&join(&header, &changed))
    };
    let dropped = SealError::Dropped {
        declared: 6,
        present: 5,
    };
    assert_eq!(read_changed(&|c| drop(c.remove(2))), Err(dropped));
    let swapped = SealError::Reordered {
        position: 1,
        found: 3,
    };
    assert_eq!(read_changed(&|c| c.swap(1, 3)), Err(swapped));
    // The short final chunk moved breaks the layout itself: refused, as tampering.
    assert!(read_changed(&|c| c.swap(4, 5)).is_err());

    assert_eq!(
        read_all(&join(&header, &chunks[..5])),
        Err(SealError::Truncated)
    );
    let mut flipped = file.clone();
    flipped[HEADER_LEN + 100] ^= 1;
    assert_eq!(read_all(&flipped), Err(SealError::Tampered { chunk: 1 }));
}

proptest! {
    #[test]
    fn any_bytes_any_cuts_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0usize..200, 0..6),
        chunk_size in 1u32..100,
    ) {
        let file = seal(&data, &cuts, chunk_size, &[]);
        prop_assert_eq!(read_all(&file), Ok(data.clone()));
        // The same stream, whatever the pushes: sealing is deterministic.
        prop_assert_eq!(&file, &seal(&data, &[], chunk_size, &[]));
        if !data.is_empty() {
            let opened = open_file(&KEY, RID, &file).expect("open");
            let start = cuts.first().copied().unwrap_or(0) % data.len();
            let end = data.len().min(start + 1 + cuts.last().copied().unwrap_or(7));
            let got = opened.read_from(&file, &(start as u64..end as u64));
            prop_assert_eq!(got, Ok(data[start..end].to_vec()));
        }
    }

    #[test]
    fn any_flipped_byte_is_refused(
        data in proptest::collection::vec(any::<u8>(), 1..400),
        chunk_size in 1u32..80,
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut file = seal(&data, &[], chunk_size, &[]);
        let at = at.index(file.len());
        file[at] ^= 1 << bit;
        prop_assert!(read_all(&file).is_err());
    }

    #[test]
    fn any_truncation_is_truncated(
        data in proptest::collection::vec(any::<u8>(), 0..400),
        chunk_size in 1u32..80,
        cut in any::<prop::sample::Index>(),
    ) {
        let file = seal(&data, &[], chunk_size, &[]);
        let cut = HEADER_LEN + cut.index(file.len() - HEADER_LEN);
        prop_assert_eq!(read_all(&file[..cut]), Err(SealError::Truncated));
    }

    #[test]
    fn any_dropped_or_moved_chunk_is_refused(
        data in proptest::collection::vec(any::<u8>(), 1..400),
        chunk_size in 1u32..40,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let file = seal(&data, &[], chunk_size, &[]);
        let (header, chunks) = split(&file, chunk_size);
        let (a, b) = (a.index(chunks.len()), b.index(chunks.len()));
        let mut dropped = chunks.clone();
        dropped.remove(a);
        let expected = if a + 1 == chunks.len() {
            SealError::Truncated
        } else {
            SealError::Dropped { declared: chunks.len() as u64, present: chunks.len() as u64 - 1 }
        };
        prop_assert_eq!(read_all(&join(&header, &dropped)), Err(expected));
        if a != b {
            let mut moved = chunks.clone();
            moved.swap(a, b);
            let result = read_all(&join(&header, &moved));
            let last = chunks.len() - 1;
            if a != last && b != last {
                let reordered = matches!(result, Err(SealError::Reordered { .. }));
                prop_assert!(reordered);
            } else {
                prop_assert!(result.is_err());
            }
        }
    }

    #[test]
    fn opening_garbage_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut file = header(16).to_vec();
        file.extend(data);
        if let Ok(opened) = open_file(&KEY, RID, &file) {
            let _ = opened.read_from(&file, &(0..opened.len().max(1)));
        }
    }
}
