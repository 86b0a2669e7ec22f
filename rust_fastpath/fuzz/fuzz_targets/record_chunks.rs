//! The sealed chunk reader never panics on any file, and refuses every change to a
//! sealed one. The first byte chooses: any bytes after a valid header (structure
//! parsing), or a real file (the rest of the input sealed) with one byte flipped or cut.
#![no_main]

use _fastpath::record::seal::{open_file, ChunkWriter, Opened};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [5; 32];
const RID: &[u8] = b"fuzz";

fn read_all(file: &[u8]) -> Result<Vec<u8>, String> {
    let opened: Opened = open_file(&KEY, RID, file).map_err(|e| e.to_string())?;
    if opened.is_empty() {
        return Ok(Vec::new());
    }
    let _ = opened.span(&(opened.len() / 2..opened.len()));
    opened
        .read_from(file, &(0..opened.len()))
        .map_err(|e| e.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let chunk_size = u32::from(selector & 0x3F) + 1;
    if selector & 0x80 == 0 {
        let mut file = b"LLREC\x01\x00\x00".to_vec();
        file.extend_from_slice(&chunk_size.to_be_bytes());
        file.extend_from_slice(rest);
        let _ = read_all(&file);
        return;
    }
    let mut writer = ChunkWriter::new(&KEY, RID, chunk_size).expect("writer");
    writer.push(rest).expect("push");
    let mut file = writer.take_sealed();
    file.extend(writer.finish(&[]).expect("finish"));
    assert_eq!(read_all(&file).as_deref(), Ok(rest));
    let at = usize::from(rest.first().copied().unwrap_or(0)) * 7 % file.len();
    if selector & 0x40 == 0 {
        file[at] ^= 0x01;
    } else {
        file.truncate(at);
    }
    assert!(read_all(&file).is_err());
});
