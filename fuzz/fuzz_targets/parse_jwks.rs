//! JWKS parsing: any bytes give a key set or a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = reauth::__fuzz::parse_jwks(data);
});
