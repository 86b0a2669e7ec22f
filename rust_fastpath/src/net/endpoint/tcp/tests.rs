//! The endpoint's ICE-TCP side without sockets: connections are numbers, their bytes are
//! fed in chunks, and what their queues hold is written to a `Vec`.

use std::net::SocketAddr;

use super::super::tests::{
    browser, check, connect, drops, mirror, rtp, transport, Browser, A, B, S,
};
use super::super::*;
use crate::net::framing::{self, Decoder};
use crate::net::path::ConnId;
use crate::net::router::MediaLine;
use crate::net::stun::{Message, BINDING_SUCCESS};
use crate::net::tcp_link::TcpConfig;

fn framed(payloads: &[&[u8]]) -> Vec<u8> {
    let mut stream = Vec::new();
    for p in payloads {
        framing::encode(p, &mut stream).unwrap();
    }
    stream
}

/// Everything the endpoint queued for `conn` so far, as frames.
fn written(ep: &mut Endpoint, conn: ConnId, now: f64) -> Vec<Vec<u8>> {
    let mut wire = Vec::new();
    assert!(
        !ep.tcp_flush(conn, &mut wire, now),
        "a Vec takes everything"
    );
    let mut frames = Vec::new();
    Decoder::default()
        .feed(&wire, |f| frames.push(f.to_vec()))
        .unwrap();
    frames
}

const CONN: ConnId = 1;

/// `a` on UDP, `b` checking in over the TCP connection [`CONN`]; both legs of [`S`],
/// `b`'s with the lines `b_media`.
fn setup(config: TcpConfig, b_media: &[MediaLine]) -> (Endpoint, Browser, Browser) {
    let mut ep = Endpoint::new(mirror);
    ep.set_tcp_config(config);
    let a = browser(&mut ep, "a", A, 5000, 10);
    let b = browser(&mut ep, "b", B, 6000, 50);
    connect(&mut ep, &a, 1.0);
    assert!(ep.tcp_open(CONN, b.address, 1.0));
    let request = framed(&[&check(&format!("{}:remote", b.ufrag), &b.pwd, true)]);
    let mut out = Vec::new();
    // In two pieces, as a socket may return it.
    ep.tcp_data(CONN, &request[..7], 1.1, &mut out);
    ep.tcp_data(CONN, &request[7..], 1.1, &mut out);
    assert!(out.is_empty(), "the answer goes back over TCP");
    let answers = written(&mut ep, CONN, 1.1);
    assert_eq!(answers.len(), 1);
    let response = Message::parse(&answers[0]).unwrap();
    assert_eq!(response.message_type, BINDING_SUCCESS);
    assert_eq!(response.mapped_address(), Some(b.address));
    ep.add_leg(S, A, a.transport, &[], true).unwrap();
    ep.add_leg(S, B, b.transport, b_media, true).unwrap();
    (ep, a, b)
}

#[test]
fn a_tcp_connection_carries_its_transport_both_ways() {
    let (mut ep, mut a, mut b) = setup(TcpConfig::default(), &[]);
    assert_eq!(
        ep.take_events(),
        vec![
            Event::Selected(a.transport, a.address),
            Event::Selected(b.transport, b.address),
        ]
    );
    let stats = ep.stats();
    assert_eq!(transport(&stats, b.transport).protocol, Some("tcp"));
    assert_eq!(transport(&stats, a.transport).protocol, Some("udp"));
    assert_eq!((stats.tcp.connections, stats.tcp.accepted), (1, 1));

    // DTLS both ways: to Python as events, from Python down the connection.
    let mut out = Vec::new();
    let hello = [22, 0xfe, 0xfd, 1, 2, 3];
    ep.tcp_data(CONN, &framed(&[&hello]), 1.5, &mut out);
    assert_eq!(
        ep.take_events(),
        vec![Event::Dtls(b.transport, hello.to_vec())]
    );
    ep.send(b.transport, vec![22, 9], 1.6, &mut out).unwrap();
    assert!(out.is_empty());
    assert!(ep.has_tcp_work());
    assert_eq!(ep.take_tcp_work(), (vec![CONN], vec![]));
    assert_eq!(written(&mut ep, CONN, 1.6), [vec![22, 9]]);

    // SRTP from the UDP leg reaches the TCP leg, framed ...
    let plain = rtp(1, b"frame bytes");
    let mut srtp = plain.clone();
    a.tx.protect_rtp(&mut srtp).unwrap();
    ep.handle_datagram(a.address, &srtp, 2.0, &mut out);
    assert!(out.is_empty());
    let frames = written(&mut ep, CONN, 2.0);
    assert_eq!(frames.len(), 1);
    let mut got = frames[0].clone();
    b.rx.unprotect_rtp(&mut got).unwrap();
    assert_eq!(got, plain);
    // ... and what the TCP leg sends reaches the UDP leg, whatever the chunking.
    let mut first = rtp(2, b"from b");
    let mut second = rtp(3, b"from b again");
    b.tx.protect_rtp(&mut first).unwrap();
    b.tx.protect_rtp(&mut second).unwrap();
    let stream = framed(&[&first, &second]);
    for byte in stream.chunks(1) {
        ep.handle_timeout(2.1, &mut out);
        ep.tcp_data(CONN, byte, 2.1, &mut out);
    }
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o.to == a.address));
    assert!(ep.take_events().is_empty(), "no media reaches Python");

    // The connection closes: the transport has no way out until it checks in again.
    ep.tcp_closed(CONN);
    ep.send(b.transport, vec![22], 3.0, &mut out).unwrap();
    let b_drops = drops(&transport(&ep.stats(), b.transport).counters);
    assert_eq!(b_drops, [("tx_path_closed", 1)]);
    assert_eq!(ep.stats().tcp.connections, 0);
}

#[test]
fn garbage_failed_checks_and_silence_close_connections() {
    let mut ep = Endpoint::new(mirror);
    ep.set_tcp_config(TcpConfig {
        ice_timeout: 3.0,
        ..TcpConfig::default()
    });
    let b = browser(&mut ep, "b", B, 6000, 50);
    let remote: SocketAddr = "203.0.113.9:40000".parse().unwrap();
    for conn in 1..=5 {
        assert!(ep.tcp_open(conn, remote, 0.0));
    }
    let mut out = Vec::new();
    let username = format!("{}:remote", b.ufrag);
    ep.tcp_data(1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0.1, &mut out);
    ep.tcp_data(2, &framed(&[&[22, 0xfe, 0xfd, 0]]), 0.1, &mut out); // DTLS before ICE
    ep.tcp_data(
        3,
        &framed(&[&check(&username, "wrong password", true)]),
        0.1,
        &mut out,
    );
    ep.tcp_data(4, &framed(&[b"\x00\x01 not stun"]), 0.1, &mut out);
    assert!(out.is_empty());
    let (_, closing) = ep.take_tcp_work();
    assert_eq!(closing, [1, 2, 3, 4]);
    for conn in closing {
        ep.tcp_closed(conn);
    }
    // The fifth says nothing: closed when ICE's time is up.
    assert_eq!(ep.next_timeout(), Some(3.0));
    ep.handle_timeout(3.0, &mut out);
    assert_eq!(ep.take_tcp_work(), (vec![], vec![5]));
    let mut closed: Vec<_> = ep.stats().tcp.closed.into_iter().collect();
    closed.sort_unstable();
    assert_eq!(
        closed,
        [
            ("tcp_garbage", 2),
            ("tcp_ice_failed", 2),
            ("tcp_ice_timeout", 1)
        ]
    );
    assert!(ep
        .take_events()
        .iter()
        .all(|e| matches!(e, Event::Anomaly { .. })));
    assert_eq!(transport(&ep.stats(), b.transport).nominated, None);
}

fn line(kind: MediaKind, send_ssrc: u32) -> MediaLine {
    MediaLine {
        kind,
        mid: "0".into(),
        codecs: vec![],
        extensions: vec![],
        recv_ssrc: None,
        recv_rtx_ssrc: None,
        send_ssrc,
        send_rtx_ssrc: None,
        cname: None,
        receives: false,
        sends: true,
    }
}

/// An RTP packet on `ssrc` (the mirror router forwards it unchanged).
fn rtp_on(ssrc: u32, seq: u16, len: usize) -> Vec<u8> {
    let mut p = rtp(seq, &vec![0x55; len]);
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p
}

#[test]
fn a_full_tcp_queue_drops_video_first_and_asks_the_source_for_a_keyframe() {
    const VIDEO: u32 = 0xb0;
    const AUDIO: u32 = 0xb1;
    let config = TcpConfig {
        queue_bytes: 8192,
        ..TcpConfig::default()
    };
    let media = [line(MediaKind::Video, VIDEO), line(MediaKind::Audio, AUDIO)];
    let (mut ep, mut a, mut b) = setup(config, &media);
    let mut out = Vec::new();
    let mut send = |ep: &mut Endpoint, packet: Vec<u8>, now: f64, out: &mut Vec<Outgoing>| {
        let mut srtp = packet;
        a.tx.protect_rtp(&mut srtp).unwrap();
        ep.handle_datagram(a.address, &srtp, now, out);
    };
    // The TCP leg reads nothing: 20 video packets of ~1 kB overflow its 8 kB queue.
    for seq in 0..20 {
        send(&mut ep, rtp_on(VIDEO, seq, 1000), 2.0, &mut out);
    }
    // Its source (the UDP leg) got one keyframe request, a PLI for the TCP leg's video.
    assert_eq!(out.len(), 1, "one keyframe request");
    let mut pli = out[0].data.clone();
    assert_eq!(out[0].to, a.address);
    a.rx.unprotect_rtcp(&mut pli).unwrap();
    assert_eq!(&pli[..2], &[0x81, 206]);
    assert_eq!(&pli[8..12], &VIDEO.to_be_bytes());
    // Audio still gets through: it evicts the queued video.
    out.clear();
    send(&mut ep, rtp_on(AUDIO, 100, 1000), 2.1, &mut out);
    send(&mut ep, rtp_on(VIDEO, 21, 1000), 2.1, &mut out);
    let stats = transport(&ep.stats(), b.transport).counters.clone();
    assert_eq!(stats.drops.get("tcp_audio_dropped"), None);
    assert!(stats.drops["tcp_video_dropped"] >= 12);
    let frames = written(&mut ep, CONN, 2.2);
    let ssrcs: Vec<u32> = frames
        .iter()
        .map(|f| {
            let mut p = f.clone();
            b.rx.unprotect_rtp(&mut p).unwrap();
            u32::from_be_bytes([p[8], p[9], p[10], p[11]])
        })
        .collect();
    assert_eq!(ssrcs, [AUDIO], "the audio, and no video after the drop");
    // Drained: video flows again.
    send(&mut ep, rtp_on(VIDEO, 22, 1000), 2.3, &mut out);
    assert_eq!(written(&mut ep, CONN, 2.3).len(), 1);
}
