//! The few EBML (RFC 8794) writing primitives a WebM muxer needs.
//!
//! Hand-written rather than taken from a crate: `webm-iterable`/`ebml-iterable` (MIT,
//! one maintainer) write through `std::io::Write` one tag enum at a time and bring a
//! derive macro for the whole Matroska schema, where a live muxer needs about twenty
//! element ids, fixed-width placeholders it can patch later, and no allocation per
//! block. `webm-iterable` is used in the tests instead, to parse our files back.

/// An element size of "unknown": the element runs until a parent-level element starts
/// (a live Segment or Cluster).
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// Appends an element id (ids carry their own length marker: write their bytes).
pub fn id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
}

/// Appends `size` as the shortest variable-length integer (the all-ones value of each
/// width is reserved for "unknown", so it takes the next width).
pub fn size(out: &mut Vec<u8>, size: u64) {
    let width = (1..=8u32)
        .find(|&n| size < (1u64 << (7 * n)) - 1)
        .unwrap_or(8);
    if width == 8 {
        out.extend_from_slice(&size_8(size));
        return;
    }
    let marked = size | (1u64 << (7 * width));
    out.extend_from_slice(
        marked
            .to_be_bytes()
            .get(8 - width as usize..)
            .unwrap_or_default(),
    );
}

/// `size` as an 8-byte variable-length integer (for sizes patched in later). Sizes of
/// 2^56 - 1 and above do not fit and come out as the largest that does.
#[must_use]
pub fn size_8(size: u64) -> [u8; 8] {
    let mut bytes = size.min((1 << 56) - 2).to_be_bytes();
    bytes[0] = 0x01;
    bytes
}

/// An element with a binary body.
pub fn bytes(out: &mut Vec<u8>, element: u32, body: &[u8]) {
    id(out, element);
    size(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// An unsigned integer element in as few bytes as it needs (at least one).
pub fn uint(out: &mut Vec<u8>, element: u32, value: u64) {
    let be = value.to_be_bytes();
    let skip = be.iter().take(7).take_while(|b| **b == 0).count();
    bytes(out, element, be.get(skip..).unwrap_or_default());
}

/// An unsigned integer element in eight bytes (for values patched in later).
pub fn uint_8(out: &mut Vec<u8>, element: u32, value: u64) {
    bytes(out, element, &value.to_be_bytes());
}

/// A float element in eight bytes.
pub fn float(out: &mut Vec<u8>, element: u32, value: f64) {
    bytes(out, element, &value.to_be_bytes());
}

pub fn string(out: &mut Vec<u8>, element: u32, value: &str) {
    bytes(out, element, value.as_bytes());
}

/// A master element whose children `body` writes.
pub fn master(out: &mut Vec<u8>, element: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut children = Vec::new();
    body(&mut children);
    bytes(out, element, &children);
}

/// A Void element of exactly `total` bytes (at least 2): room kept for a patch.
pub fn void(out: &mut Vec<u8>, total: usize) {
    out.push(0xEC);
    let total = total.max(2);
    if total - 2 < 127 {
        size(out, (total - 2) as u64);
        out.resize(out.len() + total - 2, 0);
    } else {
        out.extend_from_slice(&size_8((total - 9) as u64));
        out.resize(out.len() + total - 9, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn sizes_take_the_shortest_unreserved_width() {
        assert_eq!(with(|o| size(o, 0)), [0x80]);
        assert_eq!(with(|o| size(o, 126)), [0xFE]);
        assert_eq!(with(|o| size(o, 127)), [0x40, 0x7F]);
        assert_eq!(with(|o| size(o, 16382)), [0x7F, 0xFE]);
        assert_eq!(with(|o| size(o, 16383)), [0x20, 0x3F, 0xFF]);
        assert_eq!(with(|o| size(o, u64::MAX)).len(), 8);
        assert_eq!(size_8(5), [1, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn elements_are_id_size_body() {
        assert_eq!(with(|o| id(o, 0x1A45_DFA3)), [0x1A, 0x45, 0xDF, 0xA3]);
        assert_eq!(with(|o| id(o, 0xA3)), [0xA3]);
        assert_eq!(with(|o| uint(o, 0xD7, 0)), [0xD7, 0x81, 0x00]);
        assert_eq!(
            with(|o| uint(o, 0x2A_D7B1, 1_000_000)),
            [0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]
        );
        assert_eq!(with(|o| uint_8(o, 0x53AC, 1)).len(), 11);
        assert_eq!(with(|o| float(o, 0x4489, 1.5)).len(), 11);
        assert_eq!(
            with(|o| master(o, 0xE0, |c| uint(c, 0xB0, 640))),
            [0xE0, 0x84, 0xB0, 0x82, 0x02, 0x80]
        );
        for total in [2, 11, 21, 128, 129, 140, 1000] {
            let void = with(|o| void(o, total));
            assert_eq!(void.len(), total, "void of {total}");
            assert_eq!(void[0], 0xEC);
        }
    }
}
