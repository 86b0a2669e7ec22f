//! The relay's forwarding logic alone, in Rust: the scenario of `benchmarks/test_relay.py`
//! (one customer's video fanned out to three agents; no sockets, no SRTP, no Python), so
//! the report can set it against the Python reference relay measured there.

#[allow(dead_code)] // this bench builds its own packets
mod common;

use std::hint::black_box;

use _fastpath::relay::rtp::{HeaderExtension, RtpPacket};
use _fastpath::relay::{
    Codec, Config, MediaKind, MediaLine, Relay, Switch, ABS_SEND_TIME_URI, MID_URI,
};
use common::{ns_per_call, report};

fn video_line(mid: &str, base: u32, pt: u8) -> MediaLine {
    let codec = |payload_type, mime_type: &str, rtx_apt| Codec {
        payload_type,
        mime_type: mime_type.into(),
        clock_rate: 90000,
        channels: None,
        format_key: vec![],
        rtx_apt,
    };
    MediaLine {
        kind: MediaKind::Video,
        mid: mid.into(),
        codecs: vec![
            codec(pt, "video/vp8", None),
            codec(pt + 1, "video/rtx", Some(pt)),
        ],
        extensions: vec![(MID_URI.into(), 4), (ABS_SEND_TIME_URI.into(), 2)],
        recv_ssrc: Some(base),
        recv_rtx_ssrc: None,
        send_ssrc: base + 1,
        send_rtx_ssrc: Some(base + 2),
        cname: None,
        receives: true,
        sends: true,
    }
}

fn main() {
    let mut relay = Relay::new(Config::default()).expect("default config");
    let customer = 0;
    relay
        .add_leg(customer, &[video_line("v", 1000, 96)], true)
        .expect("leg");
    let _ = relay.switch(customer, Switch::Connected(true), 0.0);
    for i in 0..3u32 {
        let agent = u64::from(i) + 1;
        relay
            .add_leg(
                agent,
                &[video_line(&format!("a{i}"), 2000 + 10 * i, 120)],
                true,
            )
            .expect("leg");
        let _ = relay.switch(agent, Switch::Connected(true), 0.0);
        relay
            .add_route(customer, agent, MediaKind::Video)
            .expect("route");
    }
    let mut seq = 0u16;
    let mut now = 1.0;
    let ns = ns_per_call(|| {
        seq = seq.wrapping_add(1);
        now += 0.001;
        let packet = RtpPacket {
            payload_type: 96,
            sequence_number: seq,
            timestamp: u32::from(seq) * 3000,
            ssrc: 1000,
            extensions: vec![
                HeaderExtension {
                    id: 4,
                    value: b"v".to_vec(),
                },
                HeaderExtension {
                    id: 2,
                    value: vec![1, 2, 3],
                },
            ],
            payload: vec![0; 1100],
            ..RtpPacket::default()
        }
        .to_bytes()
        .expect("packet");
        black_box(relay.handle_rtp(customer, &packet, now));
    });
    report("relay_core", "rust_native", "fan_out_3", ns);
}
