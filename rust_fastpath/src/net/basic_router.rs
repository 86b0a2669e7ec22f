//! A small SFU router behind [`PacketRouter`] until the Rust port of the reference relay
//! (`relay::Relay`) lands: per sink it rewrites SSRC, payload type (by codec identity),
//! sequence number and timestamp (continuous across source changes), header extension
//! ids (by URI, MID value replaced, unnegotiated ones dropped); it forwards PLI/FIR as a
//! rate-limited PLI to the source, asks for a keyframe when a sink connects or opens
//! its gate, and translates sender reports. Not implemented (the real relay has them):
//! NACK answering and RTX, speaker selection, RR/REMB towards publishers.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::router::{LegId, MediaKind, MediaLine, PacketRouter, Transmit};

const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const KEYFRAME_REQUEST_INTERVAL: f64 = 0.5;
/// A sink switches to another source only after its current one is silent this long.
const SOURCE_IDLE_SWITCH: f64 = 1.0;

struct Leg {
    lines: Vec<MediaLine>,
    forwarding: bool,
    connected: bool,
    /// Learned SSRCs (from the MID extension) -> kind.
    learned: HashMap<u32, MediaKind>,
    drops: HashMap<&'static str, u64>,
}

impl Leg {
    fn line(&self, kind: MediaKind) -> Option<&MediaLine> {
        self.lines.iter().find(|l| l.kind == kind)
    }

    fn drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_default() += 1;
    }

    /// The SSRC we send RTCP feedback from on this leg.
    fn feedback_ssrc(&self, kind: MediaKind) -> u32 {
        self.line(kind)
            .filter(|l| l.sends)
            .or_else(|| self.lines.iter().find(|l| l.sends))
            .map_or(1, |l| l.send_ssrc)
    }
}

/// What a sink (one leg, one kind) currently forwards.
#[derive(Default)]
struct Sink {
    source: Option<(LegId, u32)>,
    seq_offset: u16,
    ts_offset: u32,
    started: bool,
    last_seq: u16,
    last_ts: u32,
    last_at: f64,
    clock_rate: u32,
    packets: u64,
    bytes: u64,
}

#[derive(Default)]
pub struct BasicRouter {
    legs: HashMap<LegId, Leg>,
    routes: HashSet<(LegId, LegId, MediaKind)>,
    sinks: HashMap<(LegId, MediaKind), Sink>,
    /// Last packet time per (source leg, SSRC).
    source_seen: HashMap<(LegId, u32), f64>,
    last_keyframe_request: HashMap<(LegId, MediaKind), f64>,
    seed: u32,
}

/// The parts of an RTP packet we rewrite.
struct Rtp<'a> {
    marker_pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    first: u8,
    csrcs: &'a [u8],
    /// (id, data) of each header extension element.
    extensions: Vec<(u8, &'a [u8])>,
    body: &'a [u8],
}

fn parse_rtp(p: &[u8]) -> Option<Rtp<'_>> {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return None;
    }
    let cc = usize::from(p[0] & 0x0f);
    let csrc_end = 12 + 4 * cc;
    let csrcs = p.get(12..csrc_end)?;
    let mut at = csrc_end;
    let mut extensions = Vec::new();
    if p[0] & 0x10 != 0 {
        let head = p.get(at..at + 4)?;
        let profile = u16::from_be_bytes([head[0], head[1]]);
        let len = 4 * usize::from(u16::from_be_bytes([head[2], head[3]]));
        let data = p.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        let mut i = 0;
        if profile == 0xBEDE {
            while i < data.len() {
                let id = data[i] >> 4;
                if id == 0 {
                    i += 1; // padding
                    continue;
                }
                if id == 15 {
                    break;
                }
                let n = usize::from(data[i] & 0x0f) + 1;
                extensions.push((id, data.get(i + 1..i + 1 + n)?));
                i += 1 + n;
            }
        } else if profile & 0xFFF0 == 0x1000 {
            while i < data.len() {
                let id = data[i];
                if id == 0 {
                    i += 1;
                    continue;
                }
                let n = usize::from(*data.get(i + 1)?);
                extensions.push((id, data.get(i + 2..i + 2 + n)?));
                i += 2 + n;
            }
        }
    }
    Some(Rtp {
        first: p[0],
        marker_pt: p[1],
        seq: u16::from_be_bytes([p[2], p[3]]),
        ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        csrcs,
        extensions,
        body: p.get(at..)?,
    })
}

fn write_extensions(out: &mut Vec<u8>, elements: &[(u8, &[u8])]) {
    let one_byte = elements
        .iter()
        .all(|(id, d)| (1..=14).contains(id) && (1..=16).contains(&d.len()));
    let start = out.len();
    if one_byte {
        out.extend_from_slice(&[0xBE, 0xDE, 0, 0]);
        for (id, data) in elements {
            out.push((id << 4) | (data.len() as u8 - 1));
            out.extend_from_slice(data);
        }
    } else {
        out.extend_from_slice(&[0x10, 0x00, 0, 0]);
        for (id, data) in elements {
            out.push(*id);
            out.push(u8::try_from(data.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(&data[..data.len().min(255)]);
        }
    }
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    let words = u16::try_from((out.len() - start - 4) / 4).unwrap_or(u16::MAX);
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn pli(sender: u32, media: u32) -> Vec<u8> {
    let mut p = vec![0x81, 206, 0, 2];
    p.extend_from_slice(&sender.to_be_bytes());
    p.extend_from_slice(&media.to_be_bytes());
    p
}

impl BasicRouter {
    #[must_use]
    pub fn new() -> Self {
        let mut seed = [0u8; 4];
        let _ = aws_lc_rs::rand::fill(&mut seed);
        Self {
            seed: u32::from_be_bytes(seed) | 1, // xorshift must not start at zero
            ..Self::default()
        }
    }

    fn source_kind(&mut self, leg_id: &str, rtp: &Rtp<'_>) -> Option<MediaKind> {
        let leg = self.legs.get_mut(leg_id)?;
        for line in &leg.lines {
            if line.receives && line.recv_ssrc == Some(rtp.ssrc) {
                return Some(line.kind);
            }
        }
        if let Some(kind) = leg.learned.get(&rtp.ssrc) {
            return Some(*kind);
        }
        // Unsignalled SSRC: learn it from the MID extension (the offerer's MIDs).
        let kind = rtp.extensions.iter().find_map(|(id, data)| {
            leg.lines.iter().find(|l| {
                l.receives
                    && l.extension_id(MID_URI) == Some(*id)
                    && l.mid.as_bytes() == *data
                    && l.recv_rtx_ssrc != Some(rtp.ssrc)
            })
        })?;
        let kind = kind.kind;
        if leg.learned.len() < 16 {
            leg.learned.insert(rtp.ssrc, kind);
        }
        Some(kind)
    }

    fn keyframe_request(
        &mut self,
        source: &str,
        kind: MediaKind,
        media_ssrc: Option<u32>,
        now: f64,
    ) -> Option<Transmit> {
        if kind != MediaKind::Video {
            return None;
        }
        let key = (source.to_owned(), kind);
        if let Some(last) = self.last_keyframe_request.get(&key) {
            if now - last < KEYFRAME_REQUEST_INTERVAL {
                return None;
            }
        }
        let leg = self.legs.get(source)?;
        if !leg.connected {
            return None;
        }
        let media = media_ssrc
            .or_else(|| leg.line(kind).and_then(|l| l.recv_ssrc))
            .or_else(|| {
                leg.learned
                    .iter()
                    .find(|(_, k)| **k == kind)
                    .map(|(s, _)| *s)
            })?;
        self.last_keyframe_request.insert(key, now);
        Some(Transmit {
            leg_id: source.to_owned(),
            data: pli(leg.feedback_ssrc(kind), media),
        })
    }

    /// Keyframe requests to every source feeding `sink`'s video.
    fn request_keyframes_for(&mut self, sink: &str, now: f64) -> Vec<Transmit> {
        let sources: Vec<LegId> = self
            .routes
            .iter()
            .filter(|(_, s, k)| s == sink && *k == MediaKind::Video)
            .map(|(src, _, _)| src.clone())
            .collect();
        sources
            .iter()
            .filter_map(|src| self.keyframe_request(src, MediaKind::Video, None, now))
            .collect()
    }

    /// The packet for `sink_id` with seq/timestamp still to fill in, or why not.
    fn prepare(
        &self,
        source: &str,
        sink_id: &str,
        kind: MediaKind,
        rtp: &Rtp<'_>,
    ) -> Result<(Vec<u8>, u32), &'static str> {
        // Lines are borrowed, not cloned: this runs for every packet and receiver.
        let src_line = self
            .legs
            .get(source)
            .and_then(|l| l.line(kind))
            .ok_or("no_source")?;
        let codec = src_line
            .codec(rtp.marker_pt & 0x7f)
            .ok_or("codec_mismatch")?;
        let sink_leg = self.legs.get(sink_id).ok_or("no_sink")?;
        if !sink_leg.connected {
            return Err("not_connected");
        }
        if !sink_leg.forwarding {
            return Err("gated");
        }
        let sink_line = sink_leg.line(kind).filter(|l| l.sends).ok_or("no_sink")?;
        let pt = sink_line
            .codecs
            .iter()
            .find(|c| !c.is_rtx() && c.same_format(codec))
            .map(|c| c.payload_type)
            .ok_or("codec_mismatch")?;
        let mut extensions: Vec<(u8, &[u8])> = Vec::with_capacity(rtp.extensions.len() + 1);
        for (id, data) in &rtp.extensions {
            match src_line.extension_uri(*id) {
                Some(MID_URI) | None => {}
                Some(uri) => {
                    if let Some(sink_ext) = sink_line.extension_id(uri) {
                        extensions.push((sink_ext, data));
                    }
                }
            }
        }
        if let Some(mid_id) = sink_line.extension_id(MID_URI) {
            extensions.push((mid_id, sink_line.mid.as_bytes()));
        }
        let mut out = Vec::with_capacity(rtp.body.len() + 40);
        let x_bit = if extensions.is_empty() { 0 } else { 0x10 };
        out.push((rtp.first & !0x10) | x_bit);
        out.push((rtp.marker_pt & 0x80) | pt);
        out.extend_from_slice(&[0; 6]); // sequence number and timestamp, filled in later
        out.extend_from_slice(&sink_line.send_ssrc.to_be_bytes());
        out.extend_from_slice(rtp.csrcs);
        if !extensions.is_empty() {
            write_extensions(&mut out, &extensions);
        }
        out.extend_from_slice(rtp.body);
        Ok((out, codec.clock_rate))
    }

    fn next_random(&mut self) -> u32 {
        // xorshift: offsets only need to differ between sinks and runs, not be secret.
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.seed = x;
        x
    }

    fn forward(
        &mut self,
        source: &str,
        sink_id: &str,
        kind: MediaKind,
        rtp: &Rtp<'_>,
        now: f64,
    ) -> Option<Transmit> {
        let (mut out, clock_rate) = match self.prepare(source, sink_id, kind, rtp) {
            Ok(prepared) => prepared,
            Err(reason) => {
                if let Some(leg) = self.legs.get_mut(sink_id) {
                    leg.drop(reason);
                }
                return None;
            }
        };
        let key = (sink_id.to_owned(), kind);
        let this = (source.to_owned(), rtp.ssrc);
        if let Some(current) = self
            .sinks
            .get(&key)
            .and_then(|s| s.source.as_ref())
            .filter(|c| **c != this)
        {
            let last = self.source_seen.get(current).copied().unwrap_or(f64::MIN);
            if now - last < SOURCE_IDLE_SWITCH {
                if let Some(leg) = self.legs.get_mut(sink_id) {
                    leg.drop("not_selected");
                }
                return None;
            }
        }
        let random = (self.next_random(), self.next_random());
        let sink = self.sinks.entry(key).or_default();
        if sink.source.as_ref() != Some(&this) {
            // A new segment: sequence numbers continue, timestamps advance by wall time.
            let (next_seq, next_ts) = if sink.started {
                let elapsed = ((now - sink.last_at).max(0.0) * f64::from(sink.clock_rate)) as u32;
                (
                    sink.last_seq.wrapping_add(1),
                    sink.last_ts.wrapping_add(elapsed.max(1)),
                )
            } else {
                ((random.0 & 0x7fff) as u16, random.1)
            };
            sink.seq_offset = next_seq.wrapping_sub(rtp.seq);
            sink.ts_offset = next_ts.wrapping_sub(rtp.ts);
            sink.source = Some(this);
            sink.started = true;
        }
        let seq = rtp.seq.wrapping_add(sink.seq_offset);
        let ts = rtp.ts.wrapping_add(sink.ts_offset);
        if seq.wrapping_sub(sink.last_seq) < 0x8000 || sink.packets == 0 {
            sink.last_seq = seq;
            sink.last_ts = ts;
            sink.last_at = now;
            sink.clock_rate = clock_rate;
        }
        out[2..4].copy_from_slice(&seq.to_be_bytes());
        out[4..8].copy_from_slice(&ts.to_be_bytes());
        sink.packets += 1;
        sink.bytes += out.len() as u64;
        Some(Transmit {
            leg_id: sink_id.to_owned(),
            data: out,
        })
    }

    fn feedback_from_sink(&mut self, sink: &str, media_ssrc: u32, now: f64) -> Vec<Transmit> {
        let Some(leg) = self.legs.get(sink) else {
            return Vec::new();
        };
        let Some(kind) = leg
            .lines
            .iter()
            .find(|l| l.sends && l.send_ssrc == media_ssrc)
            .map(|l| l.kind)
        else {
            return Vec::new();
        };
        let Some((source, ssrc)) = self
            .sinks
            .get(&(sink.to_owned(), kind))
            .and_then(|s| s.source.clone())
        else {
            return Vec::new();
        };
        self.keyframe_request(&source, kind, Some(ssrc), now)
            .into_iter()
            .collect()
    }

    fn sender_report(&self, source: &str, packet: &[u8]) -> Vec<Transmit> {
        // SR: header(4) ssrc(4) ntp(8) rtp_ts(4) packets(4) octets(4) [blocks]
        let Some(fixed) = packet.get(..28) else {
            return Vec::new();
        };
        let ssrc = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rtp_ts = u32::from_be_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
        let mut out = Vec::new();
        for ((sink_id, kind), sink) in &self.sinks {
            if sink.source.as_ref() != Some(&(source.to_owned(), ssrc)) {
                continue;
            }
            let Some(line) = self.legs.get(sink_id).and_then(|l| l.line(*kind)) else {
                continue;
            };
            let Some(leg) = self.legs.get(sink_id) else {
                continue;
            };
            if !(leg.connected && leg.forwarding) {
                continue;
            }
            let mut sr = vec![0x80, 200, 0, 6];
            sr.extend_from_slice(&line.send_ssrc.to_be_bytes());
            sr.extend_from_slice(&fixed[8..16]);
            sr.extend_from_slice(&rtp_ts.wrapping_add(sink.ts_offset).to_be_bytes());
            sr.extend_from_slice(&fixed[20..28]);
            out.push(Transmit {
                leg_id: sink_id.to_owned(),
                data: sr,
            });
        }
        out
    }
}

impl PacketRouter for BasicRouter {
    fn add_leg(&mut self, leg: &str, media: &[MediaLine], forwarding: bool) -> Result<(), String> {
        self.legs.insert(
            leg.to_owned(),
            Leg {
                lines: media.to_vec(),
                forwarding,
                connected: false,
                learned: HashMap::new(),
                drops: HashMap::new(),
            },
        );
        Ok(())
    }

    fn remove_leg(&mut self, leg: &str) {
        self.legs.remove(leg);
        self.routes.retain(|(s, d, _)| s != leg && d != leg);
        // Sinks keep their sequence state (a rejoining leg continues its streams).
        self.last_keyframe_request.retain(|(l, _), _| l != leg);
        self.source_seen.retain(|(l, _), _| l != leg);
    }

    fn add_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String> {
        if source == sink {
            return Err("a leg cannot receive its own media".into());
        }
        self.routes
            .insert((source.to_owned(), sink.to_owned(), kind));
        Ok(())
    }

    fn remove_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String> {
        self.routes
            .remove(&(source.to_owned(), sink.to_owned(), kind));
        Ok(())
    }

    fn set_forwarding(
        &mut self,
        leg: &str,
        forwarding: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String> {
        let Some(l) = self.legs.get_mut(leg) else {
            return Err(format!("unknown leg {leg:?}"));
        };
        let opened = forwarding && !l.forwarding;
        l.forwarding = forwarding;
        Ok(if opened && l.connected {
            self.request_keyframes_for(leg, now)
        } else {
            Vec::new()
        })
    }

    fn set_connected(
        &mut self,
        leg: &str,
        connected: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String> {
        let Some(l) = self.legs.get_mut(leg) else {
            return Err(format!("unknown leg {leg:?}"));
        };
        l.connected = connected;
        if !connected {
            return Ok(Vec::new());
        }
        let forwarding = l.forwarding;
        let mut out = if forwarding {
            self.request_keyframes_for(leg, now)
        } else {
            Vec::new()
        };
        // A (re)connected source: its sinks want a keyframe from it.
        if self
            .routes
            .iter()
            .any(|(s, _, k)| s == leg && *k == MediaKind::Video)
        {
            out.extend(self.keyframe_request(leg, MediaKind::Video, None, now));
        }
        Ok(out)
    }

    fn handle_rtp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit> {
        let Some(rtp) = parse_rtp(packet) else {
            if let Some(l) = self.legs.get_mut(leg) {
                l.drop("malformed");
            }
            return Vec::new();
        };
        let Some(kind) = self.source_kind(leg, &rtp) else {
            if let Some(l) = self.legs.get_mut(leg) {
                l.drop("unknown_ssrc");
            }
            return Vec::new();
        };
        let known_pt = self
            .legs
            .get(leg)
            .and_then(|l| l.line(kind))
            .and_then(|l| l.codec(rtp.marker_pt & 0x7f))
            .map(super::router::Codec::is_rtx);
        match known_pt {
            None => {
                if let Some(l) = self.legs.get_mut(leg) {
                    l.drop("codec_mismatch");
                }
                return Vec::new();
            }
            Some(true) => {
                if let Some(l) = self.legs.get_mut(leg) {
                    l.drop("rtx_unsupported");
                }
                return Vec::new();
            }
            Some(false) => {}
        }
        self.source_seen.insert((leg.to_owned(), rtp.ssrc), now);
        let sinks: Vec<LegId> = self
            .routes
            .iter()
            .filter(|(s, _, k)| s == leg && *k == kind)
            .map(|(_, d, _)| d.clone())
            .collect();
        if sinks.is_empty() {
            if let Some(l) = self.legs.get_mut(leg) {
                l.drop("no_route");
            }
        }
        sinks
            .iter()
            .filter_map(|sink| self.forward(leg, sink, kind, &rtp, now))
            .collect()
    }

    fn handle_rtcp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(head) = packet.get(at..at + 4) {
            let len = 4 * (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1);
            let Some(one) = packet.get(at..at + len) else {
                if let Some(l) = self.legs.get_mut(leg) {
                    l.drop("malformed");
                }
                break;
            };
            if head[0] >> 6 != 2 {
                break;
            }
            let fmt = head[0] & 0x1f;
            match (head[1], fmt) {
                (200, _) => out.extend(self.sender_report(leg, one)),
                // PLI, and FIR (media SSRC in its FCI): a keyframe request to the source.
                (206, 1) | (206, 4) => {
                    let at_media = if fmt == 1 { 8 } else { 12 };
                    if let Some(m) = one.get(at_media..at_media + 4) {
                        let media = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
                        out.extend(self.feedback_from_sink(leg, media, now));
                    }
                }
                _ => {} // RR, SDES, BYE, REMB, NACK: consumed
            }
            at += len;
        }
        out
    }

    fn handle_timeout(&mut self, _now: f64) -> Vec<Transmit> {
        Vec::new()
    }

    fn next_timeout(&self) -> Option<f64> {
        None
    }

    fn stats(&self) -> serde_json::Value {
        let legs: serde_json::Map<String, serde_json::Value> = self
            .legs
            .iter()
            .map(|(id, leg)| {
                let sinks: serde_json::Map<String, serde_json::Value> =
                    [MediaKind::Audio, MediaKind::Video]
                        .into_iter()
                        .filter_map(|k| {
                            let s = self.sinks.get(&(id.clone(), k))?;
                            Some((
                                k.name().to_owned(),
                                json!({"packets": s.packets, "bytes": s.bytes}),
                            ))
                        })
                        .collect();
                (
                    id.clone(),
                    json!({
                        "forwarding": leg.forwarding,
                        "connected": leg.connected,
                        "drops": leg.drops,
                        "sinks": sinks,
                    }),
                )
            })
            .collect();
        json!({"router": "basic", "legs": legs})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::router::Codec;

    fn line(kind: MediaKind, mid: &str, pt: u8, mid_id: u8, recv: u32, send: u32) -> MediaLine {
        MediaLine {
            kind,
            mid: mid.into(),
            codecs: vec![Codec {
                payload_type: pt,
                mime_type: if kind == MediaKind::Video {
                    "video/vp8".into()
                } else {
                    "audio/opus".into()
                },
                clock_rate: if kind == MediaKind::Video {
                    90000
                } else {
                    48000
                },
                channels: if kind == MediaKind::Video {
                    None
                } else {
                    Some(2)
                },
                format_key: vec![],
                rtx_apt: None,
            }],
            extensions: vec![(MID_URI.into(), mid_id)],
            recv_ssrc: Some(recv),
            recv_rtx_ssrc: None,
            send_ssrc: send,
            send_rtx_ssrc: None,
            cname: None,
            receives: true,
            sends: true,
        }
    }

    fn rtp(pt: u8, seq: u16, ssrc: u32, mid_id: u8, mid: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x90, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        write_extensions(&mut p, &[(mid_id, mid)]);
        p.extend_from_slice(payload);
        p
    }

    fn router() -> BasicRouter {
        let mut r = BasicRouter::new();
        r.add_leg("a", &[line(MediaKind::Video, "0", 96, 1, 111, 222)], true)
            .unwrap();
        r.add_leg("b", &[line(MediaKind::Video, "1", 120, 9, 333, 444)], false)
            .unwrap();
        r.add_route("a", "b", MediaKind::Video).unwrap();
        r.set_connected("a", true, 0.0).unwrap();
        r.set_connected("b", true, 0.0).unwrap();
        r
    }

    #[test]
    fn rewrites_for_the_sink_and_keeps_the_payload() {
        let mut r = router();
        let p = rtp(96, 10, 111, 1, b"0", b"payload");
        assert!(r.handle_rtp("a", &p, 1.0).is_empty(), "gate closed");
        let plis = r.set_forwarding("b", true, 1.0).unwrap();
        assert_eq!(plis.len(), 1);
        assert_eq!(plis[0].leg_id, "a");
        assert_eq!(plis[0].data[8..12], 111u32.to_be_bytes());
        let out = r.handle_rtp("a", &p, 1.1);
        assert_eq!(out.len(), 1);
        let got = parse_rtp(&out[0].data).unwrap();
        assert_eq!(got.ssrc, 444);
        assert_eq!(got.marker_pt & 0x7f, 120);
        assert_eq!(got.body, b"payload");
        assert_eq!(got.extensions, vec![(9, &b"1"[..])]);
        let p2 = rtp(96, 11, 111, 1, b"0", b"next");
        let got2 = r.handle_rtp("a", &p2, 1.2);
        let got2 = parse_rtp(&got2[0].data).unwrap();
        assert_eq!(got2.seq, got.seq.wrapping_add(1));
    }

    #[test]
    fn pli_from_sink_reaches_the_source_rate_limited() {
        let mut r = router();
        r.set_forwarding("b", true, 0.0).unwrap();
        r.handle_rtp("a", &rtp(96, 1, 111, 1, b"0", b"x"), 1.0);
        let out = r.handle_rtcp("b", &pli(333, 444), 2.0);
        assert_eq!(
            out,
            vec![Transmit {
                leg_id: "a".into(),
                data: pli(222, 111)
            }]
        );
        assert!(r.handle_rtcp("b", &pli(333, 444), 2.1).is_empty());
    }

    #[test]
    fn garbage_never_panics() {
        let mut r = router();
        r.set_forwarding("b", true, 0.0).unwrap();
        let seed = rtp(96, 1, 111, 1, b"0", b"payload-bytes");
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..20_000 {
            let mut d = seed.clone();
            for _ in 0..=(next() % 4) {
                let j = (next() as usize) % d.len();
                d[j] = next() as u8;
            }
            let cut = (next() as usize) % (d.len() + 1);
            let now = f64::from(i) * 0.01;
            r.handle_rtp("a", &d[..cut], now);
            r.handle_rtcp("b", &d[..cut], now);
            r.handle_rtcp("a", &d[..cut], now);
        }
    }
}
