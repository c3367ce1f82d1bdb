//! Property tests for the gate's parsers: policy files and original
//! request paths. Arbitrary input never panics; a path and its disguises
//! (doubled slashes, dot segments, case, percent-encoded letters) always
//! choose the same route or are refused, never a different route.

use proptest::prelude::*;
use reauth::gate::{Decision, Original, PathLimits, Policy, path};

const POLICY: &str = r#"
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

fn decide(p: &Policy, uri: &str) -> String {
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

fn segment() -> impl Strategy<Value = String> {
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn policy_files_never_panic(text in "\\PC{0,400}") {
        let _ = Policy::parse(&text);
    }

    #[test]
    fn policy_like_files_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                Just("[[route]]".to_owned()),
                Just("[defaults]".to_owned()),
                Just("[limits]".to_owned()),
                "(name|path|methods|hosts|max_age|public|amr|acr_values|unmatched|max_segments) = (\"[/*a-z%.]{0,8}\"|[0-9]{1,3}|true|\\[\"[A-Za-z*.]{0,6}\"\\])",
            ],
            0..20,
        )
    ) {
        match Policy::parse(&lines.join("\n")) {
            Ok(p) => prop_assert!(p.routes().len() <= lines.len()),
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(e.line >= 1 && e.line <= lines.len().max(1) + 1 && e.column >= 1);
                }
            }
        }
    }

    #[test]
    fn paths_never_panic_and_readings_are_bounded(uri in "/[ -~]{0,200}") {
        if let Ok(readings) = path::readings(&uri, PathLimits::default()) {
            prop_assert!(!readings.is_empty() && readings.len() <= 32);
        }
        let p = Policy::parse(POLICY).unwrap();
        let _ = decide(&p, &uri);
    }

    #[test]
    fn disguises_never_change_the_route(
        segs in prop::collection::vec(segment(), 0..6),
        hows in prop::collection::vec(any::<u8>(), 6),
        doubled in any::<bool>(),
        trailing in any::<bool>(),
    ) {
        let p = Policy::parse(POLICY).unwrap();
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
        prop_assert_eq!(decide(&p, &plain), decide(&p, &disguised), "{} vs {}", plain, disguised);
    }

    #[test]
    fn an_escape_never_reaches_the_public_route_unless_every_reading_does(
        tail in prop::collection::vec(prop_oneof![
            Just("..".to_owned()), Just("%2e%2e".to_owned()), Just("..%2f".to_owned()),
            Just("..;".to_owned()), Just("%252e%252e".to_owned()), Just("..\\".to_owned()),
            Just("..%252f".to_owned()), Just("..%255c".to_owned()), Just("a.json".to_owned()),
            Just("a".to_owned()), Just("b".to_owned()),
        ], 1..5),
    ) {
        let p = Policy::parse(POLICY).unwrap();
        let uri = format!("/pub/{}", tail.join("/"));
        if decide(&p, &uri) == "public" {
            for reading in path::readings(&uri, PathLimits::default()).unwrap() {
                prop_assert_eq!(reading.first().map(String::as_str), Some("pub"), "{}", uri);
            }
        }
    }
}
