//! The relay through its Rust API alone (the adapter's view). Behaviour in depth is
//! tested from Python on both relays (`tests/media/test_relay.py`) and differentially
//! (`tests/media/test_relay_equivalence.py`).

use proptest::prelude::*;

use super::rtcp::{parse_rtcp, PictureLossIndication, RtcpPacket};
use super::rtp::{parse_rtp, HeaderExtension, RtpPacket};
use super::*;

fn line(kind: MediaKind, pt: u8, recv: u32, send: u32) -> MediaLine {
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

fn session() -> Relay {
    let mut relay = Relay::new(Config {
        seed: Some(7),
        ..Config::default()
    })
    .unwrap();
    relay
        .add_leg("a", &[line(MediaKind::Video, 96, 1111, 5001)], true)
        .unwrap();
    relay
        .add_leg("b", &[line(MediaKind::Video, 120, 2222, 6001)], true)
        .unwrap();
    for leg in ["a", "b"] {
        relay.set_connected(leg, true, 0.0).unwrap();
    }
    assert!(relay.add_route("a", "b", MediaKind::Video).unwrap());
    relay
}

fn video(seq: u16) -> Vec<u8> {
    RtpPacket {
        payload_type: 96,
        sequence_number: seq,
        timestamp: 9000,
        ssrc: 1111,
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

#[test]
fn forwards_rewritten_and_asks_the_source_for_a_keyframe() {
    let mut relay = session();
    let out = relay.handle_rtp("a", &video(10), 1.0);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].leg_id, "a"); // PLI first: the new stream must start at a keyframe
    let Ok(rtcp) = parse_rtcp(&out[0].data) else {
        panic!("not RTCP")
    };
    assert_eq!(
        rtcp,
        [RtcpPacket::PictureLossIndication(PictureLossIndication {
            sender_ssrc: 5001,
            media_ssrc: 1111
        })]
    );
    assert_eq!(out[1].leg_id, "b");
    let forwarded = parse_rtp(&out[1].data).unwrap();
    assert_eq!((forwarded.ssrc, forwarded.payload_type), (6001, 120));
    assert_eq!(forwarded.payload, b"frame");
    assert!(forwarded.sequence_number < 0x8000);
    let stats = relay.stats();
    assert_eq!(stats.legs[1].sinks[0].1.packets, 1);
    assert_eq!(stats.legs[0].sources[0].1.sinks, ["b"]);
}

#[test]
fn a_closed_gate_is_a_counted_drop() {
    let mut relay = session();
    relay.set_forwarding("b", false, 0.5).unwrap();
    assert!(relay.handle_rtp("a", &video(1), 1.0).is_empty());
    assert_eq!(relay.stats().drops.get(DropReason::Gated), 1);
}

#[test]
fn topology_errors() {
    let mut relay = session();
    assert_eq!(
        relay.add_leg("a", &[], false),
        Err(RelayError::LegExists("a".into()))
    );
    assert_eq!(
        relay.add_route("a", "a", MediaKind::Audio),
        Err(RelayError::SelfRoute)
    );
    assert!(matches!(
        relay.set_forwarding("ghost", true, 0.0),
        Err(RelayError::UnknownLeg(_))
    ));
    let twice = [
        line(MediaKind::Audio, 111, 1, 2),
        line(MediaKind::Audio, 111, 3, 4),
    ];
    assert!(matches!(
        relay.add_leg("c", &twice, false),
        Err(RelayError::InvalidMedia(_))
    ));
    assert!(!relay.has_leg("c"));
    assert!(Relay::new(Config {
        history_size: 100,
        ..Config::default()
    })
    .is_err());
}

proptest! {
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
                relay.handle_rtcp("b", &data, now);
            } else {
                relay.handle_rtp("a", &data, now);
            }
            relay.handle_timeout(now);
        }
        let _ = relay.stats();
    }
}
