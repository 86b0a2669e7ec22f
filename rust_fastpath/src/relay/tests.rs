//! The relay through its Rust API alone (the adapter's view), and the fixtures the
//! concern modules of `session` test their behaviour with. Behaviour in depth is tested
//! from Python on both relays (`tests/media/test_relay.py`) and differentially
//! (`tests/media/test_relay_equivalence.py`).

use proptest::prelude::*;

use super::rtcp::{parse_rtcp, RtcpPacket};
use super::rtp::{is_rtcp, parse_rtp, HeaderExtension, RtpPacket};
use super::*;

/// The legs of the fixtures (callers number their legs; see [`LegId`]).
pub(super) const A: LegId = 1;
pub(super) const B: LegId = 2;
pub(super) const C: LegId = 3;

/// A one-codec m-line that receives and sends, with the MID extension at id 4 and the
/// MID named after the kind.
pub(super) fn line(kind: MediaKind, pt: u8, recv: u32, send: u32) -> MediaLine {
    MediaLine {
        kind,
        mid: kind.as_str().to_owned(),
        codecs: vec![Codec {
            payload_type: pt,
            mime_type: if kind == MediaKind::Video {
                "video/vp8"
            } else {
                "audio/opus"
            }
            .to_owned(),
            clock_rate: if kind == MediaKind::Video {
                90_000
            } else {
                48_000
            },
            channels: None,
            format_key: vec![],
            rtx_apt: None,
        }],
        extensions: vec![(MID_URI.to_owned(), 4)],
        recv_ssrc: Some(recv),
        recv_rtx_ssrc: None,
        send_ssrc: send,
        send_rtx_ssrc: None,
        cname: Some("c".to_owned()),
        receives: true,
        sends: true,
    }
}

/// [`line`]'s video with RTX: payload type `pt + 1`, SSRCs `recv + 1` and `send + 1`.
pub(super) fn video_line_with_rtx(pt: u8, recv: u32, send: u32) -> MediaLine {
    let mut line = line(MediaKind::Video, pt, recv, send);
    line.codecs.push(Codec {
        payload_type: pt + 1,
        mime_type: "video/rtx".to_owned(),
        rtx_apt: Some(pt),
        ..line.codecs[0].clone()
    });
    line.recv_rtx_ssrc = Some(recv + 1);
    line.send_rtx_ssrc = Some(send + 1);
    line
}

/// Legs A and B with these m-lines, seeded, both up with open gates, and b
/// subscribed to a's video.
pub(super) fn session_of(a: MediaLine, b: MediaLine) -> Relay {
    let mut relay = Relay::new(Config {
        seed: Some(7),
        ..Config::default()
    })
    .unwrap();
    join(&mut relay, A, a);
    join(&mut relay, B, b);
    assert!(relay.add_route(A, B, MediaKind::Video).unwrap());
    relay
}

/// Adds a leg with this m-line, up and with an open gate.
pub(super) fn join(relay: &mut Relay, leg: LegId, line: MediaLine) {
    relay.add_leg(leg, &[line], true).unwrap();
    relay.switch(leg, Switch::Connected(true), 0.0).unwrap();
}

/// a sends video on SSRC 1111 (PT 96), b receives it on 6001 (PT 120); our SSRCs
/// towards a and b are 5001 and 6001.
pub(super) fn session() -> Relay {
    session_of(
        line(MediaKind::Video, 96, 1111, 5001),
        line(MediaKind::Video, 120, 2222, 6001),
    )
}

/// A VP8 packet of a's (PT 96) with the MID extension and payload `frame`.
pub(super) fn video_packet(ssrc: u32, seq: u16, timestamp: u32) -> Vec<u8> {
    RtpPacket {
        payload_type: 96,
        sequence_number: seq,
        timestamp,
        ssrc,
        extensions: vec![HeaderExtension {
            id: 4,
            value: b"video".to_vec(),
        }],
        payload: b"frame".to_vec(),
        ..RtpPacket::default()
    }
    .to_bytes()
    .unwrap()
}

pub(super) fn video(seq: u16) -> Vec<u8> {
    video_packet(1111, seq, 9000)
}

/// The RTP packets sent to `leg`, parsed.
pub(super) fn rtp_to(out: &[Transmit], leg: LegId) -> Vec<RtpPacket> {
    out.iter()
        .filter(|t| t.leg_id == leg && !is_rtcp(&t.data))
        .map(|t| parse_rtp(&t.data).unwrap())
        .collect()
}

/// The RTCP packets sent to `leg`, each compound flattened, parsed.
pub(super) fn rtcp_to<'a>(out: &'a [Transmit], leg: LegId) -> Vec<RtcpPacket<'a>> {
    out.iter()
        .filter(|t| t.leg_id == leg && is_rtcp(&t.data))
        .flat_map(|t| parse_rtcp(&t.data).unwrap())
        .collect()
}

/// One RTCP packet's wire form.
pub(super) fn rtcp(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut data = Vec::new();
    write(&mut data);
    data
}

#[test]
fn topology_errors() {
    let mut relay = session();
    assert_eq!(relay.add_leg(A, &[], false), Err(RelayError::LegExists(A)));
    assert_eq!(
        relay.add_route(A, A, MediaKind::Audio),
        Err(RelayError::SelfRoute)
    );
    assert!(matches!(
        relay.switch(99, Switch::Forwarding(true), 0.0),
        Err(RelayError::UnknownLeg(_))
    ));
    let twice = [
        line(MediaKind::Audio, 111, 1, 2),
        line(MediaKind::Audio, 111, 3, 4),
    ];
    assert!(matches!(
        relay.add_leg(C, &twice, false),
        Err(RelayError::InvalidMedia(_))
    ));
    assert!(!relay.has_leg(C));
    assert!(Relay::new(Config {
        history_size: 100,
        ..Config::default()
    })
    .is_err());
}

proptest! {
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_rtp(&data);
        let _ = parse_rtcp(&data);
    }

    #[test]
    fn any_bytes_on_any_leg_are_handled_without_panicking(
        inputs in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..80), 0.0f64..10.0),
            1..40,
        ),
    ) {
        let mut relay = session();
        for (rtcp, mut data, now) in inputs {
            if let Some(first) = data.first_mut() {
                *first = 0x80 | (*first & 0x3F);
            }
            if rtcp {
                relay.handle_rtcp(B, &data, now);
            } else {
                relay.handle_rtp(A, &data, now);
            }
            relay.handle_timeout(now);
        }
        let _ = relay.stats();
    }
}
