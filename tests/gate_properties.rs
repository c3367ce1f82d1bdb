//! Property tests for the gate's parsers: policy files and original
//! request paths. Arbitrary input never panics; a path and its disguises
//! (doubled slashes, dot segments, case, percent-encoded letters) always
//! choose the same route or are refused, never a different route.

use proptest::prelude::*;
use reauth::gate::{Decision, Original, PathError, PathLimits, Policy, Refusal, path};

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
            // An encoded `?` or `#` (issue 23 item 9), once or twice.
            Just("..%3F".to_owned()), Just("%3f..".to_owned()), Just("..%23".to_owned()),
            Just("..%253F".to_owned()), Just("%2523".to_owned()), Just("a%3Fb".to_owned()),
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

    /// Issue 23 item 9: wherever an encoded `?` or `#` is (once or twice,
    /// either case, alone or inside a name), the path is refused, never
    /// matched as a segment that holds it or as a path that ends there.
    #[test]
    fn an_encoded_query_or_fragment_delimiter_is_always_refused(
        before in prop::collection::vec(segment(), 0..4),
        after in prop::collection::vec(segment(), 0..4),
        head in "[a-z.]{0,3}",
        tail in "[a-z.]{0,3}",
        delimiter in prop_oneof![Just("3F"), Just("3f"), Just("23")],
        twice in any::<bool>(),
    ) {
        let p = Policy::parse(POLICY).unwrap();
        let enc = if twice { format!("%25{delimiter}") } else { format!("%{delimiter}") };
        let mut segs = before.clone();
        segs.push(format!("{head}{enc}{tail}"));
        segs.extend(after.iter().cloned());
        let uri = format!("/{}", segs.join("/"));
        prop_assert_eq!(
            path::readings(&uri, PathLimits::default()),
            Err(PathError::EncodedDelimiter),
            "{}", &uri
        );
        prop_assert_eq!(decide(&p, &uri), "refused", "{}", &uri);
    }

    /// Issue 23 item 8: `_method` in the query, however it is written
    /// (case, percent-encoding once or twice, PHP's name forms), is
    /// refused where routes are chosen by method; other parameters never
    /// change the route.
    #[test]
    fn a_method_override_parameter_is_refused_however_written(
        name in method_param(),
        others in prop::collection::vec("[a-z][a-z0-9]{0,7}=[a-z0-9%]{0,6}", 0..3),
        at in any::<prop::sample::Index>(),
        sep in prop_oneof![Just("&"), Just(";")],
        value in "[A-Z]{0,7}",
    ) {
        let p = Policy::parse(BY_METHOD).unwrap();
        let mut params = others.clone();
        params.insert(at.index(others.len() + 1), format!("{name}={value}"));
        let uri = format!("/pub/x?{}", params.join(sep));
        let o = Original {
            method: Some("GET".into()),
            host: None,
            uri: Some(uri.clone()),
            method_override: false,
        };
        prop_assert_eq!(p.decide(&o), Decision::Refused(Refusal::MethodOverride), "{}", &uri);
        if !others.is_empty() {
            let uri = format!("/pub/x?{}", others.join(sep));
            prop_assert_eq!(decide(&p, &uri), "public", "{}", &uri);
        }
    }

    /// The `/admin/*` trap: in any file that parses, a request just beside
    /// a one-segment route that demands a recent login (its bare prefix,
    /// or a path deeper than it) never reaches a route that demands less,
    /// unless that route was written for those paths (it starts with the
    /// same segments and does not match the one-segment route's own).
    #[test]
    fn beside_a_one_segment_route_nothing_weaker_answers_by_accident(
        routes in prop::collection::vec(
            (
                prop_oneof![
                    Just("/a/*"), Just("/a/**"), Just("/a"), Just("/**"),
                    Just("/a/*/*/**"), Just("/*"), Just("/a/b/*"), Just("/a/b"),
                ],
                0u8..3,
            ),
            1..6,
        ),
    ) {
        let text: String = routes
            .iter()
            .enumerate()
            .map(|(i, (path, action))| {
                let action = ["public = true", "max_age = 300", ""][*action as usize];
                format!("[[route]]\nname = 'r{i}'\npath = '{path}'\n{action}\n")
            })
            .collect();
        let Ok(p) = Policy::parse(&text) else {
            return Ok(());
        };
        let index = |name: &str| name[1..].parse::<usize>().unwrap();
        for (path, action) in &routes {
            let Some(prefix) = path.strip_suffix("/*") else { continue };
            if *action != 1 {
                continue;
            }
            // The paths written for what is beside it, by prefix.
            let deliberate: &[&str] = match prefix {
                "/a" => &["/a", "/a/*/*/**"],
                "/a/b" => &["/a/b"],
                _ => &[],
            };
            for extra in 0..4 {
                if extra == 1 {
                    continue; // the route's own paths
                }
                let uri = format!("{prefix}{}", "/q".repeat(extra));
                let uri = if uri.is_empty() { "/".to_owned() } else { uri };
                let chosen = decide(&p, &uri);
                if chosen.starts_with('r') {
                    let (s_path, s_action) = routes[index(&chosen)];
                    prop_assert!(
                        s_action == 1 || deliberate.contains(&s_path),
                        "{} reached {} ({}) beside {}\n{}", uri, chosen, s_path, path, text
                    );
                }
            }
        }
    }
}

/// A policy that chooses routes by method.
const BY_METHOD: &str = r#"
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
fn method_param() -> impl Strategy<Value = String> {
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
