//! The first bytes of a connection on the web port shared with media (sans-IO): an
//! ICE-TCP stream (RFC 6544: an RFC 4571 frame whose payload is a STUN message, the
//! browser's first check), TLS (a handshake record, `0x16 0x03`) or plain HTTP (an
//! upper-case method token and a space, or HTTP/2's `PRI` preface) — or not enough bytes
//! yet, or none of these.
//!
//! The three never overlap: an ICE-TCP connection starts with its frame's length, which
//! for a first check is far under `0x1603` (5635) and under `0x4100` (an upper-case
//! letter first).

/// What a connection on the shared port is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// TLS or plain HTTP: the web server's.
    Web,
    /// A framed STUN message: the media port's.
    IceTcp,
    /// Every byte so far fits one of them: wait for more.
    NeedMore,
    /// Fits none: close it.
    Garbage,
}

/// The STUN magic cookie (RFC 5389), after the 4 bytes of type and length.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// A STUN header's length.
const STUN_HEADER: usize = 20;
/// The longest first frame taken as ICE-TCP: a browser's check is a few hundred bytes.
pub const MAX_FIRST_FRAME: usize = 1500;
/// A check of a prefix of the first bytes, and how many bytes it needs.
type PrefixCheck = (usize, fn(&[u8]) -> bool);

/// The longest HTTP method token looked for (`OPTIONS` is 7; extensions a bit longer).
const MAX_METHOD: usize = 16;
/// Bytes that always decide (a method token and its space, or a frame's and STUN's head).
pub const DECIDING_BYTES: usize = MAX_METHOD + 1;

/// Classify a connection by the bytes it sent first (all of them so far, peeked).
#[must_use]
pub fn classify(first: &[u8]) -> Kind {
    let Some(&head) = first.first() else {
        return Kind::NeedMore;
    };
    match head {
        0x16 => tls(first),
        b'A'..=b'Z' => http(first),
        _ => ice_tcp(first),
    }
}

/// A TLS handshake record: content type 22, then a 3.x version.
fn tls(first: &[u8]) -> Kind {
    match first.get(1) {
        None => Kind::NeedMore,
        Some(0x03) => Kind::Web,
        Some(_) => Kind::Garbage,
    }
}

/// An HTTP/1 request line's method token (RFC 9110 methods are upper-case tokens) and
/// its space; HTTP/2's preface starts `PRI * `, so it is one too.
fn http(first: &[u8]) -> Kind {
    for (i, &b) in first.iter().enumerate().take(MAX_METHOD + 1) {
        match b {
            b' ' if i > 0 => return Kind::Web,
            b'A'..=b'Z' | b'-' | b'_' if i < MAX_METHOD => {}
            _ => return Kind::Garbage,
        }
    }
    Kind::NeedMore
}

/// An RFC 4571 frame of one whole STUN message: its length (2 bytes) is the message's
/// header and body, the message's first two bits are zero, its length a multiple of 4,
/// and the magic cookie follows.
fn ice_tcp(first: &[u8]) -> Kind {
    let checks: [PrefixCheck; 3] = [
        (2, |b| {
            let frame = usize::from(u16::from_be_bytes([b[0], b[1]]));
            (STUN_HEADER..=MAX_FIRST_FRAME).contains(&frame)
        }),
        (3, |b| b[2] & 0xC0 == 0),
        (6, |b| {
            let frame = usize::from(u16::from_be_bytes([b[0], b[1]]));
            let body = usize::from(u16::from_be_bytes([b[4], b[5]]));
            body % 4 == 0 && body + STUN_HEADER == frame
        }),
    ];
    for (needed, check) in checks {
        match first.get(..needed) {
            Some(prefix) if !check(prefix) => return Kind::Garbage,
            Some(_) => {}
            None => return Kind::NeedMore,
        }
    }
    // The magic cookie, byte by byte as far as it arrived.
    let cookie = first.get(6..).unwrap_or(&[]);
    let seen = cookie.len().min(MAGIC_COOKIE.len());
    if cookie.get(..seen) != MAGIC_COOKIE.get(..seen) {
        return Kind::Garbage;
    }
    if seen < MAGIC_COOKIE.len() {
        Kind::NeedMore
    } else {
        Kind::IceTcp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::stun;

    /// A framed binding request as a browser sends it first.
    fn framed_check() -> Vec<u8> {
        let mut request = vec![0x00, 0x01, 0x00, 0x08];
        request.extend(MAGIC_COOKIE);
        request.extend([7u8; 12]); // transaction id
        request.extend([0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff]); // PRIORITY
        let mut framed = u16::try_from(request.len()).unwrap().to_be_bytes().to_vec();
        framed.extend(request);
        framed
    }

    #[test]
    fn a_framed_check_is_ice_tcp_once_its_cookie_is_in() {
        let check = framed_check();
        assert!(stun::looks_like_stun(&check[2..]));
        for n in 0..10 {
            assert_eq!(classify(&check[..n]), Kind::NeedMore, "{n} bytes");
        }
        for n in 10..=check.len() {
            assert_eq!(classify(&check[..n]), Kind::IceTcp, "{n} bytes");
        }
    }

    #[test]
    fn tls_and_http_are_web() {
        assert_eq!(classify(&[0x16]), Kind::NeedMore);
        assert_eq!(classify(&[0x16, 0x03, 0x01, 0x02, 0x00]), Kind::Web);
        for request in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /api/login HTTP/1.1",
            b"OPTIONS * HTTP/1.1",
            b"PRI * HTTP/2.0\r\n\r\nSM",
            b"M-SEARCH * HTTP/1.1",
        ] {
            assert_eq!(classify(request), Kind::Web, "{request:?}");
            let method = request.iter().position(|&b| b == b' ').unwrap();
            for n in 1..=method {
                assert_eq!(classify(&request[..n]), Kind::NeedMore, "{request:?} {n}");
            }
        }
    }

    #[test]
    fn anything_else_is_garbage_as_soon_as_it_shows() {
        for bytes in [
            &b"get / HTTP/1.1"[..],                // not a method token
            b"G\tET",                              // not a token character
            b"ABCDEFGHIJKLMNOPQ",                  // a method too long
            &[0x16, 0x02],                         // not TLS 1.x
            &[0x80, 0x2e, 0x01],                   // SSLv2
            &[0x00, 0x10],                         // a frame too short for STUN
            &[0x05, 0xe0],                         // a frame too long for a first check
            &[0x00, 0x64, 0x80],                   // RTP, not STUN
            &[0x00, 0x64, 0x00, 0x01, 0x00, 0x51], // the STUN length does not fit the frame
            &[0x00, 0x1c, 0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x43], // no cookie
            &[0x00, 0x1c, 0x00, 0x01, 0x00, 0x08, 0x22],
            b"\r\n",
        ] {
            assert_eq!(classify(bytes), Kind::Garbage, "{bytes:?}");
        }
    }

    #[test]
    fn the_deciding_bytes_always_decide() {
        let cases: [&[u8]; 4] = [
            b"ABCDEFGHIJKLMNOP ",
            b"AAAAAAAAAAAAAAAAA",
            &[0; 17],
            &[0x16; 17],
        ];
        for bytes in cases {
            assert_ne!(classify(&bytes[..DECIDING_BYTES]), Kind::NeedMore);
        }
    }

    proptest::proptest! {
        #[test]
        fn a_decision_never_changes_with_more_bytes(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)
        ) {
            let decided = (0..=bytes.len())
                .map(|n| classify(&bytes[..n]))
                .find(|k| *k != Kind::NeedMore);
            if let Some(kind) = decided {
                proptest::prop_assert_eq!(classify(&bytes), kind);
            }
            if bytes.len() >= DECIDING_BYTES {
                proptest::prop_assert_ne!(classify(&bytes), Kind::NeedMore);
            }
        }
    }
}
