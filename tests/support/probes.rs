//! The path-confusion probes shared by `tests/gate_properties.rs` (the
//! library's decision) and `tests/front_probes.rs` (the same probes sent
//! over HTTP to `reauth serve --upstream`): the policies they run against
//! and the ways they disguise a path.
#![allow(dead_code)]

use proptest::prelude::*;
use reauth::gate::{Decision, Original, Policy};

pub const POLICY: &str = r#"
[[route]]
name = "public"
path = "/pub/**"
public = true

[[route]]
name = "one"
path = "/a/*/c"

[[route]]
name = "deep"
path = "/a/**"

[[route]]
name = "exact"
path = "/b"
"#;

/// The library's choice for a GET of `uri`: a route's name, `none` or
/// `refused`.
pub fn decide(p: &Policy, uri: &str) -> String {
    let o = Original {
        method: Some("GET".into()),
        host: None,
        uri: Some(uri.into()),
        method_override: false,
    };
    match p.decide(&o) {
        Decision::Route(r) => r.name().to_owned(),
        Decision::NoRoute => "none".into(),
        Decision::Refused(_) => "refused".into(),
        other => panic!("{other:?}"),
    }
}

pub fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("c".to_owned()),
        Just("pub".to_owned()),
        "[a-z0-9]{1,6}",
    ]
}

/// One way to write a segment that every server reads the same.
fn disguise(seg: &str, how: u8) -> String {
    match how % 4 {
        0 => seg.to_owned(),
        1 => seg.to_ascii_uppercase(),
        2 => seg.bytes().map(|b| format!("%{b:02X}")).collect::<String>(),
        _ => format!("{seg}/x/.."),
    }
}

/// A segment of a path that tries to climb out of `/pub/` (dot segments,
/// encoded once or twice, `;`, a backslash) or that holds an encoded `?`
/// or `#` (issue 23 item 9), among plain ones.
pub fn escape_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("..%2f".to_owned()),
        Just("..;".to_owned()),
        Just("%252e%252e".to_owned()),
        Just("..\\".to_owned()),
        Just("..%252f".to_owned()),
        Just("..%255c".to_owned()),
        Just("a.json".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("..%3F".to_owned()),
        Just("%3f..".to_owned()),
        Just("..%23".to_owned()),
        Just("..%253F".to_owned()),
        Just("%2523".to_owned()),
        Just("a%3Fb".to_owned()),
    ]
}

/// A policy that chooses routes by method.
pub const BY_METHOD: &str = r#"
[[route]]
name = "writes"
methods = ["POST", "PUT", "DELETE"]
path = "/pub/**"

[[route]]
name = "public"
path = "/pub/**"
public = true
"#;

/// `_method` written as some framework still reads it.
pub fn method_param() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((any::<bool>(), 0u8..3), 7),
        prop_oneof![Just(""), Just("[]"), Just("[x]")],
        prop_oneof![Just(""), Just(" "), Just("+"), Just("%20")],
        any::<bool>(),
    )
        .prop_map(|(letters, array, lead, dot)| {
            let mut out = lead.to_owned();
            for (i, c) in "_method".chars().enumerate() {
                let (upper, how) = letters[i];
                // PHP reads a leading `.` as `_`.
                let c = if i == 0 && dot { '.' } else { c };
                let c = if upper { c.to_ascii_uppercase() } else { c };
                match how {
                    0 => out.push(c),
                    1 => out.push_str(&format!("%{:02X}", c as u32)),
                    _ => out.push_str(&format!("%25{:02x}", c as u32)),
                }
            }
            out + array
        })
}

/// A path of [`segment`]s, plain, and the same path disguised: each segment
/// written one of [`disguise`]'s ways, slashes maybe doubled, maybe a
/// trailing slash.
pub fn path_and_disguise() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(segment(), 0..6),
        prop::collection::vec(any::<u8>(), 6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(segs, hows, doubled, trailing)| {
            let plain = format!("/{}", segs.join("/"));
            let sep = if doubled { "//" } else { "/" };
            let mut disguised = String::new();
            for (s, how) in segs.iter().zip(&hows) {
                disguised.push_str(sep);
                disguised.push_str(&disguise(s, *how));
            }
            if disguised.is_empty() || trailing {
                disguised.push('/');
            }
            (plain, disguised)
        })
}

/// A path with an encoded `?` or `#` (once or twice, either case, alone
/// or inside a name) somewhere among [`segment`]s (issue 23 item 9).
pub fn with_encoded_delimiter() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(), 0..4),
        prop::collection::vec(segment(), 0..4),
        "[a-z.]{0,3}",
        "[a-z.]{0,3}",
        prop_oneof![Just("3F"), Just("3f"), Just("23")],
        any::<bool>(),
    )
        .prop_map(|(before, after, head, tail, delimiter, twice)| {
            let enc = if twice {
                format!("%25{delimiter}")
            } else {
                format!("%{delimiter}")
            };
            let mut segs = before;
            segs.push(format!("{head}{enc}{tail}"));
            segs.extend(after);
            format!("/{}", segs.join("/"))
        })
}
