//! ICE-TCP connections (RFC 6544, passive side), sans-IO: per accepted connection, the
//! RFC 4571 decoder of what it sends and a bounded queue of what we send it, and the
//! rules that close it. The I/O adapter (`tcp_io.rs`) reads into [`TcpLinks::link`]'s
//! decoder through the endpoint, and writes each queue with [`TcpLinks::flush`] to any
//! `Write` (a non-blocking socket, or a test's slow reader).
//!
//! Fairness: a queue holds at most [`TcpConfig::queue_bytes`]. When a frame does not fit,
//! video goes first: a video frame is refused, an audio or control frame (RTCP, DTLS,
//! STUN) evicts the queued video that has not started to go out; control may use a
//! reserve above the limit; what still does not fit is dropped, each counted by class.
//! After a video drop, no video is queued until the queue has drained to half (the
//! frames in between could not be decoded anyway) and the link asks for a keyframe
//! ([`TcpLinks::take_keyframe_wanted`]). A queue is only ever written by its own
//! connection's writes, so one slow connection never delays another.
//!
//! Closing, each counted by its reason: framing that breaks (garbage), a first frame
//! that is not an ICE check that authenticates, no valid check within
//! [`TcpConfig::ice_timeout`] of the accept, no write progress for
//! [`TcpConfig::stall_timeout`] while data waits (a reader that stopped), and
//! connections over [`TcpConfig::max_links`].

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;

use super::demux::{self, Kind};
use super::endpoint::TransportId;
use super::framing::{self, Decoder, MAX_FRAME};
pub use super::path::ConnId;

/// What a queued frame carries, in the order drops spare them (video goes first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Video,
    Audio,
    /// RTCP, DTLS and STUN: small, and what keeps the connection and its feedback alive.
    Control,
}

impl Class {
    /// The counted drop reason when a frame of this class does not fit.
    #[must_use]
    pub const fn drop_reason(self) -> &'static str {
        match self {
            Self::Video => "tcp_video_dropped",
            Self::Audio => "tcp_audio_dropped",
            Self::Control => "tcp_control_dropped",
        }
    }
}

/// Limits and timeouts of the ICE-TCP side.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    /// Bytes a connection's send queue holds (framing included).
    pub queue_bytes: usize,
    /// Seconds without write progress, while data waits, before a connection is cut.
    pub stall_timeout: f64,
    /// Seconds from the accept to the first valid ICE check.
    pub ice_timeout: f64,
    /// Connections at once; more are refused at the accept.
    pub max_links: usize,
    /// The longest frame before ICE (a binding request is ~100 bytes).
    pub first_frame_max: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            queue_bytes: 256 * 1024,
            stall_timeout: 5.0,
            ice_timeout: 5.0,
            max_links: 1024,
            first_frame_max: 1500,
        }
    }
}

/// Seconds between two keyframe requests a link makes after dropping video.
pub const KEYFRAME_REQUEST_INTERVAL: f64 = 0.5;

/// The first byte of any frame on the media port: what RFC 7983 classifies.
fn media_byte(byte: u8) -> bool {
    demux::classify(&[byte, 0]) != Kind::Unknown
}

/// A connection's outgoing frames (already framed), oldest first.
#[derive(Debug)]
pub struct SendQueue {
    frames: VecDeque<(Class, Vec<u8>)>,
    /// Bytes queued, less what of the front frame went out already.
    bytes: usize,
    /// How much of the front frame went out (a partial write).
    head_written: usize,
    capacity: usize,
    /// Video refused until the queue drains to half.
    video_blocked: bool,
    video_dropped: bool,
    /// When the queue last made progress (or became non-empty).
    last_progress: f64,
    pub drops: HashMap<&'static str, u64>,
    pub frames_sent: u64,
    pub bytes_sent: u64,
}

impl SendQueue {
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            head_written: 0,
            capacity,
            video_blocked: false,
            video_dropped: false,
            last_progress: 0.0,
            drops: HashMap::new(),
            frames_sent: 0,
            bytes_sent: 0,
        }
    }

    /// Bytes waiting.
    #[must_use]
    pub const fn queued(&self) -> usize {
        self.bytes
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn count_drop(&mut self, class: Class) {
        *self.drops.entry(class.drop_reason()).or_default() += 1;
        if class == Class::Video {
            self.video_blocked = true;
            self.video_dropped = true;
        }
    }

    /// Queue `payload` as one frame; false if it was dropped (see the module's rules).
    pub fn push(&mut self, class: Class, payload: &[u8], now: f64) -> bool {
        let size = 2 + payload.len();
        if payload.len() > MAX_FRAME || (class == Class::Video && self.video_blocked) {
            self.count_drop(class);
            return false;
        }
        let limit = match class {
            Class::Control => self.capacity + self.capacity / 4,
            _ => self.capacity,
        };
        if self.bytes + size > limit && class != Class::Video {
            self.evict_video();
        }
        if self.bytes + size > limit {
            self.count_drop(class);
            return false;
        }
        let mut frame = Vec::with_capacity(size);
        if framing::encode(payload, &mut frame).is_err() {
            self.count_drop(class);
            return false;
        }
        if self.frames.is_empty() {
            self.last_progress = now; // the stall clock starts with the first waiting byte
        }
        self.bytes += size;
        self.frames.push_back((class, frame));
        true
    }

    /// Drop every queued video frame that has not started to go out.
    fn evict_video(&mut self) {
        let started = usize::from(self.head_written > 0);
        let mut evicted = 0u64;
        let mut freed = 0;
        let mut index = 0;
        self.frames.retain(|(class, frame)| {
            let keep = index < started || *class != Class::Video;
            index += 1;
            if !keep {
                evicted += 1;
                freed += frame.len();
            }
            keep
        });
        if evicted > 0 {
            self.bytes -= freed;
            *self.drops.entry(Class::Video.drop_reason()).or_default() += evicted;
            self.video_blocked = true;
            self.video_dropped = true;
        }
    }

    /// Whether video was dropped since the last call.
    pub fn take_video_dropped(&mut self) -> bool {
        std::mem::take(&mut self.video_dropped)
    }

    /// Write as much as `w` takes without blocking; returns the bytes written. A
    /// `WouldBlock` ends the call quietly; other errors are returned (the caller closes).
    ///
    /// # Errors
    /// What `w` returned other than `WouldBlock` or `Interrupted`; `WriteZero`.
    pub fn flush(&mut self, w: &mut impl Write, now: f64) -> io::Result<usize> {
        let mut total = 0;
        while let Some((_, head)) = self.frames.front() {
            let mut slices = Vec::with_capacity(self.frames.len().min(64));
            slices.push(IoSlice::new(head.get(self.head_written..).unwrap_or(&[])));
            slices.extend(
                self.frames
                    .iter()
                    .skip(1)
                    .take(63)
                    .map(|(_, f)| IoSlice::new(f)),
            );
            match w.write_vectored(&slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.advance(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if total > 0 {
            self.last_progress = now;
            self.bytes_sent += total as u64;
        }
        if self.bytes <= self.capacity / 2 {
            self.video_blocked = false;
        }
        Ok(total)
    }

    fn advance(&mut self, mut n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
        while n > 0 {
            let Some((_, head)) = self.frames.front() else {
                return;
            };
            let left = head.len() - self.head_written;
            if n < left {
                self.head_written += n;
                return;
            }
            n -= left;
            self.frames.pop_front();
            self.head_written = 0;
            self.frames_sent += 1;
        }
    }

    /// When the queue counts as stalled, if data waits.
    #[must_use]
    pub fn stall_deadline(&self, timeout: f64) -> Option<f64> {
        (!self.frames.is_empty()).then_some(self.last_progress + timeout)
    }
}

/// One accepted connection.
#[derive(Debug)]
pub struct TcpLink {
    pub remote: SocketAddr,
    pub decoder: Decoder,
    pub queue: SendQueue,
    /// The transport whose ICE check this connection passed (None: not yet).
    pub transport: Option<TransportId>,
    pub opened: f64,
    pub frames_received: u64,
    last_keyframe_request: Option<f64>,
    closing: bool,
}

/// Every ICE-TCP connection of the port: what the endpoint holds for them.
#[derive(Debug, Default)]
pub struct TcpLinks {
    pub config: TcpConfig,
    links: HashMap<ConnId, TcpLink>,
    /// Connections to close (the I/O adapter takes them), with no more I/O meanwhile.
    closing: Vec<ConnId>,
    /// Connections with output since the I/O adapter last looked.
    dirty: Vec<ConnId>,
    pub accepted: u64,
    /// Closes by reason.
    pub closed: HashMap<&'static str, u64>,
}

impl TcpLinks {
    #[must_use]
    pub fn new(config: TcpConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// A new connection; false (and counted) if there are too many.
    pub fn open(&mut self, conn: ConnId, remote: SocketAddr, now: f64) -> bool {
        if self.links.len() >= self.config.max_links {
            *self.closed.entry("tcp_too_many").or_default() += 1;
            return false;
        }
        self.accepted += 1;
        self.links.insert(
            conn,
            TcpLink {
                remote,
                decoder: Decoder::new(self.config.first_frame_max, media_byte),
                queue: SendQueue::new(self.config.queue_bytes),
                transport: None,
                opened: now,
                frames_received: 0,
                last_keyframe_request: None,
                closing: false,
            },
        );
        true
    }

    /// A live connection (not one being closed).
    pub fn link(&mut self, conn: ConnId) -> Option<&mut TcpLink> {
        self.links.get_mut(&conn).filter(|l| !l.closing)
    }

    /// The connection passed an ICE check of `transport` (it may now send long frames:
    /// the caller raises its decoder's limit, see `Decoder::set_max_frame`).
    pub fn validate(&mut self, conn: ConnId, transport: TransportId) {
        if let Some(link) = self.link(conn) {
            link.transport = Some(transport);
        }
    }

    /// Queue a frame for the connection; false if dropped (or no such connection).
    pub fn send(&mut self, conn: ConnId, class: Class, payload: &[u8], now: f64) -> bool {
        let Some(link) = self.link(conn) else {
            return false;
        };
        let was_empty = link.queue.is_empty();
        let queued = link.queue.push(class, payload, now);
        if queued && was_empty {
            self.dirty.push(conn);
        }
        queued
    }

    /// Whether the connection dropped video and may ask for a keyframe now (at most one
    /// request per [`KEYFRAME_REQUEST_INTERVAL`]; a drop meanwhile waits for the next).
    pub fn take_keyframe_wanted(&mut self, conn: ConnId, now: f64) -> bool {
        let Some(link) = self.link(conn) else {
            return false;
        };
        let due = link
            .last_keyframe_request
            .is_none_or(|t| now - t >= KEYFRAME_REQUEST_INTERVAL || now < t);
        if due && link.queue.take_video_dropped() {
            link.last_keyframe_request = Some(now);
            return true;
        }
        false
    }

    /// Close the connection for `reason` (counted once); the I/O adapter is told.
    pub fn close(&mut self, conn: ConnId, reason: &'static str) {
        if let Some(link) = self.link(conn) {
            link.closing = true;
            *self.closed.entry(reason).or_default() += 1;
            self.closing.push(conn);
        }
    }

    /// The connection is gone (closed by either side); returns it.
    pub fn remove(&mut self, conn: ConnId) -> Option<TcpLink> {
        self.links.remove(&conn)
    }

    /// Write the connection's queue to `w` (see [`SendQueue::flush`]); an error closes it.
    /// Returns whether data still waits.
    pub fn flush(&mut self, conn: ConnId, w: &mut impl Write, now: f64) -> bool {
        let Some(link) = self.link(conn) else {
            return false;
        };
        match link.queue.flush(w, now) {
            Ok(_) => !link.queue.is_empty(),
            Err(_) => {
                self.close(conn, "tcp_write_failed");
                false
            }
        }
    }

    /// Whether the I/O adapter has work: output or closes.
    #[must_use]
    pub fn has_work(&self) -> bool {
        !self.dirty.is_empty() || !self.closing.is_empty()
    }

    /// Connections with new output, and connections to close, since the last call.
    pub fn take_work(&mut self) -> (Vec<ConnId>, Vec<ConnId>) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup(); // flushed and queued again since the adapter last looked
        (dirty, std::mem::take(&mut self.closing))
    }

    /// Close the connections that broke a deadline: no ICE in time, or stalled.
    pub fn handle_timeout(&mut self, now: f64) {
        let config = self.config;
        let mut due = Vec::new();
        for (&conn, link) in &self.links {
            if link.closing {
                continue;
            }
            if link.transport.is_none() && now >= link.opened + config.ice_timeout {
                due.push((conn, "tcp_ice_timeout"));
            } else if link
                .queue
                .stall_deadline(config.stall_timeout)
                .is_some_and(|t| now >= t)
            {
                due.push((conn, "tcp_stalled"));
            }
        }
        for (conn, reason) in due {
            self.close(conn, reason);
        }
    }

    #[must_use]
    pub fn next_timeout(&self) -> Option<f64> {
        self.links
            .values()
            .filter(|l| !l.closing)
            .filter_map(|l| {
                let ice = l
                    .transport
                    .is_none()
                    .then_some(l.opened + self.config.ice_timeout);
                let stall = l.queue.stall_deadline(self.config.stall_timeout);
                [ice, stall].into_iter().flatten().reduce(f64::min)
            })
            .reduce(f64::min)
    }

    /// Open connections.
    #[must_use]
    pub fn len(&self) -> usize {
        self.links.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ConnId, &TcpLink)> {
        self.links.iter()
    }
}

#[cfg(test)]
mod tests;
