//! The media UDP socket with batched system calls: `recvmmsg` (up to [`BATCH`]
//! datagrams per call, waiting for the first only) and `sendmmsg`, through `nix`'s safe
//! wrappers, so this crate stays free of `unsafe`.
//!
//! Sends use UDP generic segmentation offload (`UDP_SEGMENT`) where a batch allows it:
//! a frame's packets to one receiver are mostly of one size, and the kernel then walks
//! its UDP/IP stack once for the run instead of once per packet. Where the kernel
//! refuses it, the socket falls back to plain `sendmmsg` for good.
//!
//! Bound to `::`, the socket is dual-stack (`addresses.rs`); bound to a wildcard, it
//! learns each datagram's destination and replies from it (`pktinfo.rs`).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    recvmmsg, sendmmsg, sendmsg, setsockopt, sockopt, ControlMessage, MsgFlags, MultiHeaders,
    SockaddrStorage,
};

use super::addresses;
use super::endpoint::Outgoing;
use super::pktinfo::{self, ReplyRoutes, SourceInfo};

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram: above any WebRTC MTU; longer datagrams are cut (and
/// then fail SRTP authentication, a counted drop).
pub const MAX_DATAGRAM: usize = 2048;
/// Most segments in one segmented send (the kernel's `UDP_MAX_SEGMENTS` before 6.4).
const GSO_MAX_SEGMENTS: usize = 64;
/// Most bytes in one segmented send: under a UDP datagram's limit, headers included.
const GSO_MAX_BYTES: usize = 60_000;

/// Buffers for one `recvmmsg` batch, reused for every call.
pub struct RecvBuffers {
    data: Vec<[u8; MAX_DATAGRAM]>,
    /// (source, length) of each datagram of the last batch.
    pub received: Vec<(SocketAddr, usize)>,
    /// The address each datagram of the last batch was sent to, where the socket asks
    /// (bound to a wildcard: see `pktinfo.rs`).
    pub destinations: Vec<Option<IpAddr>>,
}

impl Default for RecvBuffers {
    fn default() -> Self {
        Self {
            data: vec![[0u8; MAX_DATAGRAM]; BATCH],
            received: Vec::with_capacity(BATCH),
            destinations: Vec::with_capacity(BATCH),
        }
    }
}

impl RecvBuffers {
    /// Datagram `i` of the last batch.
    #[must_use]
    pub fn datagram(&self, i: usize) -> Option<(SocketAddr, &[u8])> {
        let (from, len) = *self.received.get(i)?;
        Some((from, self.data.get(i)?.get(..len)?))
    }

    /// The address datagram `i` of the last batch arrived on, if the socket asks.
    #[must_use]
    pub fn destination(&self, i: usize) -> Option<IpAddr> {
        self.destinations.get(i).copied().flatten()
    }
}

/// A peer's address as the endpoint sees it: IPv4 peers of a dual-stack socket as IPv4.
fn to_std(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| addresses::canonical(SocketAddr::from(*v6)))
}

pub struct MediaUdpSocket {
    socket: UdpSocket,
    /// An IPv6 socket (dual-stack when bound to `::`): IPv4 peers are sent to mapped.
    v6: bool,
    /// Bound to a wildcard: replies leave from the address their peer wrote to.
    pinned: Option<Mutex<ReplyRoutes>>,
    /// Segmented sends are on until the kernel refuses one.
    gso: AtomicBool,
    segmented_sends: AtomicU64,
}

/// A datagram to send and the source address it must leave from (None: the kernel's
/// choice).
type Sourced<'a> = (&'a Outgoing, Option<IpAddr>);

/// The datagrams of a batch grouped for sending: per destination and source (in the
/// batch's order for each), runs of one size whose last may be shorter, which is what
/// one `UDP_SEGMENT` send can carry. A run of one is sent as it is.
fn segment_runs<'a>(messages: &[Sourced<'a>]) -> Vec<Vec<Sourced<'a>>> {
    type Flow = (SocketAddr, Option<IpAddr>);
    let mut by_destination: Vec<(Flow, Vec<Sourced<'a>>)> = Vec::new();
    for &(m, source) in messages {
        let flow = (m.to, source);
        match by_destination.iter_mut().find(|(f, _)| *f == flow) {
            Some((_, list)) => list.push((m, source)),
            None => by_destination.push((flow, vec![(m, source)])),
        }
    }
    let mut runs = Vec::new();
    for (_, list) in by_destination {
        let mut run: Vec<Sourced<'a>> = Vec::new();
        let mut bytes = 0;
        for (m, source) in list {
            let extends = match (run.first(), run.last()) {
                (Some((first, _)), Some((last, _))) => {
                    let size = first.data.len();
                    last.data.len() == size // a shorter datagram ends its run
                        && (1..=size).contains(&m.data.len())
                        && run.len() < GSO_MAX_SEGMENTS
                        && bytes + m.data.len() <= GSO_MAX_BYTES
                }
                _ => false,
            };
            if !extends && !run.is_empty() {
                runs.push(std::mem::take(&mut run));
                bytes = 0;
            }
            bytes += m.data.len();
            run.push((m, source));
        }
        if !run.is_empty() {
            runs.push(run);
        }
    }
    runs
}

impl MediaUdpSocket {
    /// Bind `address` (port 0: an ephemeral port) with roomy kernel buffers: `::`
    /// dual-stack (or `0.0.0.0` on a machine without IPv6); bound to a wildcard, the
    /// socket replies from the address each peer wrote to.
    pub fn bind(address: SocketAddr) -> io::Result<Self> {
        let socket = addresses::udp_socket(address)?;
        // Bursts of video keyframes arrive faster than one batch; best effort.
        let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
        let _ = setsockopt(&socket, sockopt::SndBuf, &(4 << 20));
        let local = socket.local_addr()?;
        let pinned = if local.ip().is_unspecified() {
            match local {
                SocketAddr::V4(_) => setsockopt(&socket, sockopt::Ipv4PacketInfo, &true),
                SocketAddr::V6(_) => setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true),
            }
            .map_err(io::Error::from)?;
            Some(Mutex::new(ReplyRoutes::default()))
        } else {
            None
        };
        Ok(Self {
            socket,
            v6: local.is_ipv6(),
            pinned,
            gso: AtomicBool::new(true),
            segmented_sends: AtomicU64::new(0),
        })
    }

    /// Whether replies are pinned to the address their peer wrote to (a wildcard bind).
    #[must_use]
    pub const fn pins_replies(&self) -> bool {
        self.pinned.is_some()
    }

    fn routes(&self) -> Option<std::sync::MutexGuard<'_, ReplyRoutes>> {
        self.pinned
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Turn segmented sends off (or back on, where the kernel takes them).
    pub fn set_segmentation(&self, on: bool) {
        self.gso.store(on, Ordering::Relaxed);
    }

    /// How many `UDP_SEGMENT` sends went out, each carrying two datagrams or more.
    #[must_use]
    pub fn segmented_sends(&self) -> u64 {
        self.segmented_sends.load(Ordering::Relaxed)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// How long the next [`Self::recv_batch`] may wait for its first datagram.
    pub fn set_wait(&self, wait: Duration) -> io::Result<()> {
        self.socket
            .set_read_timeout(Some(wait.max(Duration::from_micros(100))))
    }

    /// Wait (up to the read timeout) for datagrams and take as many as are queued, up
    /// to [`BATCH`]. Returns how many; a timeout is `Ok(0)`.
    pub fn recv_batch(&self, buffers: &mut RecvBuffers) -> io::Result<usize> {
        buffers.received.clear();
        buffers.destinations.clear();
        let control = self
            .pinned
            .is_some()
            .then(|| nix::cmsg_space!(nix::libc::in6_pktinfo, nix::libc::in_pktinfo));
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, control);
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = buffers
            .data
            .iter_mut()
            .map(|b| [IoSliceMut::new(&mut b[..])])
            .collect();
        let results = match recvmmsg(
            self.socket.as_raw_fd(),
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        ) {
            Ok(results) => results,
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let received: Vec<(Option<SocketAddr>, usize, Option<IpAddr>)> = results
            .map(|r| {
                let destination = r
                    .cmsgs()
                    .ok()
                    .and_then(|mut c| c.find_map(|m| pktinfo::destination(&m)));
                (r.address.as_ref().and_then(to_std), r.bytes, destination)
            })
            .collect();
        let mut routes = self.routes();
        // Keep indices aligned with the buffers; a datagram without a source (cannot
        // happen on UDP) gets an unspecified one and is dropped by the endpoint.
        for (from, len, destination) in received {
            let from = from.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
            if let (Some(routes), Some(local)) = (routes.as_mut(), destination) {
                routes.record(from, local);
            }
            buffers.received.push((from, len.min(MAX_DATAGRAM)));
            buffers.destinations.push(destination);
        }
        Ok(buffers.received.len())
    }

    /// Send every datagram: runs of one size to one destination as one segmented send
    /// each, the rest [`BATCH`] per `sendmmsg`. Order is kept per destination. A
    /// datagram the kernel refuses (e.g. no route) is skipped; returns how many were.
    pub fn send_batch(&self, messages: &[Outgoing]) -> usize {
        self.send_batch_from(messages, &[])
    }

    /// [`Self::send_batch`], datagram `i` leaving from `sources[i]` where that is given
    /// (a reply to a datagram just received: its destination), else, on a socket that
    /// pins replies, from the address its peer last wrote to.
    pub fn send_batch_from(&self, messages: &[Outgoing], sources: &[Option<IpAddr>]) -> usize {
        let sourced: Vec<Sourced<'_>> = match self.routes() {
            Some(routes) => messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let given = sources.get(i).copied().flatten();
                    (m, given.or_else(|| routes.source_for(m.to)))
                })
                .collect(),
            None => messages.iter().map(|m| (m, None)).collect(),
        };
        if sourced.len() < 2 || !self.gso.load(Ordering::Relaxed) {
            return self.send_each(&sourced);
        }
        let mut skipped = 0;
        let mut singles: Vec<Sourced<'_>> = Vec::new();
        for run in segment_runs(&sourced) {
            if run.len() == 1 {
                singles.extend(run);
                continue;
            }
            skipped += self.send_each(&singles); // they come first for their destination
            singles.clear();
            match self.send_segmented(&run) {
                Ok(()) => {
                    self.segmented_sends.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    if matches!(
                        error,
                        Errno::EIO | Errno::EINVAL | Errno::ENOPROTOOPT | Errno::EOPNOTSUPP
                    ) {
                        self.gso.store(false, Ordering::Relaxed); // not on this kernel/route
                    }
                    skipped += self.send_each(&run);
                }
            }
        }
        skipped + self.send_each(&singles)
    }

    fn send_segmented(&self, run: &[Sourced<'_>]) -> Result<(), Errno> {
        let (first, source) = *run.first().ok_or(Errno::EMSGSIZE)?;
        let size = u16::try_from(first.data.len()).map_err(|_| Errno::EMSGSIZE)?;
        let to = self.destination(first.to);
        let slices: Vec<IoSlice<'_>> = run.iter().map(|(m, _)| IoSlice::new(&m.data)).collect();
        let info = source.map(|s| SourceInfo::new(s, self.v6));
        let mut control = vec![ControlMessage::UdpGsoSegments(&size)];
        control.extend(info.as_ref().map(SourceInfo::message));
        loop {
            match sendmsg(
                self.socket.as_raw_fd(),
                &slices,
                &control,
                MsgFlags::empty(),
                Some(&to),
            ) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn destination(&self, to: SocketAddr) -> SockaddrStorage {
        SockaddrStorage::from(addresses::for_socket(to, self.v6))
    }

    /// Each datagram on its own, [`BATCH`] of one source per system call.
    fn send_each(&self, messages: &[Sourced<'_>]) -> usize {
        let mut skipped = 0;
        let mut rest = messages;
        while let Some((_, source)) = rest.first() {
            let same = rest
                .iter()
                .take(BATCH)
                .take_while(|(_, s)| s == source)
                .count();
            let chunk = &rest[..same];
            match self.send_chunk(chunk, *source) {
                Ok(0) | Err(_) => {
                    skipped += 1; // the first one failed: skip it, go on with the others
                    rest = &rest[1..];
                }
                Ok(sent) => rest = &rest[sent.min(rest.len())..],
            }
        }
        skipped
    }

    /// One `sendmmsg` of datagrams that all leave from `source`.
    fn send_chunk(&self, chunk: &[Sourced<'_>], source: Option<IpAddr>) -> Result<usize, Errno> {
        let addresses: Vec<Option<SockaddrStorage>> = chunk
            .iter()
            .map(|(m, _)| Some(self.destination(m.to)))
            .collect();
        let slices: Vec<[IoSlice<'_>; 1]> =
            chunk.iter().map(|(m, _)| [IoSlice::new(&m.data)]).collect();
        let info = source.map(|s| SourceInfo::new(s, self.v6));
        let control: Vec<ControlMessage<'_>> = info.iter().map(SourceInfo::message).collect();
        let space = info.as_ref().map(SourceInfo::space);
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), space);
        loop {
            match sendmmsg(
                self.socket.as_raw_fd(),
                &mut headers,
                &slices,
                &addresses,
                &control,
                MsgFlags::empty(),
            ) {
                Ok(results) => return Ok(results.count()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Send one datagram to ourselves, to wake a thread blocked in [`Self::recv_batch`].
    pub fn wake(&self) {
        if let Ok(mut to) = self.socket.local_addr() {
            if to.ip().is_unspecified() {
                // IPv4's loopback, mapped for a dual-stack socket: there even where `::1`
                // is not.
                to.set_ip([127, 0, 0, 1].into());
            }
            let _ = self.socket.send_to(&[], addresses::for_socket(to, self.v6));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_on_loopback() {
        let a = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = b.local_addr().unwrap();
        let messages: Vec<Outgoing> = (0..70u8)
            .map(|i| Outgoing {
                to,
                data: vec![i; usize::from(i) + 1],
            })
            .collect();
        assert_eq!(a.send_batch(&messages), 0);
        b.set_wait(Duration::from_secs(2)).unwrap();
        let mut buffers = RecvBuffers::default();
        let mut got = Vec::new();
        while got.len() < messages.len() {
            let n = b.recv_batch(&mut buffers).unwrap();
            assert!(n > 0, "timed out after {} datagrams", got.len());
            for i in 0..n {
                let (from, data) = buffers.datagram(i).unwrap();
                assert_eq!(from, a.local_addr().unwrap());
                got.push(data.to_vec());
            }
        }
        let sent: Vec<Vec<u8>> = messages.into_iter().map(|m| m.data).collect();
        assert_eq!(got, sent);
    }

    fn to(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn sizes(run: &[Sourced<'_>]) -> Vec<usize> {
        run.iter().map(|(m, _)| m.data.len()).collect()
    }

    fn unsourced(batch: &[Outgoing]) -> Vec<Sourced<'_>> {
        batch.iter().map(|m| (m, None)).collect()
    }

    #[test]
    fn runs_are_one_size_per_destination_with_a_shorter_last() {
        let batch: Vec<Outgoing> = [
            (1, 1200),
            (2, 1200),
            (1, 1200),
            (1, 800),
            (1, 1200),
            (2, 1200),
        ]
        .into_iter()
        .chain([(2, 1300), (2, 0), (2, 0)])
        .map(|(port, len)| Outgoing {
            to: to(port),
            data: vec![0; len],
        })
        .collect();
        let runs: Vec<(u16, Vec<usize>)> = segment_runs(&unsourced(&batch))
            .iter()
            .map(|run| (run[0].0.to.port(), sizes(run)))
            .collect();
        assert_eq!(
            runs,
            [
                (1, vec![1200, 1200, 800]),
                (1, vec![1200]),
                (2, vec![1200, 1200]),
                (2, vec![1300]), // longer than the run's size: a new run
                (2, vec![0]),    // empty datagrams are never segmented
                (2, vec![0]),
            ]
        );
    }

    #[test]
    fn runs_stop_at_the_segment_and_byte_limits() {
        let run_lengths = |count: usize, len: usize| -> Vec<usize> {
            let batch: Vec<Outgoing> = (0..count)
                .map(|_| Outgoing {
                    to: to(1),
                    data: vec![0; len],
                })
                .collect();
            segment_runs(&unsourced(&batch))
                .iter()
                .map(Vec::len)
                .collect()
        };
        assert_eq!(
            run_lengths(70, 100),
            [GSO_MAX_SEGMENTS, 70 - GSO_MAX_SEGMENTS]
        );
        let per_run = GSO_MAX_BYTES / 2000;
        assert_eq!(run_lengths(40, 2000), [per_run, 40 - per_run]);
    }

    #[test]
    fn segmented_sends_arrive_as_the_datagrams_in_order() {
        let a = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let receivers: Vec<MediaUdpSocket> = (0..3)
            .map(|_| MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap())
            .collect();
        // A frame to each of three receivers, interleaved as a fan-out makes it, with a
        // shorter last packet and a lone one of another size.
        let messages: Vec<Outgoing> = (0..60u8)
            .map(|i| {
                let len = match i / 3 {
                    9 | 19 => 700,
                    12 => 1300,
                    _ => 1200,
                };
                Outgoing {
                    to: receivers[usize::from(i % 3)].local_addr().unwrap(),
                    data: vec![i; len],
                }
            })
            .collect();
        assert_eq!(a.send_batch(&messages), 0);
        assert!(a.segmented_sends() >= 3, "no segmented send happened");
        let mut buffers = RecvBuffers::default();
        for (r, receiver) in receivers.iter().enumerate() {
            receiver.set_wait(Duration::from_secs(2)).unwrap();
            let mut got = Vec::new();
            while got.len() < 20 {
                let n = receiver.recv_batch(&mut buffers).unwrap();
                assert!(
                    n > 0,
                    "receiver {r} timed out after {} datagrams",
                    got.len()
                );
                got.extend((0..n).map(|i| buffers.datagram(i).unwrap().1.to_vec()));
            }
            let sent: Vec<Vec<u8>> = messages
                .iter()
                .filter(|m| m.to == receiver.local_addr().unwrap())
                .map(|m| m.data.clone())
                .collect();
            assert_eq!(got, sent, "receiver {r}");
        }
    }

    #[test]
    fn without_segmentation_every_datagram_goes_on_its_own() {
        let a = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        a.set_segmentation(false);
        let messages: Vec<Outgoing> = (0..10u8)
            .map(|i| Outgoing {
                to: b.local_addr().unwrap(),
                data: vec![i; 1200],
            })
            .collect();
        assert_eq!(a.send_batch(&messages), 0);
        assert_eq!(a.segmented_sends(), 0);
        b.set_wait(Duration::from_secs(2)).unwrap();
        let mut buffers = RecvBuffers::default();
        let mut got = 0;
        while got < messages.len() {
            let n = b.recv_batch(&mut buffers).unwrap();
            assert!(n > 0);
            got += n;
        }
    }

    #[test]
    fn a_timeout_is_an_empty_batch() {
        let a = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        a.set_wait(Duration::from_millis(5)).unwrap();
        let mut buffers = RecvBuffers::default();
        assert_eq!(a.recv_batch(&mut buffers).unwrap(), 0);
        a.wake();
        a.set_wait(Duration::from_secs(2)).unwrap();
        assert_eq!(a.recv_batch(&mut buffers).unwrap(), 1);
        assert_eq!(buffers.datagram(0).unwrap().1, b"");
    }

    /// Every datagram `socket` receives within two seconds until `count`: (source, data).
    fn receive(socket: &UdpSocket, count: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut buffer = [0u8; MAX_DATAGRAM];
        (0..count)
            .map(|_| {
                let (n, from) = socket.recv_from(&mut buffer).expect("a reply");
                (from, buffer[..n].to_vec())
            })
            .collect()
    }

    /// The media socket bound to `wildcard` gets a datagram from `client` sent to
    /// `server_ip`, and answers it (as a STUN response) and sends a run of media (as a
    /// fan-out would); both must come from `server_ip`.
    fn replies_come_from(wildcard: &str, client: &str, server_ip: &str) {
        let media = MediaUdpSocket::bind(wildcard.parse().unwrap()).unwrap();
        assert!(media.pins_replies());
        let port = media.local_addr().unwrap().port();
        let client = UdpSocket::bind(SocketAddr::new(client.parse().unwrap(), 0)).unwrap();
        let server = SocketAddr::new(server_ip.parse().unwrap(), port);
        client.send_to(b"check", server).unwrap();
        media.set_wait(Duration::from_secs(2)).unwrap();
        let mut buffers = RecvBuffers::default();
        assert_eq!(media.recv_batch(&mut buffers).unwrap(), 1);
        let (from, data) = buffers.datagram(0).unwrap();
        assert_eq!((from, data), (client.local_addr().unwrap(), &b"check"[..]));
        assert_eq!(buffers.destination(0), Some(server.ip()));
        let reply = [Outgoing {
            to: from,
            data: b"response".to_vec(),
        }];
        assert_eq!(media.send_batch_from(&reply, &[buffers.destination(0)]), 0);
        let run: Vec<Outgoing> = (0..5u8)
            .map(|i| Outgoing {
                to: from,
                data: vec![i; 1000],
            })
            .collect();
        assert_eq!(media.send_batch(&run), 0); // from the table: where the peer wrote
        for (source, _) in receive(&client, 6) {
            assert_eq!(source, server, "a reply left from another address");
        }
    }

    #[test]
    fn replies_leave_from_the_ipv4_address_the_peer_wrote_to() {
        // 127.0.0.1 is what the kernel would pick for a peer on 127.0.0.2.
        replies_come_from("0.0.0.0:0", "127.0.0.2", "127.0.0.3");
    }

    #[test]
    fn a_dual_stack_socket_pins_replies_for_ipv4_and_ipv6() {
        replies_come_from("[::]:0", "127.0.0.2", "127.0.0.3");
        replies_come_from("[::]:0", "::1", "::1");
    }

    #[test]
    fn segmented_sends_leave_from_their_source_too() {
        let media = MediaUdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
        let port = media.local_addr().unwrap().port();
        let client = UdpSocket::bind("127.0.0.2:0").unwrap();
        let to = client.local_addr().unwrap();
        let run: Vec<Outgoing> = (0..8u8)
            .map(|i| Outgoing {
                to,
                data: vec![i; 1200],
            })
            .collect();
        let from: IpAddr = "127.0.0.4".parse().unwrap();
        assert_eq!(media.send_batch_from(&run, &[Some(from); 8]), 0);
        assert!(media.segmented_sends() >= 1);
        let got = receive(&client, 8);
        assert!(got
            .iter()
            .all(|(source, _)| *source == SocketAddr::new(from, port)));
        let sent: Vec<Vec<u8>> = run.into_iter().map(|m| m.data).collect();
        assert_eq!(got.into_iter().map(|(_, d)| d).collect::<Vec<_>>(), sent);
    }

    #[test]
    fn a_socket_bound_to_one_address_does_not_ask() {
        let media = MediaUdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(!media.pins_replies());
        media.wake();
        media.set_wait(Duration::from_secs(2)).unwrap();
        let mut buffers = RecvBuffers::default();
        assert_eq!(media.recv_batch(&mut buffers).unwrap(), 1);
        assert_eq!(buffers.destination(0), None);
    }
}
