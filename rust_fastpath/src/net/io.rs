//! The media UDP socket with batched system calls: `recvmmsg` (up to [`BATCH`]
//! datagrams per call, waiting for the first only) and `sendmmsg`, through `nix`'s safe
//! wrappers, so this crate stays free of `unsafe`.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    recvmmsg, sendmmsg, setsockopt, sockopt, ControlMessage, MsgFlags, MultiHeaders,
    SockaddrStorage,
};

use super::endpoint::Outgoing;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram: above any WebRTC MTU; longer datagrams are cut (and
/// then fail SRTP authentication, a counted drop).
pub const MAX_DATAGRAM: usize = 2048;

/// Buffers for one `recvmmsg` batch, reused for every call.
pub struct RecvBuffers {
    data: Vec<[u8; MAX_DATAGRAM]>,
    /// (source, length) of each datagram of the last batch.
    pub received: Vec<(SocketAddr, usize)>,
}

impl Default for RecvBuffers {
    fn default() -> Self {
        Self {
            data: vec![[0u8; MAX_DATAGRAM]; BATCH],
            received: Vec::with_capacity(BATCH),
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
}

fn to_std(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

pub struct MediaUdpSocket {
    socket: UdpSocket,
}

impl MediaUdpSocket {
    /// Bind `address` (port 0: an ephemeral port) with roomy kernel buffers.
    pub fn bind(address: SocketAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind(address)?;
        // Bursts of video keyframes arrive faster than one batch; best effort.
        let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
        let _ = setsockopt(&socket, sockopt::SndBuf, &(4 << 20));
        Ok(Self { socket })
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
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
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
        let received: Vec<(Option<SocketAddr>, usize)> = results
            .map(|r| (r.address.as_ref().and_then(to_std), r.bytes))
            .collect();
        // Keep indices aligned with the buffers; a datagram without a source (cannot
        // happen on UDP) gets an unspecified one and is dropped by the endpoint.
        for (from, len) in received {
            let from = from.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
            buffers.received.push((from, len.min(MAX_DATAGRAM)));
        }
        Ok(buffers.received.len())
    }

    /// Send every datagram, [`BATCH`] per system call. A datagram the kernel refuses
    /// (e.g. no route) is skipped; returns how many were skipped.
    pub fn send_batch(&self, messages: &[Outgoing]) -> usize {
        let mut skipped = 0;
        let mut rest = messages;
        while !rest.is_empty() {
            let chunk = &rest[..rest.len().min(BATCH)];
            match self.send_chunk(chunk) {
                Ok(0) | Err(_) => {
                    skipped += 1; // the first one failed: skip it, go on with the others
                    rest = &rest[1..];
                }
                Ok(sent) => rest = &rest[sent.min(rest.len())..],
            }
        }
        skipped
    }

    fn send_chunk(&self, chunk: &[Outgoing]) -> Result<usize, Errno> {
        let addresses: Vec<Option<SockaddrStorage>> = chunk
            .iter()
            .map(|m| Some(SockaddrStorage::from(m.to)))
            .collect();
        let slices: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|m| [IoSlice::new(&m.data)]).collect();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), None);
        let no_cmsgs: [ControlMessage<'_>; 0] = [];
        loop {
            match sendmmsg(
                self.socket.as_raw_fd(),
                &mut headers,
                &slices,
                &addresses,
                no_cmsgs,
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
                to.set_ip(if to.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            let _ = self.socket.send_to(&[], to);
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
}
