//! RFC 9864's fully-specified `Ed25519`: accepted wherever `EdDSA` over
//! Ed25519 is (token headers, JWKs, the discovery document, the CLI), and
//! the allow-list rules stay (never `none`, never HS*), against the real
//! local test issuer.

mod support;

use reauth::testing::{TestIssuer, TestKey};
use reauth::{Algorithm, Requirement, algorithm_named};
use serde_json::json;
use support::{BIN, code};

fn ed25519_issuer_keys(issuer: &TestIssuer, key_alg: Option<&str>) -> TestKey {
    let key = TestKey::ed25519("ed-1");
    let mut jwk = key.jwk();
    match key_alg {
        Some(a) => jwk["alg"] = json!(a),
        None => {
            jwk.as_object_mut().unwrap().remove("alg");
        }
    }
    issuer.set_jwks(json!({ "keys": [jwk] }));
    key
}

#[test]
fn names() {
    assert_eq!(algorithm_named("Ed25519"), Some(Algorithm::EdDSA));
    assert_eq!(algorithm_named("EdDSA"), Some(Algorithm::EdDSA));
    assert_eq!(algorithm_named("RS256"), Some(Algorithm::RS256));
    assert_eq!(algorithm_named("Ed448"), None);
    assert_eq!(algorithm_named("ed25519"), None);
}

#[tokio::test]
async fn ed25519_tokens_and_keys_verify_under_either_name() {
    for key_alg in [Some("Ed25519"), Some("EdDSA"), None] {
        let issuer = TestIssuer::start().await;
        let key = ed25519_issuer_keys(&issuer, key_alg);
        let v = issuer.verifier().await;
        for header_alg in ["Ed25519", "EdDSA"] {
            let t = issuer
                .token()
                .key(&key)
                .alg(Algorithm::EdDSA)
                .header("alg", header_alg)
                .sign();
            assert_eq!(
                code(&v, &t).await,
                "accepted",
                "key alg {key_alg:?}, token alg {header_alg}"
            );
        }
        // A forged signature under the new name is still refused.
        let other = TestKey::ed25519("ed-1");
        let forged = issuer
            .token()
            .key(&other)
            .alg(Algorithm::EdDSA)
            .header("alg", "Ed25519")
            .sign();
        assert_eq!(code(&v, &forged).await, "invalid_signature");
        // An Ed25519-bound key never verifies another algorithm.
        let rs = issuer
            .token()
            .alg(Algorithm::RS256)
            .header("kid", "ed-1")
            .sign();
        assert_ne!(code(&v, &rs).await, "accepted");
    }
}

#[tokio::test]
async fn the_discovery_documents_name_is_honoured() {
    let issuer = TestIssuer::start().await;
    let key = ed25519_issuer_keys(&issuer, Some("Ed25519"));
    // The provider advertises only the fully-specified name.
    issuer.set_discovery_field("id_token_signing_alg_values_supported", json!(["Ed25519"]));
    let v = issuer.verifier().await;
    assert_eq!(v.algorithms(), vec![Algorithm::EdDSA]);
    let t = issuer
        .token()
        .key(&key)
        .alg(Algorithm::EdDSA)
        .header("alg", "Ed25519")
        .sign();
    let verified = v.verify(&t, &Requirement::none()).await.unwrap();
    assert_eq!(verified.subject(), "user-1");
    // What it does not advertise stays refused; never none or HS256.
    for alg in ["RS256", "none", "HS256"] {
        let t = issuer
            .token()
            .key(&key)
            .alg(Algorithm::EdDSA)
            .header("alg", alg)
            .sign();
        assert_eq!(code(&v, &t).await, "unsupported_algorithm", "{alg}");
    }
}

#[test]
fn the_cli_accepts_the_name() {
    // Parsed by clap before any network: a bad name is a usage error (2),
    // Ed25519 gets as far as discovery (which fails here, also 2, but with
    // a discovery message, not an algorithm one).
    let run = |alg: &str| {
        let out = std::process::Command::new(BIN)
            .args([
                "verify",
                "--issuer",
                "http://127.0.0.1:9/",
                "--audience",
                "a",
            ])
            .args(["--algorithms", alg, "--fetch-timeout", "1s", "token"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        run("Ed448").contains("unknown algorithm"),
        "{}",
        run("Ed448")
    );
    let ok = run("Ed25519,ES256");
    assert!(!ok.contains("unknown algorithm"), "{ok}");
}
