//! Replies from the address a datagram arrived on, for a media socket bound to a
//! wildcard (`0.0.0.0` or `::`) on a machine with several addresses. Left to itself the
//! kernel picks a reply's source by its route to the peer, which need not be the address
//! the peer wrote to: a STUN response from another address fails the browser's check
//! (RFC 8445 §7.2.5.2.1, the addresses must be symmetric), and media from it is dropped
//! by a NAT or firewall that only let the other address's flow in.
//!
//! So the socket asks for each datagram's destination (`IP_PKTINFO`, `IPV6_RECVPKTINFO`;
//! on a dual-stack socket IPv4 datagrams come as IPv4-mapped `IPV6_PKTINFO`) and sends
//! with the same control message naming the source. A reply to a datagram of the same
//! batch (a STUN response) leaves from that datagram's own destination; anything else
//! to a peer (media fanned out, DTLS, RTCP) from the address that peer last wrote to,
//! kept in [`ReplyRoutes`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use nix::libc;
use nix::sys::socket::{ControlMessage, ControlMessageOwned};

use super::addresses;

/// Peers remembered per generation: two generations of this many bound the table, and
/// a peer still sending is always in the newer one.
pub const ROUTES_PER_GENERATION: usize = 16_384;

/// Where each peer last wrote to: the source its replies take. Two generations, so that
/// the table stays bounded under a flood of forged sources without a sweep: when the
/// newer fills up it becomes the older and the oldest is forgotten (those peers' replies
/// then go as the kernel routes them until they send again).
#[derive(Debug, Default)]
pub struct ReplyRoutes {
    newer: HashMap<SocketAddr, IpAddr>,
    older: HashMap<SocketAddr, IpAddr>,
}

impl ReplyRoutes {
    /// `peer` wrote to `local`.
    pub fn record(&mut self, peer: SocketAddr, local: IpAddr) {
        if self.newer.get(&peer) == Some(&local) {
            return;
        }
        if self.newer.len() >= ROUTES_PER_GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(peer, local);
    }

    /// The address `peer` last wrote to, if it is remembered.
    #[must_use]
    pub fn source_for(&self, peer: SocketAddr) -> Option<IpAddr> {
        self.newer
            .get(&peer)
            .or_else(|| self.older.get(&peer))
            .copied()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The destination address of a received datagram, from its control messages.
#[must_use]
pub fn destination(message: &ControlMessageOwned) -> Option<IpAddr> {
    match message {
        ControlMessageOwned::Ipv4PacketInfo(info) => {
            Some(IpAddr::V4(u32::from_be(info.ipi_addr.s_addr).into()))
        }
        ControlMessageOwned::Ipv6PacketInfo(info) => {
            let ip = IpAddr::from(info.ipi6_addr.s6_addr);
            Some(addresses::canonical(SocketAddr::new(ip, 0)).ip())
        }
        _ => None,
    }
}

/// The control message that makes a datagram leave from `source`, in the form the
/// socket's family takes (`v6_socket`: IPv6, with an IPv4 source mapped). Its storage
/// is the caller's, as `nix`'s `ControlMessage` borrows it.
pub enum SourceInfo {
    V4(libc::in_pktinfo),
    V6(libc::in6_pktinfo),
}

impl SourceInfo {
    #[must_use]
    pub fn new(source: IpAddr, v6_socket: bool) -> Self {
        let ip = addresses::for_socket(SocketAddr::new(source, 0), v6_socket).ip();
        match ip {
            IpAddr::V6(v6) => Self::V6(libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                ipi6_ifindex: 0,
            }),
            IpAddr::V4(v4) => Self::V4(libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from(v4).to_be(),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            }),
        }
    }

    /// The control buffer a message of this carries takes, exactly: the kernel would
    /// read a longer one's padding as a next (empty, invalid) control message.
    #[must_use]
    pub fn space(&self) -> Vec<u8> {
        match self {
            Self::V4(_) => nix::cmsg_space!(libc::in_pktinfo),
            Self::V6(_) => nix::cmsg_space!(libc::in6_pktinfo),
        }
    }

    #[must_use]
    pub const fn message(&self) -> ControlMessage<'_> {
        match self {
            Self::V4(info) => ControlMessage::Ipv4PacketInfo(info),
            Self::V6(info) => ControlMessage::Ipv6PacketInfo(info),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(i: u32) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(i.into()), 5000)
    }

    #[test]
    fn a_peer_replies_from_where_it_last_wrote() {
        let mut routes = ReplyRoutes::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!(routes.source_for(peer(1)), None);
        routes.record(peer(1), a);
        routes.record(peer(2), a);
        routes.record(peer(1), b);
        assert_eq!(routes.source_for(peer(1)), Some(b));
        assert_eq!(routes.source_for(peer(2)), Some(a));
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_recent_peers() {
        let mut routes = ReplyRoutes::default();
        let local: IpAddr = "10.0.0.1".parse().unwrap();
        routes.record(peer(0), local);
        for i in 1..=(3 * ROUTES_PER_GENERATION as u32) {
            routes.record(peer(i), local);
            if i % 1000 == 0 {
                routes.record(peer(0), local); // a peer still sending
            }
        }
        assert!(routes.len() <= 2 * ROUTES_PER_GENERATION);
        assert_eq!(routes.source_for(peer(0)), Some(local));
        assert_eq!(routes.source_for(peer(1)), None); // forgotten
    }

    #[test]
    fn sources_take_the_socket_family() {
        let v4: IpAddr = "192.0.2.3".parse().unwrap();
        let SourceInfo::V6(info) = SourceInfo::new(v4, true) else {
            panic!("an IPv6 socket sends IPv6 pktinfo");
        };
        assert_eq!(
            IpAddr::from(info.ipi6_addr.s6_addr),
            "::ffff:192.0.2.3".parse::<IpAddr>().unwrap()
        );
        let SourceInfo::V4(info) = SourceInfo::new(v4, false) else {
            panic!("an IPv4 socket sends IPv4 pktinfo");
        };
        assert_eq!(
            u32::from_be(info.ipi_spec_dst.s_addr),
            u32::from(std::net::Ipv4Addr::new(192, 0, 2, 3))
        );
    }
}
