//! The recorder leg in the endpoint, sans-IO, with the real relay: a customer's SRTP in,
//! a sealed WebM out, keyframe requests to the customer, nothing on the wire for the
//! recorder, and a reconnect that becomes a gap.

use std::net::SocketAddr;

use super::super::tests::{browser, connect, Browser, A, S};
use super::*;
use crate::net::new_router;
use crate::record::seal::open_file;
use crate::record::vp8::tests::{keyframe_bitstream, packetize};
use crate::relay::rtcp::{PictureLossIndication, SenderReport};
use crate::relay::rtp::RtpPacket;

const REC: LegId = 99;
const KEY: [u8; 32] = [3; 32];
const RID: &[u8] = b"rec-1";

/// The customer's m-lines: VP8 on PT 100 and Opus on PT 109, from SSRCs 1111 and 2222.
fn customer_lines() -> Vec<MediaLine> {
    recorder_lines()
        .into_iter()
        .map(|mut line| {
            let (pt, recv, send) = match line.kind {
                MediaKind::Video => (100, 1111, 5001),
                MediaKind::Audio => (109, 2222, 5002),
            };
            line.codecs[0].payload_type = pt;
            line.recv_ssrc = Some(recv);
            line.send_ssrc = send;
            line.receives = true;
            line.sends = false;
            line
        })
        .collect()
}

/// A customer on leg A and a recording routed both its kinds.
fn recording() -> (Endpoint, Browser) {
    let mut ep = Endpoint::new(new_router);
    let a = browser(&mut ep, "a", A, 5000, 10);
    join(&mut ep, &a, 1.0);
    let mut out = Vec::new();
    ep.start_recording(S, REC, &KEY, RID, 1.0, &mut out)
        .unwrap();
    assert!(out.is_empty());
    route(&mut ep);
    (ep, a)
}

fn join(ep: &mut Endpoint, a: &Browser, now: f64) {
    connect(ep, a, now);
    ep.add_leg(S, A, a.transport, &customer_lines(), true)
        .unwrap();
    let mut out = Vec::new();
    ep.switch(S, A, Switch::Connected(true), now, &mut out)
        .unwrap();
}

fn route(ep: &mut Endpoint) {
    for kind in [MediaKind::Video, MediaKind::Audio] {
        assert!(ep.add_route(S, A, REC, kind).unwrap());
    }
}

/// Sends the customer's media as SRTP, numbering per kind.
struct Media {
    seq: [u16; 2],
    picture_id: u16,
    loss: Option<Loss>,
}

/// Where a video packet is lost.
#[derive(Clone, Copy, PartialEq)]
enum Lost {
    /// On its way to the port: the customer resends it (on its SSRC: it has no RTX)
    /// `resend_after` seconds after the port's NACK reaches it, if ever.
    OnTheWay { resend_after: Option<f64> },
    /// In the port, after the relay took it (so its history holds it), before the recorder.
    BeforeTheRecorder,
}

/// One video packet lost, and the NACKs that reached the customer.
struct Loss {
    seq: u16,
    lost: Lost,
    held: Option<RtpPacket>,
    asked_at: Option<f64>,
    /// The sequence numbers the customer was asked for (its own numbering).
    nacked: Vec<u16>,
}

impl Media {
    fn new() -> Self {
        Self {
            seq: [100, 9000],
            picture_id: 1,
            loss: None,
        }
    }

    /// Media that loses video packet `seq`.
    fn losing(seq: u16, lost: Lost) -> Self {
        let loss = Loss {
            seq,
            lost,
            held: None,
            asked_at: None,
            nacked: Vec::new(),
        };
        Self {
            loss: Some(loss),
            ..Self::new()
        }
    }

    /// Sends `packet` at `t`, losing it if it is the one to lose, and resending that one
    /// when it is time; notes the NACKs that reach the customer.
    fn send(
        &mut self,
        ep: &mut Endpoint,
        a: &mut Browser,
        packet: &RtpPacket,
        t: f64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(loss) = self.loss.as_mut() else {
            return send_rtp(ep, a, packet, t, out);
        };
        let mut sent = Vec::new();
        if let (
            Lost::OnTheWay {
                resend_after: Some(after),
            },
            Some(asked),
        ) = (loss.lost, loss.asked_at)
        {
            if t >= asked + after {
                if let Some(held) = loss.held.take() {
                    send_rtp(ep, a, &held, t, &mut sent);
                }
            }
        }
        let lose = packet.ssrc == 1111 && packet.sequence_number == loss.seq;
        match (lose, loss.lost) {
            (false, _) => send_rtp(ep, a, packet, t, &mut sent),
            (true, Lost::OnTheWay { .. }) => loss.held = Some(packet.clone()),
            (true, Lost::BeforeTheRecorder) => {
                let s = ep.sessions.get_mut(&S).unwrap();
                s.router
                    .handle_rtp(A, &packet.to_bytes().unwrap(), t, &mut ep.transmits);
                ep.transmits.retain(|transmit| transmit.leg_id != REC);
                ep.send_transmits(S, t, &mut sent);
                ep.request_keyframes(t, &mut sent);
            }
        }
        for datagram in sent.iter().filter(|o| o.to == a.address) {
            let mut data = datagram.data.clone();
            a.rx.unprotect_rtcp(&mut data).unwrap();
            for packet in parse_rtcp(&data).unwrap() {
                if let RtcpPacket::GenericNack(nack) = packet {
                    assert_eq!(nack.media_ssrc, 1111);
                    loss.nacked.extend(nack.lost);
                    loss.asked_at.get_or_insert(t);
                }
            }
        }
        out.extend(sent);
    }

    /// One video frame at `t` seconds (key or inter), 3 packets; what went out.
    fn video(&mut self, ep: &mut Endpoint, a: &mut Browser, t: f64, key: bool) -> Vec<Outgoing> {
        let bitstream = if key {
            keyframe_bitstream(320, 240, 2500)
        } else {
            let mut inter = vec![0x31; 800];
            inter[1] = 0;
            inter
        };
        self.picture_id += 1;
        let payloads = packetize(&bitstream, self.picture_id, 3);
        let last = payloads.len() - 1;
        let mut out = Vec::new();
        for (i, payload) in payloads.into_iter().enumerate() {
            self.seq[0] = self.seq[0].wrapping_add(1);
            let packet = RtpPacket {
                payload_type: 100,
                sequence_number: self.seq[0],
                timestamp: (t * 90_000.0) as u32,
                ssrc: 1111,
                marker: i == last,
                payload,
                ..RtpPacket::default()
            };
            self.send(ep, a, &packet, t, &mut out);
        }
        out
    }

    fn audio(&mut self, ep: &mut Endpoint, a: &mut Browser, t: f64) {
        self.seq[1] = self.seq[1].wrapping_add(1);
        let packet = RtpPacket {
            payload_type: 109,
            sequence_number: self.seq[1],
            timestamp: (t * 48_000.0) as u32,
            ssrc: 2222,
            payload: vec![0xFC, 1, 2, 3, 4],
            ..RtpPacket::default()
        };
        self.send(ep, a, &packet, t, &mut Vec::new());
    }

    /// `seconds` of 30 fps video (a key frame first) and 50 Hz audio from `start`, in
    /// time order.
    fn run(&mut self, ep: &mut Endpoint, a: &mut Browser, start: f64, seconds: f64) {
        let frames = (seconds * 30.0).round() as u32;
        let packets = (seconds * 50.0).round() as u32;
        let (mut video, mut audio) = (0, 0);
        while video < frames || audio < packets {
            let tv = start + f64::from(video) / 30.0;
            let ta = start + f64::from(audio) / 50.0;
            if video < frames && (tv <= ta || audio == packets) {
                self.video(ep, a, tv, video == 0);
                video += 1;
            } else {
                self.audio(ep, a, ta);
                audio += 1;
            }
        }
    }
}

fn send_rtp(
    ep: &mut Endpoint,
    a: &mut Browser,
    packet: &RtpPacket,
    t: f64,
    out: &mut Vec<Outgoing>,
) {
    let mut data = packet.to_bytes().unwrap();
    a.tx.protect_rtp(&mut data).unwrap();
    ep.handle_datagram(a.address, &data, t, out);
}

/// The PLIs among datagrams to the customer.
fn plis(a: &mut Browser, out: &[Outgoing]) -> usize {
    out.iter()
        .filter(|o| o.to == a.address)
        .filter(|o| {
            let mut data = o.data.clone();
            a.rx.unprotect_rtcp(&mut data).is_ok()
                && parse_rtcp(&data).is_ok_and(|packets| {
                    packets.iter().any(|p| {
                        matches!(
                            p,
                            RtcpPacket::PictureLossIndication(PictureLossIndication {
                                media_ssrc: 1111,
                                ..
                            })
                        )
                    })
                })
        })
        .count()
}

fn finish(ep: &mut Endpoint, mut file: Vec<u8>) -> (Vec<u8>, RecorderStats) {
    let (tail, stats) = ep.stop_recording(S, REC).unwrap();
    file.extend(tail);
    let opened = open_file(&KEY, RID, &file).expect("a complete, authentic file");
    let webm = opened.read_from(&file, &(0..opened.len())).unwrap();
    (webm, stats)
}

#[test]
fn the_customers_media_becomes_a_sealed_webm_and_nothing_goes_on_the_wire() {
    let (mut ep, mut a) = recording();
    let mut media = Media::new();
    media.run(&mut ep, &mut a, 2.0, 2.0);
    let mut file = ep.take_recording(S, REC).unwrap();
    // A sender report of each kind, translated for the recorder, reaches its lip sync.
    for (ssrc, ts) in [(1111, 4 * 90_000), (2222, 4 * 48_000)] {
        let mut data = Vec::new();
        SenderReport {
            ssrc,
            ntp_timestamp: 1000 << 32,
            rtp_timestamp: ts,
            packet_count: 1,
            octet_count: 1,
            reports: Vec::new(),
        }
        .write_to(&mut data)
        .unwrap();
        a.tx.protect_rtcp(&mut data).unwrap();
        ep.handle_datagram(a.address, &data, 4.0, &mut Vec::new());
    }
    media.run(&mut ep, &mut a, 4.0, 1.0);
    file.extend(ep.take_recording(S, REC).unwrap());
    let (webm, stats) = finish(&mut ep, file);
    assert_eq!(&webm[..4], &[0x1A, 0x45, 0xDF, 0xA3], "an EBML file");
    assert_eq!(stats.video.frames, 90);
    assert_eq!(stats.audio.frames, 150);
    assert!((2950..=3100).contains(&stats.duration_ms), "{stats:?}");
    let port = ep.stats();
    let sent: u64 = port
        .transports
        .iter()
        .map(|(_, t)| t.counters.tx_packets)
        .sum();
    assert!(sent < 10, "only RTCP to the customer, no media: {sent}");
    assert!(port.port.drops.is_empty(), "{:?}", port.port.drops);
    // The leg is gone: a second stop or take finds no recording.
    assert_eq!(
        ep.take_recording(S, REC),
        Err(ControlError::NotRecording(S))
    );
    assert!(ep.stop_recording(S, REC).is_err());
}

#[test]
fn a_recorder_without_a_key_frame_asks_the_customer_for_one_at_a_limited_rate() {
    let (mut ep, mut a) = recording();
    let mut media = Media::new();
    let mut requests = 0;
    for i in 0..30 {
        let out = media.video(&mut ep, &mut a, 2.0 + f64::from(i) * 0.1, false);
        requests += plis(&mut a, &out);
    }
    // 3 s of inter frames: the relay's request for the new stream, then the recorder's
    // at most every half second.
    assert!((5..=7).contains(&requests), "{requests} PLIs");
    // The key frame satisfies it: what follows is at most a request the relay held
    // back (it never loses one).
    media.video(&mut ep, &mut a, 5.0, true);
    let mut after = 0;
    for i in 1..=20 {
        let out = media.video(&mut ep, &mut a, 5.0 + f64::from(i) * 0.1, false);
        after += plis(&mut a, &out);
    }
    assert!(after <= 1, "{after} PLIs after the key frame");
    let file = ep_take(&mut ep);
    let (_, stats) = finish(&mut ep, file);
    assert_eq!(stats.video.frames, 21);
    assert_eq!(stats.video.dropped_frames, 30);
}

fn ep_take(ep: &mut Endpoint) -> Vec<u8> {
    ep.take_recording(S, REC).unwrap()
}

#[test]
fn a_reconnect_is_a_gap_that_waits_for_a_key_frame() {
    let (mut ep, mut a) = recording();
    let mut media = Media::new();
    media.run(&mut ep, &mut a, 2.0, 1.0);
    // The customer comes back on a new transport: the relay's numbering for the recorder
    // goes on, but the picture is another encoder's.
    ep.remove_transport(a.transport);
    let mut b = browser(&mut ep, "a2", A, 5001, 30);
    b.address = SocketAddr::from(([192, 0, 2, 31], 5001));
    join(&mut ep, &b, 3.5);
    route(&mut ep);
    let mut media = Media::new();
    media.picture_id = 9000;
    media.video(&mut ep, &mut b, 3.5, false); // before its key frame: dropped
    media.run(&mut ep, &mut b, 3.6, 1.0);
    let file = ep_take(&mut ep);
    let (_, stats) = finish(&mut ep, file);
    assert_eq!(stats.video.stream_changes, 1);
    assert_eq!(stats.video.frames, 60);
    assert_eq!(stats.video.dropped_frames, 1);
    assert!((2550..=2700).contains(&stats.duration_ms), "{stats:?}");
}

/// A second of 30 fps video and 50 Hz audio that loses video packet 131 (the first of
/// the eleventh frame, an inter frame) as `lost` says: the recording's counters and the
/// sequence numbers the customer was asked for.
fn record_losing(lost: Lost) -> (RecorderStats, Vec<u16>) {
    let (mut ep, mut a) = recording();
    let mut media = Media::losing(131, lost);
    media.run(&mut ep, &mut a, 2.0, 1.0);
    let file = ep_take(&mut ep);
    let (_, stats) = finish(&mut ep, file);
    (stats, media.loss.unwrap().nacked)
}

#[test]
fn a_packet_the_relay_holds_but_the_recorder_missed_is_asked_for_and_fills_the_gap() {
    let (stats, nacked) = record_losing(Lost::BeforeTheRecorder);
    // As without loss: every frame, no gap; the relay answered from its history.
    assert_eq!(stats.video.frames, 30, "{stats:?}");
    assert_eq!(
        (stats.video.lost_packets, stats.video.dropped_frames),
        (0, 0)
    );
    assert!(nacked.is_empty(), "nothing to ask the customer: {nacked:?}");
}

#[test]
fn a_packet_lost_on_its_way_in_is_asked_of_the_customer_once_and_fills_the_gap_in_time() {
    // The customer resends 0.1 s after the NACK reaches it: within the wait.
    let (stats, nacked) = record_losing(Lost::OnTheWay {
        resend_after: Some(0.1),
    });
    assert_eq!(nacked, vec![131], "asked once, in the customer's numbering");
    assert_eq!(stats.video.frames, 30, "{stats:?}");
    assert_eq!(
        (stats.video.lost_packets, stats.video.dropped_frames),
        (0, 0)
    );
    // Too late (0.4 s, past the wait) or never: a gap, and the picture waits for a key
    // frame (the customer here sends none).
    for resend_after in [Some(0.4), None] {
        let (stats, nacked) = record_losing(Lost::OnTheWay { resend_after });
        assert_eq!(nacked, vec![131]);
        assert_eq!(stats.video.lost_packets, 1, "{stats:?}");
        assert_eq!(stats.video.frames, 10, "{stats:?}");
        assert_eq!(stats.video.late_packets, u64::from(resend_after.is_some()));
    }
}

#[test]
fn refusals() {
    let (mut ep, _a) = recording();
    let mut out = Vec::new();
    assert_eq!(
        ep.start_recording(S, REC, &KEY, RID, 2.0, &mut out),
        Err(ControlError::LegInUse(REC))
    );
    assert_eq!(
        ep.start_recording(S, A, &KEY, RID, 2.0, &mut out),
        Err(ControlError::LegInUse(A))
    );
    assert_eq!(
        ep.start_recording(S, 5, &KEY[..16], RID, 2.0, &mut out),
        Err(ControlError::Recording(SealError::BadKey))
    );
    assert_eq!(
        ep.take_recording(8, REC),
        Err(ControlError::NotRecording(8))
    );
    // Another recording of the session on another leg is its own.
    ep.start_recording(S, 5, &KEY, b"rec-2", 2.0, &mut out)
        .unwrap();
    assert!(ep.stop_recording(S, 5).is_ok());
    assert!(ep.take_recording(S, REC).is_ok());
}

#[test]
fn a_recording_left_uncollected_fails_alone_and_says_so() {
    let (mut ep, mut a) = recording();
    ep.set_recording_limit(S, REC, 10_000).unwrap();
    let _ = ep.take_events();
    let mut media = Media::new();
    media.run(&mut ep, &mut a, 2.0, 5.0); // a 64 KiB chunk sealed, never taken
    let events = ep.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::RecordingFailed { session: S, leg: REC, reason }]
                if reason == "the recording was not collected"
        ),
        "{events:?}"
    );
    assert_eq!(
        ep.take_recording(S, REC),
        Err(ControlError::NotRecording(S))
    );
    // The session goes on: its relay has no recorder leg left to feed.
    media.run(&mut ep, &mut a, 7.0, 0.5);
    let relay = ep.session_stats(S).router.unwrap();
    assert_eq!(relay.legs.len(), 1);
    assert!(ep.take_events().is_empty());
}
