//! The media port: one UDP socket for every session, and its TCP twin on the same port
//! number for ICE-TCP, owned by Rust.
//!
//! | module         | what                                                         |
//! |----------------|--------------------------------------------------------------|
//! | `addresses`    | dual-stack binding, IPv4-mapped addresses in and out         |
//! | `demux`        | RFC 7983 first-byte demultiplexing                           |
//! | `stun`         | STUN parse/build, MESSAGE-INTEGRITY, FINGERPRINT             |
//! | `framing`      | RFC 4571 length-prefixed frames, for ICE-TCP                 |
//! | `path`         | a transport's way: a UDP address or an ICE-TCP connection    |
//! | `tcp_link`     | ICE-TCP connections: decoder, fair send queue, close rules   |
//! | `ice_lite`     | one transport's ICE-lite agent (checks, nomination, consent) |
//! | `router`       | the relay API the endpoint drives (`PacketRouter`)           |
//! | `relay_router` | the Rust relay as the endpoint's router                      |
//! | `endpoint`     | sans-IO core: demux, ICE, SRTP, routing, counters, events    |
//! | `io`           | the UDP socket, `recvmmsg`/`sendmmsg` batches                |
//! | `pktinfo`      | replies from the address a datagram arrived on               |
//! | `driver`       | the thread that runs the endpoint on the socket              |
//! | `tcp_io`       | the TCP twin: passive ICE-TCP connections, their thread      |
//! | `first_bytes`  | a shared web port's connections: ICE-TCP, TLS/HTTP, garbage  |
//! | `web_port`     | the web port shared with media: listeners, sorting, hand-off |

pub mod addresses;
pub mod demux;
pub mod driver;
pub mod endpoint;
pub mod first_bytes;
pub mod framing;
pub mod ice_lite;
pub mod io;
pub mod path;
pub mod pktinfo;
pub mod relay_router;
pub mod router;
pub mod stun;
pub mod tcp_io;
pub mod tcp_link;
pub mod web_port;

/// The router each new session gets, shared by the media port and the benches: the
/// Rust relay.
#[must_use]
pub fn new_router() -> Box<dyn router::PacketRouter> {
    Box::new(relay_router::new_relay())
}
