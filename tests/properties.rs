//! Property tests: hostile input never panics, is never accepted unless
//! correctly signed by a key in the set, and always maps to a documented
//! error code. Same for JWKS and discovery documents.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proptest::prelude::*;
use reauth::testing::{TEST_CLIENT_ID, TestIssuer, TestKey};
use reauth::{Algorithm, RejectionKind, Requirement, Verifier};
use serde_json::{Map, Value, json};

/// Every code `verify` may answer with.
fn documented(code: &str) -> bool {
    RejectionKind::ALL.iter().any(|k| k.as_str() == code)
        || code == "keys_unavailable"
        || code == "revocation_unavailable"
}

struct World {
    rt: tokio::runtime::Runtime,
    issuer: TestIssuer,
    verifier: Verifier,
}

/// One issuer and verifier for all cases (keys are expensive to generate).
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (issuer, verifier) = rt.block_on(async {
            let issuer = TestIssuer::start().await;
            let verifier = issuer.verifier().await;
            (issuer, verifier)
        });
        World {
            rt,
            issuer,
            verifier,
        }
    })
}

fn verdict(token: &str) -> Result<Value, &'static str> {
    let w = world();
    w.rt.block_on(w.verifier.verify(token, &Requirement::none()))
        .map(|v| Value::Object((*v.extra).clone()))
        .map_err(|e| e.code())
}

/// Any JSON value, with big, negative and fractional numbers and nesting.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A NumericDate-ish value: sometimes sane, sometimes hostile.
fn date(now: i64) -> impl Strategy<Value = Value> {
    prop_oneof![
        (-100_000i64..100_000).prop_map(move |d| json!(now + d)),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(1e300)),
        Just(json!(u64::MAX)),
        (-100_000i64..100_000).prop_map(move |d| json!((now + d).to_string())),
        any_json(),
    ]
}

fn header_strategy() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        Just("RS256".to_owned()),
        Just("ES256".to_owned()),
        Just("EdDSA".to_owned()),
        Just("none".to_owned()),
        Just("HS256".to_owned()),
        Just("NONE".to_owned()),
        "[ -~]{0,8}",
    ];
    let typ = prop_oneof![
        Just(None),
        Just(Some("JWT".to_owned())),
        Just(Some("at+jwt".to_owned())),
        "[ -~]{0,8}".prop_map(Some)
    ];
    let kid = prop_oneof![
        Just(None),
        Just(Some("rsa-1".to_owned())),
        Just(Some("ec-1".to_owned())),
        "[ -~]{0,8}".prop_map(Some)
    ];
    (
        alg,
        typ,
        kid,
        prop::collection::vec(("[a-z]{1,5}", any_json()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(alg, typ, kid, extra, dup_alg)| {
            let mut members = vec![format!("\"alg\":{}", json!(alg))];
            if let Some(t) = typ {
                members.push(format!("\"typ\":{}", json!(t)));
            }
            if let Some(k) = kid {
                members.push(format!("\"kid\":{}", json!(k)));
            }
            for (k, v) in extra {
                members.push(format!("{}:{}", json!(k), v));
            }
            if dup_alg {
                members.push("\"alg\":\"none\"".to_owned());
            }
            format!("{{{}}}", members.join(","))
        })
}

fn claims_strategy(now: i64, issuer: String) -> impl Strategy<Value = Map<String, Value>> {
    let iss = prop_oneof![
        Just(json!(issuer.clone())),
        Just(json!(format!("{issuer}/"))),
        any_json()
    ];
    let aud = prop_oneof![
        Just(json!(TEST_CLIENT_ID)),
        Just(json!(["x", TEST_CLIENT_ID])),
        any_json()
    ];
    let sub = prop_oneof![Just(json!("user-1")), any_json()];
    let opt = |s: BoxedStrategy<Value>| prop::option::weighted(0.8, s);
    (
        opt(iss.boxed()),
        opt(aud.boxed()),
        opt(sub.boxed()),
        opt(date(now).boxed()),
        opt(date(now).boxed()),
        opt(date(now).boxed()),
        opt(date(now).boxed()),
        prop::collection::vec(("[a-z_]{1,8}", any_json()), 0..4),
    )
        .prop_map(|(iss, aud, sub, exp, iat, nbf, auth_time, extra)| {
            let mut m = Map::new();
            for (k, v) in [
                ("iss", iss),
                ("aud", aud),
                ("sub", sub),
                ("exp", exp),
                ("iat", iat),
                ("nbf", nbf),
                ("auth_time", auth_time),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            for (k, v) in extra {
                m.entry(k).or_insert(v);
            }
            m
        })
}

/// What the rules say about claims that were correctly signed.
fn should_accept(c: &Map<String, Value>, issuer: &str, now: i64) -> bool {
    let int = |k: &str| {
        c.get(k).and_then(|v| {
            v.as_i64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.abs() < 9e15)
                    .map(|f| f.floor() as i64)
            })
        })
    };
    let date_ok = |k: &str| match c.get(k) {
        None => true,
        Some(v) => v.is_number() && int(k).is_some(),
    };
    let aud_ok = match c.get("aud") {
        Some(Value::String(s)) => s == TEST_CLIENT_ID,
        Some(Value::Array(a)) => {
            a.iter().all(Value::is_string) && a.iter().any(|v| v == TEST_CLIENT_ID)
        }
        _ => false,
    };
    c.get("iss") == Some(&json!(issuer))
        && aud_ok
        && ["exp", "iat", "nbf", "auth_time"]
            .iter()
            .all(|k| date_ok(k))
        && int("exp").is_some_and(|e| now < e.saturating_add(30))
        && int("iat").is_some_and(|i| i <= now + 30)
        && c.get("nbf")
            .is_none_or(|_| int("nbf").is_some_and(|n| n <= now + 30))
        && c.get("auth_time")
            .is_none_or(|_| int("auth_time").is_some_and(|t| t <= now + 30))
        && matches!(c.get("sub"), Some(Value::String(s)) if !s.is_empty())
        && ["nonce", "acr", "azp", "sid", "jti"]
            .iter()
            .all(|k| c.get(*k).is_none_or(Value::is_string))
        && c.get("azp").is_none_or(|a| a == TEST_CLIENT_ID)
        && c.get("amr")
            .is_none_or(|a| a.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_never_accepted(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let token = String::from_utf8_lossy(&bytes);
        let code = verdict(&token).unwrap_err();
        prop_assert!(documented(code), "{code}");
    }

    #[test]
    fn dotted_noise_is_never_accepted(a in "[A-Za-z0-9_-]{0,200}", b in "[A-Za-z0-9_-]{0,400}", c in "[A-Za-z0-9_=+/-]{0,400}") {
        let code = verdict(&format!("{a}.{b}.{c}")).unwrap_err();
        prop_assert!(documented(code), "{code}");
    }

    #[test]
    fn random_headers_and_claims_with_noise_signatures_are_never_accepted(
        header in header_strategy(),
        claims in claims_strategy(chrono::Utc::now().timestamp(), world().issuer.issuer().to_owned()),
        sig in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let t = format!("{}.{}.{}", B64.encode(&header), B64.encode(Value::Object(claims).to_string()), B64.encode(sig));
        let code = verdict(&t).unwrap_err();
        prop_assert!(documented(code), "{code}");
    }

    #[test]
    fn correctly_signed_random_claims_are_accepted_exactly_when_valid(
        claims in claims_strategy(chrono::Utc::now().timestamp(), world().issuer.issuer().to_owned()),
        alg in prop_oneof![Just(Algorithm::RS256), Just(Algorithm::ES256), Just(Algorithm::EdDSA)],
    ) {
        let w = world();
        let now = chrono::Utc::now().timestamp();
        let payload = Value::Object(claims.clone()).to_string();
        let token = w.issuer.token().alg(alg).raw_payload(&payload).sign();
        let expected = should_accept(&claims, w.issuer.issuer(), now);
        match verdict(&token) {
            Ok(got) => prop_assert!(expected && got == Value::Object(claims), "accepted invalid claims"),
            Err(code) => prop_assert!(!expected && documented(code), "{code} for valid claims"),
        }
    }

    #[test]
    fn signed_by_a_key_outside_the_set_is_never_accepted(
        claims in claims_strategy(chrono::Utc::now().timestamp(), world().issuer.issuer().to_owned()),
    ) {
        static ATTACKER: OnceLock<TestKey> = OnceLock::new();
        let attacker = ATTACKER.get_or_init(|| TestKey::ec("ec-1"));
        let token = world().issuer.token().key(attacker).raw_payload(&Value::Object(claims).to_string()).sign();
        let code = verdict(&token).unwrap_err();
        prop_assert!(documented(code), "{code}");
    }
}

// Documents from the issuer: random JWKS and discovery documents never
// panic the verifier, and end in a documented answer. Fewer cases: each
// builds a verifier over HTTP.
proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_jwks_documents(doc in prop_oneof![
        any_json(),
        prop::collection::vec(any_json(), 0..6).prop_map(|keys| json!({ "keys": keys })),
        prop::collection::vec(
            (prop_oneof![Just("RSA"), Just("EC"), Just("OKP"), Just("oct")], "[A-Za-z0-9_-]{0,40}", "[A-Za-z0-9_-]{0,40}", any_json()),
            0..4,
        ).prop_map(|ks| json!({ "keys": ks.into_iter().map(|(kty, x, y, extra)| json!({
            "kty": kty, "kid": "rsa-1", "n": x, "e": "AQAB", "x": x, "y": y, "crv": "P-256", "alg": extra, "use": "sig"
        })).collect::<Vec<_>>() })),
    ]) {
        let w = world();
        let fresh = w.rt.block_on(async {
            let issuer = TestIssuer::start_with_clock(Arc::new(reauth::SystemClock)).await;
            issuer.set_jwks(doc);
            let v = issuer.verifier().await;
            v.verify(&issuer.token().sign(), &Requirement::none()).await.map(|_| ()).map_err(|e| e.code())
        });
        // The real key is not in a random set: never accepted.
        let code = fresh.unwrap_err();
        prop_assert!(documented(code), "{code}");
    }

    #[test]
    fn random_discovery_documents(doc in prop_oneof![
        any_json(),
        (any_json(), any_json(), any_json()).prop_map(|(i, j, a)| json!({
            "issuer": i, "jwks_uri": j, "id_token_signing_alg_values_supported": a
        })),
    ]) {
        let w = world();
        let result = w.rt.block_on(async {
            let issuer = TestIssuer::start().await;
            issuer.set_discovery_behavior(reauth::testing::Behavior::Body(doc.to_string()));
            Verifier::discover(issuer.config().build().unwrap()).await.map(|_| ()).map_err(|e| e.code())
        });
        let code = result.unwrap_err();
        prop_assert!(code == "discovery_failed" || code == "config_error", "{code}");
    }
}

/// A numeric claim reaches the app exactly as it was signed (the input
/// proptest once found: serde_json's default float parsing is off by one
/// ulp here).
#[test]
fn numeric_claims_round_trip_exactly() {
    let w = world();
    let mut claims = Map::new();
    for (k, v) in w.issuer.token().claims() {
        claims.insert(k.clone(), v.clone());
    }
    claims.insert("a".into(), json!({"a": {"a": -4.9102836765142434e-124}}));
    let payload = Value::Object(claims.clone()).to_string();
    let token = w.issuer.token().raw_payload(&payload).sign();
    assert_eq!(verdict(&token).unwrap(), Value::Object(claims));
}
