//! SRTP/SRTCP unprotect never panics on any input, for each profile; and what protects
//! unprotects back to itself.
#![no_main]

use _fastpath::srtp::{Profile, SrtpContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let profile = Profile::ALL[usize::from(selector) % Profile::ALL.len()];
    let key = vec![0x2b; profile.key_len()];
    let salt = vec![0x5c; profile.salt_len()];
    let mut receiver = SrtpContext::new(profile, &key, &salt).expect("valid key lengths");
    let rtcp = selector & 0x80 != 0;

    let mut packet = input.to_vec();
    let _ = if rtcp {
        receiver.unprotect_rtcp(&mut packet)
    } else {
        receiver.unprotect_rtp(&mut packet)
    };

    let mut sender = SrtpContext::new(profile, &key, &salt).expect("valid key lengths");
    let mut packet = input.to_vec();
    let protected = if rtcp {
        sender.protect_rtcp(&mut packet)
    } else {
        sender.protect_rtp(&mut packet)
    };
    if protected.is_ok() {
        let mut receiver = SrtpContext::new(profile, &key, &salt).expect("valid key lengths");
        let back = if rtcp {
            receiver.unprotect_rtcp(&mut packet)
        } else {
            receiver.unprotect_rtp(&mut packet)
        };
        assert_eq!(back, Ok(()));
        assert_eq!(packet, input);
    }
});
