//! Shared Signals parsing: a SET's payload (claims, the one event, its
//! subject) and a transmitter's configuration. Never a panic; an accepted
//! SET keeps the receiver's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    reauth::__fuzz::security_event(data);
});
