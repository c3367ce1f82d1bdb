//! The gate's policy file and original-request paths: never a panic, and
//! a parsed policy decides any path (with its query, where a `_method`
//! may hide).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reauth::TokenKind;
use reauth::gate::{Original, Policy};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is a request path and query; the rest, a policy file.
    let (uri, file) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(policy) = Policy::parse(file) {
        for method in ["GET", "POST"] {
            let _ = policy.decide(&Original {
                method: Some(method.into()),
                host: Some("a.example".into()),
                uri: Some(uri.to_owned()),
                method_override: false,
            });
        }
        // The same file for a gate of ID tokens: the same, or refused for
        // its scopes.
        let _ = Policy::parse_for(file, TokenKind::IdToken);
    }
    let _ = Policy::parse(&text);
});
