//! The relay as a whole never panics, whatever its legs send: the input is a script of
//! (leg, RTP or RTCP, time step, packet) records against a two-leg session.
#![no_main]

use _fastpath::relay::{Codec, Config, MediaKind, MediaLine, Relay, Switch, MID_URI};
use libfuzzer_sys::fuzz_target;

fn line(kind: MediaKind, base: u32) -> MediaLine {
    let (mime, rate) = match kind {
        MediaKind::Audio => ("audio/opus", 48_000),
        MediaKind::Video => ("video/vp8", 90_000),
    };
    let pt = if kind == MediaKind::Audio { 111 } else { 96 };
    MediaLine {
        kind,
        mid: kind.as_str().to_owned(),
        codecs: vec![
            Codec {
                payload_type: pt,
                mime_type: mime.to_owned(),
                clock_rate: rate,
                channels: None,
                format_key: vec![],
                rtx_apt: None,
            },
            Codec {
                payload_type: pt + 1,
                mime_type: format!("{}/rtx", kind.as_str()),
                clock_rate: rate,
                channels: None,
                format_key: vec![],
                rtx_apt: Some(pt),
            },
        ],
        extensions: vec![(MID_URI.to_owned(), 4)],
        recv_ssrc: if base == 1000 { Some(base) } else { None }, // one leg learns SSRCs
        recv_rtx_ssrc: Some(base + 1),
        send_ssrc: base + 2,
        send_rtx_ssrc: Some(base + 3),
        cname: Some("fuzz".to_owned()),
        receives: true,
        sends: true,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut relay = Relay::new(Config {
        seed: Some(1),
        history_size: 16,
        ..Config::default()
    })
    .expect("valid config");
    let (a, b) = (1, 2);
    for (leg, base) in [(a, 1000), (b, 2000)] {
        let lines = [
            line(MediaKind::Audio, base),
            line(MediaKind::Video, base + 10),
        ];
        relay.add_leg(leg, &lines, true).expect("valid leg");
        let _ = relay.switch(leg, Switch::Connected(true), 0.0);
    }
    for kind in MediaKind::ALL {
        let _ = relay.add_route(a, b, kind);
        let _ = relay.add_route(b, a, kind);
    }
    let mut now = 0.0;
    let mut rest = data;
    while let [head, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (packet, after) = tail.split_at(len);
        rest = after;
        now += f64::from(head >> 3) / 64.0;
        let leg = if head & 1 == 0 { a } else { b };
        match (head >> 1) & 3 {
            0 => drop(relay.handle_rtcp(leg, packet, now)),
            1 => drop(relay.switch(leg, Switch::Forwarding(packet.len() % 2 == 0), now)),
            _ => drop(relay.handle_rtp(leg, packet, now)),
        }
        drop(relay.handle_timeout(now));
    }
    let _ = relay.stats();
});
