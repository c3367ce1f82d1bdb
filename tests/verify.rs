//! The verification pipeline end to end, against the real local test issuer:
//! every rejection code, the attack list, freshness with a fake clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reauth::testing::{TestIssuer, TestKey};
use reauth::{Algorithm, FakeClock, Freshness, ReauthPolicy, Requirement, Verifier};
use serde_json::json;
use support::{code, verdict as code_with};

const FIVE_MIN: Duration = Duration::from_secs(300);

async fn setup() -> (TestIssuer, Verifier) {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    (issuer, verifier)
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[tokio::test]
async fn accepts_each_algorithm_and_exposes_claims() {
    let (issuer, v) = setup().await;
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        // The RSA key's JWK says RS256, so only RS256 is allowed with it...
        let t = issuer.token().alg(alg).sign();
        let expected = if alg == Algorithm::RS256 {
            "accepted"
        } else {
            "unsupported_algorithm"
        };
        assert_eq!(code(&v, &t).await, expected, "{alg:?}");
    }
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        assert_eq!(
            code(&v, &issuer.token().alg(alg).sign()).await,
            "accepted",
            "{alg:?}"
        );
    }
    // ...while an RSA JWK without `alg` verifies every RSA algorithm.
    let free = TestKey::rsa("rsa-free");
    issuer.set_jwks(json!({"keys": [free.jwk_without_alg()]}));
    let v2 = issuer.verifier().await;
    for alg in [Algorithm::RS384, Algorithm::PS256, Algorithm::PS512] {
        assert_eq!(
            code(&v2, &issuer.token().key(&free).alg(alg).sign()).await,
            "accepted",
            "{alg:?}"
        );
    }

    let t = issuer
        .token()
        .claim("sid", "s-1")
        .claim("acr", "urn:x")
        .claim("amr", json!(["pwd", "mfa"]))
        .sign();
    let ok = v.verify(&t, &Requirement::max_age(FIVE_MIN)).await.unwrap();
    assert_eq!(ok.subject(), "user-1");
    assert_eq!(ok.freshness, Freshness::Fresh);
    assert_eq!(ok.claims.sid.as_deref(), Some("s-1"));
    assert_eq!(ok.claims.amr, ["pwd", "mfa"]);
    assert_eq!(ok.extra["acr"], "urn:x");
    assert_eq!(ok.kid.as_deref(), Some("rsa-1"));
    assert_eq!(
        v.verify(&t, &Requirement::none()).await.unwrap().freshness,
        Freshness::NotRequired
    );
}

#[tokio::test]
async fn typed_extra_claims() {
    #[derive(Debug, serde::Deserialize)]
    struct Mine {
        tenant: String,
        #[serde(default)]
        roles: Vec<String>,
    }
    let (issuer, v) = setup().await;
    let t = issuer
        .token()
        .claim("tenant", "acme")
        .claim("roles", json!(["admin"]))
        .sign();
    let ok = v.verify_as::<Mine>(&t, &Requirement::none()).await.unwrap();
    assert_eq!(
        (ok.extra.tenant.as_str(), ok.extra.roles.as_slice()),
        ("acme", &["admin".to_owned()][..])
    );
    let wrong = issuer.token().claim("tenant", 7).sign();
    let e = v
        .verify_as::<Mine>(&wrong, &Requirement::none())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_claim");
}

#[tokio::test]
async fn alg_none_in_any_case() {
    let (issuer, v) = setup().await;
    let good = parts(&issuer.token().sign());
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = B64.encode(format!(r#"{{"alg":"{none}","typ":"JWT","kid":"rsa-1"}}"#));
        for sig in ["", "AAAA"] {
            let t = format!("{header}.{}.{sig}", good[1]);
            let c = code(&v, &t).await;
            assert!(
                c == "unsupported_algorithm" || c == "malformed_token",
                "{none}/{sig:?}: {c}"
            );
        }
        let t = format!("{header}.{}.AAAA", good[1]);
        assert_eq!(code(&v, &t).await, "unsupported_algorithm");
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key() {
    use aws_lc_rs::hmac;
    let (issuer, v) = setup().await;
    let jwk = issuer.rsa_key().jwk();
    let body = parts(&issuer.token().sign())[1].clone();
    for secret in [
        jwk.to_string().into_bytes(),
        B64.decode(jwk["n"].as_str().unwrap()).unwrap(),
    ] {
        let header = B64.encode(r#"{"alg":"HS256","typ":"JWT","kid":"rsa-1"}"#);
        let input = format!("{header}.{body}");
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &secret),
            input.as_bytes(),
        );
        let t = format!("{input}.{}", B64.encode(tag.as_ref()));
        assert_eq!(code(&v, &t).await, "unsupported_algorithm");
    }
}

#[tokio::test]
async fn tampering_is_an_invalid_signature() {
    let (issuer, v) = setup().await;
    let a = parts(&issuer.token().sign());
    // Flipped signature byte.
    let mut sig = B64.decode(&a[2]).unwrap();
    sig[10] ^= 0x01;
    assert_eq!(
        code(&v, &format!("{}.{}.{}", a[0], a[1], B64.encode(&sig))).await,
        "invalid_signature"
    );
    // Payload swapped in from another validly signed token.
    let b = parts(&issuer.token().claim("sub", "admin").sign());
    assert_eq!(
        code(&v, &format!("{}.{}.{}", a[0], b[1], a[2])).await,
        "invalid_signature"
    );
    // ECDSA all-zero signature (CVE-2022-21449 "psychic signatures").
    let ec = parts(&issuer.token().alg(Algorithm::ES256).sign());
    assert_eq!(
        code(
            &v,
            &format!("{}.{}.{}", ec[0], ec[1], B64.encode([0u8; 64]))
        )
        .await,
        "invalid_signature"
    );
    // Truncated signature.
    assert_eq!(
        code(&v, &format!("{}.{}.{}", a[0], a[1], &a[2][..20])).await,
        "invalid_signature"
    );
}

#[tokio::test]
async fn attacker_key_with_a_real_kid() {
    let (issuer, v) = setup().await;
    let attacker = TestKey::rsa("rsa-1");
    assert_eq!(
        code(&v, &issuer.token().key(&attacker).sign()).await,
        "invalid_signature"
    );
    let attacker_ec = TestKey::ec("ec-1");
    assert_eq!(
        code(&v, &issuer.token().key(&attacker_ec).sign()).await,
        "invalid_signature"
    );
}

#[tokio::test]
async fn keys_named_by_the_token_are_never_fetched_or_trusted() {
    let (issuer, v) = setup().await;
    let attacker = TestKey::rsa("evil");
    let t = issuer
        .token()
        .key(&attacker)
        .header("kid", "rsa-1")
        .header("jku", issuer.url("/attacker/jwks"))
        .header("x5u", issuer.url("/attacker/cert"))
        .header("jwk", attacker.jwk())
        .header("x5c", json!(["MIIB"]))
        .sign();
    assert_eq!(code(&v, &t).await, "invalid_signature");
    let unknown = issuer
        .token()
        .key(&attacker)
        .header("jku", issuer.url("/attacker/jwks"))
        .sign();
    assert_eq!(code(&v, &unknown).await, "unknown_key");
    assert!(
        issuer.other_requests().is_empty(),
        "fetched: {:?}",
        issuer.other_requests()
    );
}

#[tokio::test]
async fn header_rules() {
    let (issuer, v) = setup().await;
    assert_eq!(
        code(
            &v,
            &issuer
                .token()
                .header("crit", json!(["exp"]))
                .header("exp", 1)
                .sign()
        )
        .await,
        "malformed_token"
    );
    assert_eq!(
        code(&v, &issuer.token().header("typ", "at+jwt").sign()).await,
        "invalid_token_type"
    );
    assert_eq!(
        code(&v, &issuer.token().header("typ", "logout+jwt").sign()).await,
        "invalid_token_type"
    );
    assert_eq!(
        code(&v, &issuer.token().header("typ", "application/jwt").sign()).await,
        "accepted"
    );
    assert_eq!(
        code(
            &v,
            &issuer.token().header("typ", serde_json::Value::Null).sign()
        )
        .await,
        "accepted"
    );
    let dup_alg = issuer
        .token()
        .raw_header(r#"{"alg":"RS256","kid":"rsa-1","alg":"none"}"#)
        .sign();
    assert_eq!(code(&v, &dup_alg).await, "malformed_token");
}

#[tokio::test]
async fn shape_and_size() {
    let (issuer, v) = setup().await;
    for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "...", "%%%.%%%.%%%"] {
        assert_eq!(code(&v, bad).await, "malformed_token", "{bad:?}");
    }
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(512 * 1024),
        "b".repeat(512 * 1024),
        "c"
    );
    assert_eq!(code(&v, &huge).await, "malformed_token");
    // Exactly at the cap is judged (here: rejected later, on its signature).
    let t = issuer.token().sign();
    let padded = issuer
        .token()
        .claim("pad", "x".repeat((16 * 1024 - t.len()) * 3 / 4 - 20))
        .sign();
    assert!(
        padded.len() <= 16 * 1024 && padded.len() > 16 * 1024 - 100,
        "{}",
        padded.len()
    );
    assert_eq!(code(&v, &padded).await, "accepted");
    let payload_not_json = {
        let p = parts(&t);
        let input = format!("{}.{}", p[0], B64.encode("not json"));
        format!(
            "{input}.{}",
            B64.encode(issuer.rsa_key().sign(Algorithm::RS256, input.as_bytes()))
        )
    };
    assert_eq!(code(&v, &payload_not_json).await, "malformed_token");
}

#[tokio::test]
async fn issuer_audience_and_time_claims() {
    let (issuer, v) = setup().await;
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(reauth::testing::TokenBuilder, &str)> = vec![
        (
            issuer.token().claim("iss", "https://evil.example"),
            "invalid_issuer",
        ),
        (
            issuer.token().claim("iss", format!("{}/", issuer.issuer())),
            "invalid_issuer",
        ),
        (
            issuer.token().claim("aud", "someone-else"),
            "invalid_audience",
        ),
        (
            issuer.token().claim("aud", json!(["a", "b"])),
            "invalid_audience",
        ),
        (
            issuer.token().claim("aud", json!(["a", "test-client"])),
            "accepted",
        ),
        (
            issuer.token().claim("azp", "someone-else"),
            "invalid_audience",
        ),
        (issuer.token().claim("exp", now - 3600), "expired"),
        (issuer.token().claim("exp", now - 10), "accepted"),
        (
            issuer.token().claim("exp", (now + 3600).to_string()),
            "invalid_claim",
        ),
        (issuer.token().claim("iat", now + 3600), "not_yet_valid"),
        (issuer.token().claim("nbf", now + 3600), "not_yet_valid"),
        (
            issuer.token().claim("auth_time", now + 3600),
            "invalid_claim",
        ),
        (issuer.token().claim("exp", 1.5e300), "invalid_claim"),
        (issuer.token().without("sub"), "missing_claim"),
        (issuer.token().without("exp"), "missing_claim"),
        (issuer.token().without("iat"), "missing_claim"),
        (
            issuer
                .token()
                .can_reauthenticate(true)
                .claim(reauth::AUTHGEAR_CAN_REAUTHENTICATE, "false"),
            "invalid_claim",
        ),
    ];
    for (builder, expected) in cases {
        let claims = builder.claims().clone();
        assert_eq!(code(&v, &builder.sign()).await, expected, "{claims:?}");
    }
    // A later duplicate never wins over a checked value.
    let dup = issuer
        .token()
        .raw_payload(&format!(
            r#"{{"iss":"{}","aud":"test-client","sub":"u","iat":{now},"exp":{},"exp":{}}}"#,
            issuer.issuer(),
            now - 100,
            now + 100
        ))
        .sign();
    assert_eq!(code(&v, &dup).await, "malformed_token");
}

#[tokio::test]
async fn trailing_slash_issuer_is_another_issuer() {
    let issuer = TestIssuer::start().await;
    let cfg = reauth::VerifierConfig::builder(format!("{}/", issuer.issuer()))
        .audience("test-client")
        .build()
        .unwrap();
    let e = Verifier::discover(cfg).await.unwrap_err();
    assert_eq!(e.code(), "discovery_failed");
    assert!(matches!(e, reauth::InitError::IssuerMismatch { .. }), "{e}");
}

#[tokio::test]
async fn freshness_with_a_fake_clock() {
    let clock = FakeClock::now_system();
    let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
    let v = issuer.verifier().await;
    let token = issuer.token().sign();
    let req = Requirement::max_age(FIVE_MIN);
    assert_eq!(
        v.verify(&token, &req).await.unwrap().freshness,
        Freshness::Fresh
    );
    // Within max_age + leeway (30 s) still fresh; one second later too old.
    clock.advance(Duration::from_secs(330));
    assert_eq!(code_with(&v, &token, &req).await, "accepted");
    clock.advance(Duration::from_secs(1));
    let e = v.verify(&token, &req).await.unwrap_err();
    assert_eq!(e.code(), "authentication_too_old");
    assert_eq!(e.status(), 401);
    assert_eq!(
        e.www_authenticate().unwrap(),
        "Bearer error=\"insufficient_user_authentication\", error_description=\"authentication is 331 s old; this operation allows 300 s\", max_age=\"300\""
    );
    // The same token is fine where no freshness is demanded.
    assert_eq!(code(&v, &token).await, "accepted");
    // A refreshed ID token keeps its original auth_time: not a fresh login.
    let refreshed = issuer.token().auth_time_ago(3600).sign();
    assert_eq!(
        code_with(&v, &refreshed, &req).await,
        "authentication_too_old"
    );
    // No auth_time under a max_age: missing_claim with the RFC 9470 challenge.
    let e = v
        .verify(&issuer.token().without("auth_time").sign(), &req)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "missing_claim");
    assert!(e.www_authenticate().unwrap().contains("max_age=\"300\""));
}

#[tokio::test]
async fn users_who_cannot_reauthenticate() {
    let (issuer, v) = setup().await;
    let old_cannot = issuer
        .token()
        .auth_time_ago(7200)
        .can_reauthenticate(false)
        .sign();
    let req = Requirement::max_age(FIVE_MIN);
    let e = v.verify(&old_cannot, &req).await.unwrap_err();
    assert_eq!(
        (e.code(), e.status(), e.www_authenticate()),
        ("reauthentication_unavailable", 403, None)
    );
    let allow = req.clone().when_cannot_reauthenticate(ReauthPolicy::Allow);
    assert_eq!(
        v.verify(&old_cannot, &allow).await.unwrap().freshness,
        Freshness::Unavailable
    );
    // Verifier-wide Allow, route-level Deny.
    let cfg = issuer
        .config()
        .when_cannot_reauthenticate(ReauthPolicy::Allow)
        .build()
        .unwrap();
    let lenient = Verifier::discover(cfg).await.unwrap();
    assert_eq!(
        lenient.verify(&old_cannot, &req).await.unwrap().freshness,
        Freshness::Unavailable
    );
    let strict_route = req.clone().when_cannot_reauthenticate(ReauthPolicy::Deny);
    assert_eq!(
        code_with(&lenient, &old_cannot, &strict_route).await,
        "reauthentication_unavailable"
    );
    // A custom claim name.
    let cfg = issuer
        .config()
        .can_reauthenticate_claim("https://example.com/can_reauth")
        .build()
        .unwrap();
    let custom = Verifier::discover(cfg).await.unwrap();
    let t = issuer
        .token()
        .auth_time_ago(7200)
        .claim("https://example.com/can_reauth", false)
        .sign();
    assert_eq!(
        code_with(&custom, &t, &req).await,
        "reauthentication_unavailable"
    );
    assert_eq!(
        code_with(&custom, &old_cannot, &req).await,
        "authentication_too_old"
    );
}

#[tokio::test]
async fn step_up_by_acr_and_amr() {
    let (issuer, v) = setup().await;
    let pwd = issuer
        .token()
        .claim("acr", "urn:loa:1")
        .claim("amr", json!(["pwd"]))
        .sign();
    let req = Requirement::max_age(FIVE_MIN).acr_values(["urn:loa:2", "urn:loa:3"]);
    let e = v.verify(&pwd, &req).await.unwrap_err();
    assert_eq!(e.code(), "insufficient_authentication");
    assert_eq!(
        e.www_authenticate().unwrap(),
        "Bearer error=\"insufficient_user_authentication\", error_description=\"a stronger authentication is required for this operation\", acr_values=\"urn:loa:2 urn:loa:3\", max_age=\"300\""
    );
    let strong = issuer
        .token()
        .claim("acr", "urn:loa:2")
        .claim("amr", json!(["pwd", "mfa"]))
        .sign();
    assert_eq!(code_with(&v, &strong, &req).await, "accepted");
    assert_eq!(
        code_with(&v, &pwd, &Requirement::none().require_amr(["mfa"])).await,
        "insufficient_authentication"
    );
    assert_eq!(
        code_with(&v, &strong, &Requirement::none().require_amr(["mfa"])).await,
        "accepted"
    );
}

#[tokio::test]
async fn configured_algorithm_allow_list() {
    let issuer = TestIssuer::start().await;
    let cfg = issuer
        .config()
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let v = Verifier::discover(cfg).await.unwrap();
    assert_eq!(
        code(&v, &issuer.token().sign()).await,
        "unsupported_algorithm"
    );
    assert_eq!(
        code(&v, &issuer.token().alg(Algorithm::ES256).sign()).await,
        "accepted"
    );
    // Default: the discovery list (which has no ES384) ∩ what we support.
    issuer.set_discovery_field(
        "id_token_signing_alg_values_supported",
        json!(["HS256", "EdDSA"]),
    );
    let v = issuer.verifier().await;
    assert_eq!(v.algorithms(), vec![Algorithm::EdDSA]);
    assert_eq!(
        code(&v, &issuer.token().sign()).await,
        "unsupported_algorithm"
    );
    issuer.set_discovery_field("id_token_signing_alg_values_supported", json!(["HS256"]));
    let e = Verifier::discover(issuer.config().build().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "config_error");
}

#[tokio::test]
async fn only_usable_keys_enter_the_set() {
    let issuer = TestIssuer::start().await;
    let good = TestKey::rsa("good");
    let mut enc = TestKey::rsa("enc").jwk();
    enc["use"] = json!("enc");
    let mut sign_only = TestKey::rsa("sign-only").jwk();
    sign_only["key_ops"] = json!(["sign"]);
    let mut verify_ops = TestKey::ec("verify-ops").jwk();
    verify_ops["key_ops"] = json!(["verify"]);
    let small_n = B64.encode([0xC5u8; 128]); // 1024 bits
    let small = json!({"kty":"RSA","kid":"small","n":small_n,"e":"AQAB","alg":"RS256"});
    let oct = json!({"kty":"oct","kid":"oct","k":B64.encode(b"secret"),"alg":"HS256"});
    let garbage = json!({"kty":"RSA","kid":"garbage","n":"!!!","e":"AQAB"});
    let mut mislabeled = TestKey::ec("mislabeled").jwk();
    mislabeled["alg"] = json!("RS256");
    issuer.set_jwks(json!({"keys":[enc, sign_only, verify_ops, small, oct, garbage, mislabeled, good.jwk(), 42, "x"]}));
    let v = issuer.verifier().await;
    assert!(v.keys_ready());
    assert_eq!(
        code(&v, &issuer.token().key(&good).sign()).await,
        "accepted"
    );
    for kid in ["enc", "sign-only", "small", "oct", "garbage", "mislabeled"] {
        let t = issuer.token().key(&TestKey::rsa(kid)).sign();
        assert_eq!(code(&v, &t).await, "unknown_key", "{kid}");
    }
}

#[tokio::test]
async fn token_without_kid() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    // One usable Ed25519 key: a kid-less EdDSA token is unambiguous.
    let t = issuer
        .token()
        .alg(Algorithm::EdDSA)
        .header("kid", serde_json::Value::Null)
        .sign();
    assert_eq!(code(&v, &t).await, "accepted");
    // Two RSA keys: ambiguous, rejected.
    let (a, b) = (TestKey::rsa("a"), TestKey::rsa("b"));
    issuer.publish(&[a.clone(), b]);
    let v = issuer.verifier().await;
    let t = issuer
        .token()
        .key(&a)
        .header("kid", serde_json::Value::Null)
        .sign();
    assert_eq!(code(&v, &t).await, "unknown_key");
}
