//! The media port's addresses: its sockets bound dual-stack on `::` (IPv4 peers then
//! appear as IPv4-mapped IPv6 addresses, `::ffff:a.b.c.d`, which this module turns back
//! into IPv4 on the way in and into mapped ones on the way out, so the endpoint, STUN's
//! XOR-MAPPED-ADDRESS and Python only ever see an IPv4 peer as IPv4), and a fallback to
//! `0.0.0.0` where the machine has no IPv6 at all.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

const BACKLOG: i32 = 1024;

/// An IPv4-mapped IPv6 address as the IPv4 address it is; any other as it is.
#[must_use]
pub fn canonical(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => address,
        },
        SocketAddr::V4(_) => address,
    }
}

/// `address` as a socket of the other family takes it: an IPv4 address mapped for an
/// IPv6 socket (dual-stack); others unchanged.
#[must_use]
pub fn for_socket(address: SocketAddr, v6_socket: bool) -> SocketAddr {
    match address {
        SocketAddr::V4(v4) if v6_socket => {
            SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
        }
        _ => address,
    }
}

/// Whether `address` is `::`: bound dual-stack, it takes IPv4 and IPv6 alike.
#[must_use]
pub fn dual_stack(address: SocketAddr) -> bool {
    matches!(address, SocketAddr::V6(v6) if v6.ip().is_unspecified())
}

/// `0.0.0.0` on `address`'s port, for a `::` the machine cannot bind (no IPv6).
fn ipv4_wildcard(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), address.port())
}

fn no_ipv6(error: Errno) -> bool {
    matches!(error, Errno::EAFNOSUPPORT | Errno::EADDRNOTAVAIL)
}

/// A socket of `kind` bound to `address`: an IPv6 one takes IPv4 too unless `v6_only`,
/// and TCP reuses addresses (as Tornado's and std's listeners do).
fn bound(address: SocketAddr, kind: SockType, v6_only: bool) -> Result<OwnedFd, Errno> {
    let family = if address.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, kind, SockFlag::SOCK_CLOEXEC, None)?;
    if kind == SockType::Stream {
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    if address.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &v6_only)?;
    }
    bind(fd.as_raw_fd(), &SockaddrStorage::from(address))?;
    Ok(fd)
}

/// The media UDP socket on `address`; `::` is dual-stack, or `0.0.0.0` without IPv6.
///
/// # Errors
/// The address is taken or not the machine's.
pub fn udp_socket(address: SocketAddr) -> io::Result<UdpSocket> {
    match bound(address, SockType::Datagram, !dual_stack(address)) {
        Ok(fd) => Ok(UdpSocket::from(fd)),
        Err(e) if dual_stack(address) && no_ipv6(e) => Ok(UdpSocket::bind(ipv4_wildcard(address))?),
        Err(e) => Err(e.into()),
    }
}

/// A non-blocking listening TCP socket on `address`: with `dual`, `::` takes IPv4 too
/// (the media port's TCP twin); without, an IPv6 address takes IPv6 only (the web port,
/// as Tornado binds it, so `::` and `0.0.0.0` can both be bound).
///
/// # Errors
/// The address is taken or not the machine's.
pub fn tcp_listener(address: SocketAddr, dual: bool) -> io::Result<TcpListener> {
    let fd = bound(address, SockType::Stream, !dual)?;
    listen(&fd, Backlog::new(BACKLOG)?)?;
    let listener = TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_become_ipv4_and_back() {
        let v4: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:192.0.2.7]:5000".parse().unwrap();
        assert_eq!(canonical(mapped), v4);
        assert_eq!(canonical(v4), v4);
        assert_eq!(for_socket(v4, true), mapped);
        assert_eq!(for_socket(v4, false), v4);
        let v6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        assert_eq!(canonical(v6), v6);
        assert_eq!(for_socket(v6, true), v6);
    }

    #[test]
    fn a_dual_stack_udp_socket_takes_ipv4_and_ipv6() {
        let socket = udp_socket("[::]:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        for client in ["127.0.0.1", "::1"] {
            let ip: IpAddr = client.parse().unwrap();
            let peer = UdpSocket::bind(SocketAddr::new(ip, 0)).unwrap();
            peer.send_to(b"hi", SocketAddr::new(ip, port)).unwrap();
            let mut buffer = [0u8; 8];
            socket
                .set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .unwrap();
            let (n, from) = socket.recv_from(&mut buffer).unwrap();
            assert_eq!(
                (&buffer[..n], canonical(from)),
                (&b"hi"[..], peer.local_addr().unwrap())
            );
        }
    }

    #[test]
    fn the_web_port_binds_ipv4_and_ipv6_wildcards_side_by_side() {
        let v4 = tcp_listener("0.0.0.0:0".parse().unwrap(), false).unwrap();
        let port = v4.local_addr().unwrap().port();
        let v6 = tcp_listener(SocketAddr::new("::".parse().unwrap(), port), false).unwrap();
        assert_eq!(v6.local_addr().unwrap().port(), port);
        // The twin's `::` takes both families, so it conflicts with a `0.0.0.0` on its port.
        let twin = tcp_listener("[::]:0".parse().unwrap(), true).unwrap();
        let taken = SocketAddr::new(
            Ipv4Addr::UNSPECIFIED.into(),
            twin.local_addr().unwrap().port(),
        );
        assert!(tcp_listener(taken, false).is_err());
    }
}
