//! The web port (443, or whatever HTTPS uses) shared with media: the data plane owns
//! its listening sockets, sorts each accepted connection by its first bytes
//! (`first_bytes.rs`, peeked with `MSG_PEEK` so nothing is consumed) and keeps the
//! ICE-TCP ones, whose frames then flow like the TCP twin's; TLS and plain HTTP
//! connections go to Python as they are, a file descriptor and the peer's address, for
//! Tornado (through the same admission and limits as its own accepts).
//!
//! Why Rust owns the socket rather than Python passing ICE-TCP connections down: the
//! crate forbids `unsafe`, and taking ownership of a descriptor number that came from
//! Python needs it (`OwnedFd::from_raw_fd`), while giving one away does not
//! (`IntoRawFd`). ICE-TCP media never enters Python either way; a web connection costs
//! Python nothing more than its own accept would (one event, then Tornado as usual),
//! and the peer address comes from `accept`, so the security log and the per-address
//! limits see the real client.
//!
//! A connection that sends nothing for [`SORT_TIMEOUT`] (a browser's preconnect, say)
//! goes to the web server, whose header deadline then applies; one that sends neither
//! (garbage) is reset and counted; at most [`MAX_SORTING`] wait to be sorted, newer ones
//! go straight to the web server.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::addresses;
use super::first_bytes::{self, Kind, DECIDING_BYTES};

/// How long a connection may stay silent before it goes to the web server unsorted.
pub const SORT_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections waiting to be sorted at once.
pub const MAX_SORTING: usize = 1024;
/// How soon a connection that sent part of its deciding bytes is looked at again (ms).
pub const PARTIAL_RETRY_MS: u16 = 10;
/// How long accepting pauses after it failed other than for want of connections (out
/// of descriptors, say), so a listener that stays readable is not spun on.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listening TCP socket on `address`, as Tornado makes them: address reuse, and IPv6
/// only for an IPv6 address (so `::` and `0.0.0.0` can both be bound).
///
/// # Errors
/// The address is taken or not the machine's.
pub fn listen_on(address: SocketAddr) -> io::Result<TcpListener> {
    addresses::tcp_listener(address, false)
}

/// The shared port's listening sockets, the web connections waiting for Python, and
/// the counts of how connections were sorted.
pub struct WebPort {
    pub listeners: Vec<TcpListener>,
    handed: Mutex<Vec<(TcpStream, SocketAddr)>>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl WebPort {
    /// Listen on `port` of every address in `ips` (port 0: an ephemeral number, then the
    /// same for every address).
    ///
    /// # Errors
    /// An address cannot be bound.
    pub fn bind(ips: &[IpAddr], mut port: u16) -> io::Result<Self> {
        let mut listeners = Vec::with_capacity(ips.len());
        for ip in ips {
            let listener = listen_on(SocketAddr::new(*ip, port))?;
            port = listener.local_addr()?.port();
            listeners.push(listener);
        }
        Ok(Self {
            listeners,
            handed: Mutex::new(Vec::new()),
            counts: Mutex::new(BTreeMap::new()),
        })
    }

    /// Where it listens.
    #[must_use]
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The web connections sorted since the last call, for the web server.
    pub fn take_handed(&self) -> Vec<(TcpStream, SocketAddr)> {
        std::mem::take(&mut *self.handed.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How connections were sorted: `accepted`, `ice_tcp`, `web`, `web_unsorted`
    /// (silent, or too many waiting), `garbage`, `closed_unsorted`.
    #[must_use]
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn count(&self, what: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(what)
            .or_default() += 1;
    }

    fn hand(&self, stream: TcpStream, remote: SocketAddr, why: &'static str) {
        self.count(why);
        self.handed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((stream, remote));
    }
}

struct Unsorted {
    stream: TcpStream,
    remote: SocketAddr,
    since: Instant,
    /// Part of the deciding bytes came: look again soon rather than on readability.
    partial: bool,
}

/// What a round of sorting decided.
#[derive(Default)]
pub struct Sorted {
    /// ICE-TCP connections for the media side, their first frame still unread.
    pub ice: Vec<(TcpStream, SocketAddr)>,
    /// Garbage, to reset.
    pub garbage: Vec<TcpStream>,
    /// Whether web connections wait for Python.
    pub handed: bool,
}

/// The TCP thread's connections that wait to be sorted.
#[derive(Default)]
pub struct Sorting {
    unsorted: HashMap<u64, Unsorted>,
    next: u64,
    /// Accepting failed: the listeners are left alone until then.
    paused_until: Option<Instant>,
}

impl Sorting {
    /// The connections to wait for (readable): those that sent nothing yet.
    #[must_use]
    pub fn waiting(&self) -> Vec<(u64, BorrowedFd<'_>)> {
        self.unsorted
            .iter()
            .filter(|(_, u)| !u.partial)
            .map(|(id, u)| (*id, u.stream.as_fd()))
            .collect()
    }

    /// How long the thread may wait at most (ms), if a connection is part-way.
    #[must_use]
    pub fn retry_ms(&self) -> Option<u16> {
        self.unsorted
            .values()
            .any(|u| u.partial)
            .then_some(PARTIAL_RETRY_MS)
    }

    /// Whether to wait for the listeners now (not while accepting is paused).
    #[must_use]
    pub fn listening(&self, now: Instant) -> bool {
        self.paused_until.is_none_or(|t| now >= t)
    }

    /// Accept what waits on the listeners.
    pub fn accept(&mut self, port: &WebPort, now: Instant, sorted: &mut Sorted) {
        for listener in &port.listeners {
            loop {
                let (stream, remote) = match listener.accept() {
                    Ok(accepted) => accepted,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        port.count("accept_failed");
                        self.paused_until = Some(now + ACCEPT_BACKOFF);
                        break;
                    }
                };
                port.count("accepted");
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                if self.unsorted.len() >= MAX_SORTING {
                    port.hand(stream, remote, "web_unsorted");
                    sorted.handed = true;
                    continue;
                }
                self.next += 1;
                let unsorted = Unsorted {
                    stream,
                    remote,
                    since: now,
                    partial: false,
                };
                self.unsorted.insert(self.next, unsorted);
            }
        }
    }

    /// Look at the connections that became readable and those part-way, and hand the
    /// silent ones past [`SORT_TIMEOUT`] to the web server.
    pub fn sort(&mut self, port: &WebPort, readable: &[u64], now: Instant, sorted: &mut Sorted) {
        let mut look: Vec<u64> = readable.to_vec();
        look.extend(
            self.unsorted
                .iter()
                .filter(|(_, u)| u.partial)
                .map(|(id, _)| *id),
        );
        let mut first = [0u8; DECIDING_BYTES];
        for id in look {
            let Some(u) = self.unsorted.get_mut(&id) else {
                continue;
            };
            let kind = match u.stream.peek(&mut first) {
                Ok(0) => None, // closed before it said anything
                Ok(n) => Some(first_bytes::classify(first.get(..n).unwrap_or(&[]))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => None,
            };
            if kind == Some(Kind::NeedMore) {
                u.partial = true;
                continue;
            }
            let Some(u) = self.unsorted.remove(&id) else {
                continue;
            };
            match kind {
                Some(Kind::IceTcp) => {
                    port.count("ice_tcp");
                    sorted.ice.push((u.stream, u.remote));
                }
                Some(Kind::Web) => {
                    port.hand(u.stream, u.remote, "web");
                    sorted.handed = true;
                }
                Some(Kind::Garbage) => {
                    port.count("garbage");
                    sorted.garbage.push(u.stream);
                }
                Some(Kind::NeedMore) | None => port.count("closed_unsorted"),
            }
        }
        let silent: Vec<u64> = self
            .unsorted
            .iter()
            .filter(|(_, u)| now.duration_since(u.since) >= SORT_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        for id in silent {
            if let Some(u) = self.unsorted.remove(&id) {
                port.hand(u.stream, u.remote, "web_unsorted");
                sorted.handed = true;
            }
        }
    }

    /// Connections waiting to be sorted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.unsorted.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.unsorted.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn round(port: &WebPort, sorting: &mut Sorting, now: Instant) -> Sorted {
        let mut sorted = Sorted::default();
        sorting.accept(port, now, &mut sorted);
        let readable: Vec<u64> = sorting.waiting().iter().map(|(id, _)| *id).collect();
        sorting.sort(port, &readable, now, &mut sorted);
        sorted
    }

    /// Rounds until `done` says so (the kernel delivers on loopback within them).
    fn rounds_until(
        port: &WebPort,
        sorting: &mut Sorting,
        now: Instant,
        mut done: impl FnMut(&Sorted) -> bool,
    ) -> Sorted {
        for _ in 0..500 {
            let sorted = round(port, sorting, now);
            if done(&sorted) {
                return sorted;
            }
            std::thread::sleep(Duration::from_millis(2)); // the loopback's delivery
        }
        panic!("nothing sorted");
    }

    /// A web port on loopback, its address, and nothing sorted yet.
    fn listening() -> (WebPort, SocketAddr, Sorting, Instant) {
        let port = WebPort::bind(&["127.0.0.1".parse().unwrap()], 0).unwrap();
        let address = port.local_addrs()[0];
        (port, address, Sorting::default(), Instant::now())
    }

    #[test]
    fn connections_are_sorted_by_their_first_bytes_which_stay_unread() {
        let (port, address, mut sorting, now) = listening();

        let mut web = TcpStream::connect(address).unwrap();
        web.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        rounds_until(&port, &mut sorting, now, |s| s.handed);
        let handed = port.take_handed();
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].1, web.local_addr().unwrap()); // the real peer
        let mut request = [0u8; 18];
        let mut stream = &handed[0].0;
        stream.set_nonblocking(false).unwrap();
        stream.read_exact(&mut request).unwrap();
        assert_eq!(&request, b"GET / HTTP/1.1\r\n\r\n"); // nothing consumed

        let mut ice = TcpStream::connect(address).unwrap();
        ice.write_all(&[0x00, 0x1c, 0x00, 0x01, 0x00, 0x08])
            .unwrap();
        ice.write_all(&[0x21, 0x12, 0xA4, 0x42]).unwrap();
        let sorted = rounds_until(&port, &mut sorting, now, |s| !s.ice.is_empty());
        assert_eq!(sorted.ice[0].1, ice.local_addr().unwrap());

        let mut garbage = TcpStream::connect(address).unwrap();
        garbage.write_all(b"\x00\x01hello").unwrap();
        rounds_until(&port, &mut sorting, now, |s| !s.garbage.is_empty());

        let counts = port.counts();
        assert_eq!(counts.get("accepted"), Some(&3));
        assert_eq!(counts.get("web"), Some(&1));
        assert_eq!(counts.get("ice_tcp"), Some(&1));
        assert_eq!(counts.get("garbage"), Some(&1));
        assert!(sorting.is_empty());
    }

    #[test]
    fn a_silent_connection_goes_to_the_web_server_after_the_timeout() {
        let (port, address, mut sorting, now) = listening();
        let _silent = TcpStream::connect(address).unwrap();
        for _ in 0..500 {
            round(&port, &mut sorting, now);
            if sorting.len() == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2)); // the loopback's delivery
        }
        assert_eq!(sorting.len(), 1);
        assert!(!round(&port, &mut sorting, now + SORT_TIMEOUT / 2).handed);
        assert!(round(&port, &mut sorting, now + SORT_TIMEOUT).handed);
        assert_eq!(port.counts().get("web_unsorted"), Some(&1));
        assert!(sorting.is_empty());
    }

    #[test]
    fn ipv4_and_ipv6_wildcards_share_a_port_number() {
        let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let Ok(port) = WebPort::bind(&ips, 0) else {
            return; // no IPv6 loopback here
        };
        let addrs = port.local_addrs();
        assert_eq!(addrs.len(), 2);
        assert_eq!(addrs[0].port(), addrs[1].port());
    }
}
