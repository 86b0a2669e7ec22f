//! The media port's sans-IO endpoint (demultiplexing, STUN/ICE-lite, SRTP, relay) never
//! panics on any datagram, from a known or an unknown address, before or after keys, nor
//! on any byte stream of an ICE-TCP connection.
#![no_main]

use std::net::SocketAddr;

use _fastpath::net::endpoint::Endpoint;
use _fastpath::net::new_router;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, datagram)) = data.split_first() else {
        return;
    };
    let mut endpoint = Endpoint::new(new_router);
    let transport = endpoint
        .add_transport(1, 1, "srvufrag", "server-password-0123456789")
        .expect("a fresh endpoint takes a transport");
    let mut out = Vec::new();
    if selector & 1 == 1 {
        let (key, salt) = ([1u8; 16], [2u8; 12]);
        let profile = "AEAD_AES_128_GCM";
        let _ = endpoint.set_srtp(transport, profile, &key, &salt, &key, &salt, 0.0, &mut out);
    }
    let from: SocketAddr = if selector & 2 == 2 {
        "192.0.2.7:50000".parse().expect("address")
    } else {
        "[2001:db8::7]:50000".parse().expect("address")
    };
    if selector & 4 == 4 {
        // The same bytes as an ICE-TCP stream (RFC 4571 frames) on an accepted connection.
        if endpoint.tcp_open(1, from, 0.0) {
            endpoint.tcp_data(1, datagram, 1.0, &mut out);
            let mut wire = Vec::new();
            let (dirty, closing) = endpoint.take_tcp_work();
            for conn in dirty {
                let _ = endpoint.tcp_flush(conn, &mut wire, 1.0);
            }
            for conn in closing {
                endpoint.tcp_closed(conn);
            }
        }
    } else {
        endpoint.handle_datagram(from, datagram, 1.0, &mut out);
    }
    endpoint.handle_timeout(100.0, &mut out);
    let _ = endpoint.take_events();
    let _ = endpoint.stats();
});
