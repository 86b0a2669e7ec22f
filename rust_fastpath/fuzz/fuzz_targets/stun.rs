//! STUN parsing never panics, nor does anything read off a parsed message.
#![no_main]

use _fastpath::net::stun::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        let _ = message.username();
        let _ = message.priority();
        let _ = message.mapped_address();
        let _ = message.integrity_ok(b"fuzzing-password-of-22");
        for kind in [0x0006, 0x0008, 0x0020, 0x0025, 0x8028, 0x802a, 0x8029] {
            let _ = message.attribute(kind);
            let _ = message.has(kind);
        }
    }
});
