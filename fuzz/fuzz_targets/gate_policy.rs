//! The gate's policy file and original-request paths: never a panic, and
//! a parsed policy decides any path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reauth::gate::{Original, Policy};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is a request path; the rest, a policy file.
    let (uri, file) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(policy) = Policy::parse(file) {
        let _ = policy.decide(&Original {
            method: Some("GET".into()),
            host: Some("a.example".into()),
            uri: Some(uri.to_owned()),
            method_override: false,
        });
    }
    let _ = Policy::parse(&text);
});
