//! The endpoint's ICE-TCP side (RFC 6544, passive): the I/O adapter (`tcp_io.rs`)
//! reports accepted connections and the bytes they send, and writes what their queues
//! hold. A connection's frames go through the same demultiplexing, ICE-lite checks,
//! DTLS and SRTP as datagrams do; its first frame must be a binding request that
//! authenticates for some transport, which the connection then carries.

use std::io::Write;
use std::net::SocketAddr;

use super::{Endpoint, Outgoing};
use crate::net::demux::{self, Kind};
use crate::net::framing::MAX_FRAME;
use crate::net::path::{ConnId, Path};

impl Endpoint {
    /// A connection was accepted; false if the endpoint refuses it (too many, counted):
    /// the adapter closes it.
    pub fn tcp_open(&mut self, conn: ConnId, remote: SocketAddr, now: f64) -> bool {
        self.tcp.open(conn, remote, now)
    }

    /// Bytes the connection sent, in any chunking. Broken framing, or a first frame that
    /// is not an authenticated ICE check, closes the connection (counted by reason).
    pub fn tcp_data(&mut self, conn: ConnId, chunk: &[u8], now: f64, out: &mut Vec<Outgoing>) {
        let Some(link) = self.tcp.link(conn) else {
            return;
        };
        let remote = link.remote;
        let mut decoder = std::mem::take(&mut link.decoder);
        let mut frames = 0u64;
        let fed = decoder.feed(chunk, |frame| {
            frames += 1;
            self.tcp_frame(conn, remote, frame, now, out);
        });
        if let Some(link) = self.tcp.link(conn) {
            link.frames_received += frames;
            if link.transport.is_some() {
                decoder.set_max_frame(MAX_FRAME); // trusted now: RFC 4571's whole range
            }
            link.decoder = decoder;
        }
        if fed.is_err() {
            self.tcp.close(conn, "tcp_garbage");
        }
        self.request_keyframes(now, out);
    }

    fn tcp_frame(
        &mut self,
        conn: ConnId,
        remote: SocketAddr,
        frame: &[u8],
        now: f64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(link) = self.tcp.link(conn) else {
            return; // closed by an earlier frame of the chunk
        };
        let validated = link.transport.is_some();
        let path = Path::Tcp(conn, remote);
        match demux::classify(frame) {
            Kind::Stun => match self.handle_stun(path, frame, now, out) {
                Some(transport) if !validated => self.tcp.validate(conn, transport),
                Some(_) => {}
                None if !validated => self.tcp.close(conn, "tcp_ice_failed"),
                None => {}
            },
            _ if !validated => self.tcp.close(conn, "tcp_garbage"),
            Kind::Dtls => self.handle_dtls(path, frame),
            Kind::Rtp => self.handle_srtp(path, frame, false, now, out),
            Kind::Rtcp => self.handle_srtp(path, frame, true, now, out),
            Kind::Unknown => self.tcp.close(conn, "tcp_garbage"),
        }
    }

    /// The connection is gone (the peer closed it, an error, or the adapter closed it as
    /// asked): its path stops being a transport's.
    pub fn tcp_closed(&mut self, conn: ConnId) {
        if let Some(link) = self.tcp.remove(conn) {
            self.by_address.remove(&Path::Tcp(conn, link.remote));
        }
    }

    /// Write what the connection's queue holds to `w` without blocking; returns whether
    /// data still waits (the adapter then waits for the socket to be writable).
    pub fn tcp_flush(&mut self, conn: ConnId, w: &mut impl Write, now: f64) -> bool {
        self.tcp.flush(conn, w, now)
    }

    /// Whether the adapter has work: new output, or connections to close.
    #[must_use]
    pub fn has_tcp_work(&self) -> bool {
        self.tcp.has_work()
    }

    /// Connections with new output and connections to close, since the last call.
    pub fn take_tcp_work(&mut self) -> (Vec<ConnId>, Vec<ConnId>) {
        self.tcp.take_work()
    }
}

#[cfg(test)]
mod tests;
