//! Where a transport's packets come from and go to: a UDP address on the media port, or
//! one accepted ICE-TCP connection (RFC 6544), numbered by the I/O adapter. ICE-lite
//! validates and nominates paths; the endpoint sends each packet down its transport's.

use std::net::SocketAddr;

/// An accepted TCP connection, numbered by the I/O adapter from 1.
pub type ConnId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    Udp(SocketAddr),
    /// A connection and its peer's address (for XOR-MAPPED-ADDRESS and the events).
    Tcp(ConnId, SocketAddr),
}

impl Path {
    /// The peer's address.
    #[must_use]
    pub const fn address(self) -> SocketAddr {
        match self {
            Self::Udp(a) | Self::Tcp(_, a) => a,
        }
    }

    /// `"udp"` or `"tcp"`, for the stats.
    #[must_use]
    pub const fn protocol(self) -> &'static str {
        match self {
            Self::Udp(_) => "udp",
            Self::Tcp(..) => "tcp",
        }
    }
}

impl From<SocketAddr> for Path {
    fn from(address: SocketAddr) -> Self {
        Self::Udp(address)
    }
}
