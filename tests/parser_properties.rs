//! Property tests for the parsers added with the Redis log and the gate:
//! revocation-log entries and replies, snapshot pages and values, bulk id
//! lists, and the tighten-only override rule. Arbitrary input never panics,
//! and what is accepted satisfies the documented rules.

use std::time::Duration;

use proptest::prelude::*;
use reauth::Requirement;
use reauth::revocation::{IdListLimits, parse_id_list};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn id_lists_accept_exactly_the_valid_lines(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let limits = IdListLimits { max_id_bytes: 64, max_ids: 50, max_reported: 5 };
        match parse_id_list(&bytes[..], limits) {
            Ok(ids) => {
                prop_assert!(ids.len() <= 50);
                for id in &ids {
                    prop_assert!(!id.is_empty() && id.len() <= 64);
                    prop_assert!(!id.chars().any(char::is_control));
                }
                // Every accepted list round-trips line by line.
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                prop_assert_eq!(ids.len(), lines.len());
            }
            Err(e) => {
                prop_assert!(e.bad_lines >= 1);
                prop_assert!(e.errors.len() <= 5);
                prop_assert!(e.errors.iter().all(|(line, _)| *line >= 1));
            }
        }
    }

    #[test]
    fn overrides_never_loosen(
        base_age in prop::option::of(1u64..100_000),
        base_acr in prop::collection::vec("[a-c]", 0..3),
        base_amr in prop::collection::vec("[x-z]", 0..3),
        age in prop::option::of(1u64..200_000),
        acr in prop::option::of(prop::collection::vec("[a-d]", 0..3)),
        amr in prop::option::of(prop::collection::vec("[w-z]", 0..3)),
    ) {
        let base = Requirement::none()
            .with_max_age(base_age.map(Duration::from_secs))
            .acr_values(base_acr.clone())
            .require_amr(base_amr.clone());
        if let Ok(t) = base.tightened(age.map(Duration::from_secs), acr, amr) {
            if let Some(b) = base_age {
                prop_assert!(t.max_age_secs().is_some_and(|a| a <= b));
            }
            if !base_acr.is_empty() {
                prop_assert!(!t.acr().is_empty());
                prop_assert!(t.acr().iter().all(|a| base_acr.contains(a)));
            }
            prop_assert!(base_amr.iter().all(|m| t.amr().contains(m)));
        }
    }
}

/// The gate's `/verify?max_age=...` overrides, however hostile the query:
/// never a panic, an unknown or repeated parameter is an error, and what is
/// accepted never loosens the route's requirement.
mod forward_overrides {
    use std::time::Duration;

    use proptest::prelude::*;
    use reauth::Requirement;
    use reauth::gate::forward::tightened;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn queries_never_panic_or_loosen(
            base_age in 1u64..100_000,
            query in "((max_age|acr_values|amr|max_agee|%6Dax_age|x)=[0-9a-z%+ ,]{0,12}&?){0,4}",
            junk in "\\PC{0,40}",
        ) {
            let base = Requirement::none().with_max_age(Some(Duration::from_secs(base_age)));
            for q in [query.as_str(), junk.as_str()] {
                if let Ok(t) = tightened(q, &base) {
                    prop_assert!(t.max_age_secs().is_some_and(|a| a <= base_age), "{q}");
                    let names: Vec<String> = url::form_urlencoded::parse(q.as_bytes())
                        .map(|(k, _)| k.into_owned())
                        .collect();
                    for n in &names {
                        prop_assert!(["max_age", "acr_values", "amr"].contains(&n.as_str()), "{q}");
                        prop_assert_eq!(names.iter().filter(|m| *m == n).count(), 1, "{}", q);
                    }
                }
            }
        }
    }
}

#[cfg(feature = "redis")]
mod redis_parsers {
    use proptest::prelude::*;
    use reauth::revocation::{parse_bucket, parse_fields, parse_user_value, parse_xread};
    use redis::Value;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<i64>().prop_map(Value::Int),
            prop::collection::vec(any::<u8>(), 0..24).prop_map(Value::BulkString),
            "[nkice0-9u:s-]{0,12}".prop_map(|s| Value::BulkString(s.into_bytes())),
            "[a-z]{0,8}".prop_map(Value::SimpleString),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn replies_never_panic(v in value()) {
            let _ = parse_xread(&v);
        }

        #[test]
        fn entries_are_accepted_only_when_complete(
            fields in prop::collection::vec(("[nkice]", "[0-9us:a-z-]{0,6}"), 0..8)
        ) {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if let Ok(e) = parse_fields("1-0", &pairs) {
                for name in ["n", "k", "i", "c", "e"] {
                    prop_assert_eq!(pairs.iter().filter(|(k, _)| *k == name).count(), 1);
                }
                prop_assert!(!e.key.is_empty());
            }
        }

        /// The one id rule: 1 to 1,024 bytes, no control character.
        #[test]
        fn the_id_rule_is_exactly_its_definition(id in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]){0,40}", long in 1000usize..1100) {
            use reauth::revocation::check_id;
            let ok = !id.is_empty() && !id.chars().any(char::is_control);
            prop_assert_eq!(check_id(&id).is_ok(), ok);
            let padded = format!("{}{id}", "x".repeat(long));
            let clean = !id.chars().any(char::is_control);
            prop_assert_eq!(check_id(&padded).is_ok(), clean && padded.len() <= 1024);
        }

        /// An entry whose id breaks the rule is skipped with its sequence
        /// number (never applied, never a failed read); one that keeps it is
        /// an event with exactly that id.
        #[test]
        fn a_bad_entry_is_skipped_with_its_number(n in 1u64..u64::MAX, id in "(\\PC|[\\r\\n\\t\\x00]){0,24}") {
            use reauth::revocation::{Entry, Namespace, check_id};
            let key = Namespace::new("https://i.example").scoped(&id);
            let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
            let fields = [("n", n.to_string()), ("k", "s".into()), ("i", key.clone()), ("c", "0".into()), ("e", "9".into())];
            let entry = Value::Array(vec![
                bulk("1-0"),
                Value::Array(fields.iter().flat_map(|(k, v)| [bulk(k), bulk(v)]).collect()),
            ]);
            let reply = Value::Array(vec![Value::Array(vec![bulk("{p}:log"), Value::Array(vec![entry])])]);
            let entries = parse_xread(&reply).unwrap();
            prop_assert_eq!(entries.len(), 1);
            match &entries[0] {
                Entry::Event(e) => {
                    prop_assert!(check_id(&id).is_ok());
                    prop_assert_eq!(&e.key, &key);
                }
                Entry::Skipped { n: got, .. } => {
                    prop_assert!(check_id(&id).is_err());
                    prop_assert_eq!(*got, Some(n));
                }
            }
        }

        /// Records written for ids that keep the rule read back exactly as
        /// written: no id can add, split or hide a record.
        #[test]
        fn buckets_of_valid_ids_round_trip(ids in prop::collection::vec("\\PC{1,16}", 0..12), keep in any::<i64>()) {
            use reauth::revocation::{Namespace, check_id};
            let ns = Namespace::new("https://i.example");
            let written: Vec<(String, String)> = ids
                .iter()
                .filter(|id| check_id(id).is_ok())
                .map(|id| (ns.scoped(id), keep.to_string()))
                .collect();
            let text: String = written.iter().map(|(id, v)| format!("\n{id}\t{v}")).collect();
            let read: Vec<(String, String)> = parse_bucket(&text)
                .map(|r| r.map(|(i, v)| (i.to_owned(), v.to_owned())))
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(read, written);
        }

        #[test]
        fn stored_values_round_trip(c in any::<i64>(), k in any::<i64>(), junk in "\\PC{0,12}") {
            prop_assert_eq!(parse_user_value(&format!("{c}:{k}")), Some((c, k)));
            let _ = parse_user_value(&junk);
            let bucket = format!("\n{junk}\t{c}:{k}\n{junk}");
            for (id, value) in parse_bucket(&bucket).flatten() {
                prop_assert!(!id.is_empty() && !id.contains(['\n', '\t']));
                prop_assert!(!value.contains('\n'));
            }
        }
    }
}

mod tenant_templates {
    use proptest::prelude::*;
    use reauth::{TenantTemplate, VerifierConfig, valid_tenant};

    fn template(t: &str) -> Result<TenantTemplate, reauth::ConfigError> {
        TenantTemplate::new(t, |issuer, _| {
            VerifierConfig::builder(issuer).audience("a").build()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn templates_never_panic(t in "\\PC{0,80}") {
            let _ = template(&t);
        }

        #[test]
        fn a_tenant_round_trips_and_nothing_else_is_one(
            host in "[a-z]{1,8}",
            tenant in "[a-z0-9-]{1,63}",
            junk in "\\PC{0,40}",
        ) {
            let t = template(&format!("https://{{tenant}}.{host}.example")).unwrap();
            let iss = format!("https://{tenant}.{host}.example");
            prop_assert_eq!(t.tenant_of(&iss), Some(tenant.as_str()));
            // Whatever an attacker puts in iss, a tenant chosen is a valid one
            // and the issuer is exactly the template's.
            let other = format!("https://{junk}.{host}.example");
            if let Some(chosen) = t.tenant_of(&other) {
                prop_assert!(valid_tenant(chosen));
                prop_assert_eq!(&other, &format!("https://{chosen}.{host}.example"));
            }
        }
    }
}

/// The browser step-up's callback query and `return_to`.
#[cfg(feature = "stepup")]
mod stepup {
    use proptest::prelude::*;
    use reauth::stepup::{Callback, Outcome, check_return_to};

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn callbacks_never_panic_and_stay_bounded(q in "\\PC{0,400}", raw in prop::collection::vec(any::<u8>(), 0..600)) {
            for text in [q, String::from_utf8_lossy(&raw).into_owned()] {
                if let Ok(cb) = Callback::parse(&text, 8192) {
                    prop_assert!(!cb.state.is_empty() && cb.state.len() <= 256);
                    match &cb.outcome {
                        Outcome::Code(c) => prop_assert!(!c.is_empty() && c.len() <= 2048),
                        Outcome::Error { kind, description } => {
                            prop_assert!(!kind.as_str().is_empty() && kind.as_str().len() <= 64);
                            prop_assert!(description.as_deref().is_none_or(|d| d.len() <= 256 && !d.chars().any(char::is_control)));
                        }
                    }
                }
            }
        }

        #[test]
        fn a_genuine_callback_round_trips(
            state in "[A-Za-z0-9_-]{1,64}",
            code in "\\PC{1,100}",
            iss in "https://[a-z]{1,10}\\.example(/[a-z]{0,5})?",
            extra in prop::collection::vec(("[a-z_]{1,10}", "\\PC{0,20}"), 0..5),
        ) {
            let mut q = format!("code={}&state={}&iss={}", enc(&code), enc(&state), enc(&iss));
            for (k, v) in &extra {
                if !["code", "state", "iss", "error", "error_description"].contains(&k.as_str()) {
                    q.push_str(&format!("&{k}={}", enc(v)));
                }
            }
            let cb = Callback::parse(&q, 8192).unwrap();
            prop_assert_eq!(cb.state, state);
            prop_assert_eq!(cb.outcome, Outcome::Code(code.clone()));
            prop_assert_eq!(cb.iss.as_deref(), Some(iss.as_str()));
            // Any repeated protocol parameter is refused.
            let repeated = format!("{q}&code={}", enc(&code));
            prop_assert!(Callback::parse(&repeated, 8192).is_err());
        }

        #[test]
        fn an_accepted_return_to_never_leaves_the_app(
            pieces in prop::collection::vec(prop::sample::select(vec![
                "/", "//", "\\", ".", "..", "%2e", "%2E", "%2F", "%5C", "?", "#", "a", "b.c", "@",
                ":", "evil.example", "http:", "https://", "javascript:", "\t", " ", "\u{e9}", "~",
            ]), 0..12),
            host in "[a-z]{1,12}\\.(example|test)",
            lead in any::<bool>(),
        ) {
            // Half start with a slash, so many are accepted and checked.
            let path: String = if lead { format!("/{}", pieces.concat()) } else { pieces.concat() };
            if let Ok(p) = check_return_to(&path) {
                prop_assert_eq!(p, path.as_str());
                // What a browser needs to stay on this origin, stated
                // independently of the implementation: one leading slash,
                // visible ASCII, no backslash, no empty or dot segment.
                prop_assert!(p.starts_with('/') && !p.starts_with("//"), "{:?}", p);
                prop_assert!(p.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\'), "{:?}", p);
                let path_part = p.split(['?', '#']).next().unwrap();
                prop_assert!(!path_part.contains("//"), "{:?}", p);
                for seg in path_part.split('/').skip(1) {
                    let plain = seg.to_ascii_lowercase().replace("%2e", ".");
                    prop_assert!(plain != "." && plain != "..", "{:?}", p);
                }
                // And every base a deployment may have keeps its origin.
                for base in [format!("https://{host}/"), format!("http://{host}:8443/deep/er/page?q=1")] {
                    let base = url::Url::parse(&base).unwrap();
                    let joined = base.join(p).unwrap();
                    prop_assert_eq!(joined.origin(), base.origin(), "{:?}", p);
                    prop_assert!(!joined.path().starts_with("//"), "{:?}", p);
                }
            }
        }
    }
}
