//! Property tests for the gate's parsers: policy files and original
//! request paths. Arbitrary input never panics; a path and its disguises
//! (doubled slashes, dot segments, case, percent-encoded letters) always
//! choose the same route or are refused, never a different route.

use proptest::prelude::*;
use reauth::gate::{Decision, Original, PathError, PathLimits, Policy, Refusal, path};

#[path = "support/probes.rs"]
mod probes;
use probes::{
    BY_METHOD, POLICY, decide, escape_segment, method_param, path_and_disguise,
    with_encoded_delimiter,
};

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
    fn disguises_never_change_the_route((plain, disguised) in path_and_disguise()) {
        let p = Policy::parse(POLICY).unwrap();
        prop_assert_eq!(decide(&p, &plain), decide(&p, &disguised), "{} vs {}", plain, disguised);
    }

    #[test]
    fn an_escape_never_reaches_the_public_route_unless_every_reading_does(
        tail in prop::collection::vec(escape_segment(), 1..5),
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
    fn an_encoded_query_or_fragment_delimiter_is_always_refused(uri in with_encoded_delimiter()) {
        let p = Policy::parse(POLICY).unwrap();
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
