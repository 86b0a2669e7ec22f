//! One media-port datagram end to end without the socket: demultiplex, SRTP unprotect,
//! route (the product's router, `net::new_router`: rewrite for each receiver), SRTP
//! protect per receiver.
//! `cargo bench --bench endpoint`.

mod common;

use std::hint::black_box;
use std::net::SocketAddr;

use _fastpath::net::endpoint::{Endpoint, Outgoing};
use _fastpath::net::new_router;
use _fastpath::net::router::{Codec, MediaKind, MediaLine, Switch};
use _fastpath::net::stun::{MessageBuilder, ATTR_USERNAME, ATTR_USE_CANDIDATE, BINDING_REQUEST};
use _fastpath::srtp::{Profile, SrtpContext};
use common::{ns_per_call, report, rtp_packet};

const PROFILE: &str = "AEAD_AES_128_GCM";
const SESSION: u64 = 1;

fn line(send_ssrc: u32, recv_ssrc: u32) -> MediaLine {
    MediaLine {
        kind: MediaKind::Video,
        mid: "0".into(),
        codecs: vec![Codec {
            payload_type: 96,
            mime_type: "video/vp8".into(),
            clock_rate: 90000,
            channels: None,
            format_key: vec![],
            rtx_apt: None,
        }],
        extensions: vec![],
        recv_ssrc: Some(recv_ssrc),
        recv_rtx_ssrc: None,
        send_ssrc,
        send_rtx_ssrc: None,
        cname: None,
        receives: true,
        sends: true,
    }
}

fn main() {
    for receivers in [1u8, 4] {
        let mut ep = Endpoint::new(new_router);
        let mut out: Vec<Outgoing> = Vec::new();
        let key = vec![7u8; 16];
        let salt = vec![9u8; 12];
        let mut addresses = Vec::new();
        for i in 0..=receivers {
            let leg = u64::from(i);
            let ufrag = format!("u{i}");
            let pwd = "password-password-0123";
            let t = ep
                .add_transport(SESSION, leg, &ufrag, pwd)
                .expect("transport");
            let from = SocketAddr::from(([10, 0, 0, i + 1], 5000));
            let mut check = MessageBuilder::new(BINDING_REQUEST, [i; 12]);
            check
                .attribute(ATTR_USERNAME, format!("{ufrag}:x").as_bytes())
                .attribute(ATTR_USE_CANDIDATE, &[])
                .message_integrity(pwd.as_bytes());
            ep.handle_datagram(from, &check.fingerprint(), 0.0, &mut out);
            ep.set_srtp(t, PROFILE, &key, &salt, &key, &salt, 0.0, &mut out)
                .expect("keys");
            let ssrc = if i == 0 {
                0x1234_5678
            } else {
                1000 + u32::from(i)
            };
            ep.add_leg(SESSION, leg, t, &[line(2000 + u32::from(i), ssrc)], true)
                .expect("leg");
            ep.switch(SESSION, leg, Switch::Connected(true), 0.0, &mut out)
                .expect("connected");
            if i > 0 {
                ep.add_route(SESSION, 0, leg, MediaKind::Video)
                    .expect("route");
            }
            addresses.push(from);
        }
        let profile = Profile::from_name(PROFILE).expect("profile");
        let mut sender = SrtpContext::new(profile, &key, &salt).expect("keys");
        let packets: Vec<Vec<u8>> = (0..=u16::MAX)
            .map(|s| {
                let mut p = rtp_packet(s);
                sender.protect_rtp(&mut p).expect("protect");
                p
            })
            .collect();
        let mut next = 0usize;
        let mut now = 1.0;
        let ns = ns_per_call(|| {
            out.clear();
            now += 0.0001;
            ep.handle_datagram(addresses[0], &packets[next % packets.len()], now, &mut out);
            next += 1;
            black_box(&out);
        });
        assert!(
            next < packets.len(),
            "the replay window would refuse repeats"
        );
        report(
            "endpoint",
            &format!("{receivers}_receivers"),
            "datagram_in",
            ns,
        );
    }
}
