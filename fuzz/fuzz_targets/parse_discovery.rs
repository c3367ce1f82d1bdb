//! Discovery parsing (and the issuer match): never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = reauth::__fuzz::parse_discovery(data);
});
