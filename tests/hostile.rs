//! Resource bounds under attack: each hostile issuer or client ends in a
//! typed error within the configured timeout, with bounded reads, while
//! other requests keep being served.

mod support;

use std::time::Duration;

use reauth::testing::{Behavior, TestIssuer};
use reauth::{Requirement, Verifier};

const GENEROUS: Duration = Duration::from_secs(15);

async fn keys_error(issuer: &TestIssuer, timeout: Duration) -> String {
    let cfg = issuer.config().http_timeout(timeout).build().unwrap();
    let v = Verifier::discover(cfg).await.unwrap();
    let e = tokio::time::timeout(
        GENEROUS,
        v.verify(&issuer.token().sign(), &Requirement::none()),
    )
    .await
    .expect("bounded by the fetch timeout")
    .unwrap_err();
    assert_eq!(e.code(), "keys_unavailable");
    e.to_string()
}

#[tokio::test]
async fn jwks_that_streams_forever() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Endless);
    assert!(
        keys_error(&issuer, Duration::from_secs(2))
            .await
            .contains("exceeds 1048576 bytes")
    );
}

#[tokio::test]
async fn jwks_that_sends_headers_slowly() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Delay(Duration::from_secs(60)));
    assert!(
        keys_error(&issuer, Duration::from_millis(500))
            .await
            .contains("timed out")
    );
}

#[tokio::test]
async fn jwks_redirect_loop_and_foreign_redirect() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::RedirectLoop);
    assert!(
        keys_error(&issuer, Duration::from_secs(2))
            .await
            .contains("redirect")
    );
    issuer.set_jwks_behavior(Behavior::RedirectTo("http://localhost:1/jwks".into()));
    assert!(
        keys_error(&issuer, Duration::from_secs(2))
            .await
            .contains("redirect refused")
    );
}

#[tokio::test]
async fn discovery_document_of_100_mb() {
    for behavior in [
        Behavior::Huge(100 * 1024 * 1024),
        Behavior::HugeDeclared(100 * 1024 * 1024),
    ] {
        let issuer = TestIssuer::start().await;
        issuer.set_discovery_behavior(behavior.clone());
        let cfg = issuer.config().build().unwrap();
        let e = tokio::time::timeout(GENEROUS, Verifier::discover(cfg))
            .await
            .expect("bounded")
            .unwrap_err();
        assert_eq!(e.code(), "discovery_failed", "{behavior:?}");
        assert!(e.to_string().contains("exceeds"), "{behavior:?}: {e}");
    }
}

#[tokio::test]
async fn ten_thousand_keys() {
    let issuer = TestIssuer::start().await;
    let one = issuer.rsa_key().jwk();
    issuer.set_jwks(serde_json::json!({ "keys": vec![one; 10_000] }));
    // 10,000 JWKs is ~4.5 MB: cut at the 1 MiB cap...
    assert!(
        keys_error(&issuer, Duration::from_secs(5))
            .await
            .contains("exceeds")
    );
    // ...and with a larger cap, refused by the key-count limit.
    let cfg = issuer
        .config()
        .max_response_bytes(16 << 20)
        .build()
        .unwrap();
    let v = Verifier::discover(cfg).await.unwrap();
    let e = v
        .verify(&issuer.token().sign(), &Requirement::none())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("more than the limit of 100"), "{e}");
}

#[tokio::test]
async fn huge_and_deeply_nested_tokens() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    // Deeper than the JSON recursion limit (128), far below the size cap.
    let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for token in [
        "a".repeat(10 << 20),
        format!("{}.{}.{}", "e".repeat(8 << 20), "e".repeat(8 << 20), "e"),
        issuer
            .token()
            .raw_header(&format!("{{\"alg\":\"RS256\",\"x\":{nested}}}"))
            .sign(),
        issuer
            .token()
            .raw_payload(&format!("{{\"x\":{nested}}}"))
            .sign(),
    ] {
        let e = tokio::time::timeout(GENEROUS, v.verify(&token, &Requirement::none()))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code(), "malformed_token");
    }
}

#[cfg(feature = "cli")]
#[tokio::test]
async fn ten_megabyte_authorization_header_to_serve() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let issuer = TestIssuer::start().await;
    let gate = support::serve(&issuer, &[]).await;
    let addr = gate.base.trim_start_matches("http://").to_owned();
    let attack = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = "GET /verify HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ";
            let _ = s.write_all(head.as_bytes()).await;
            let chunk = vec![b'a'; 1 << 20];
            for _ in 0..10 {
                if s.write_all(&chunk).await.is_err() {
                    break; // the server hung up: fine
                }
            }
            let _ = s.write_all(b"\r\n\r\n").await;
            let mut reply = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut reply)).await;
            String::from_utf8_lossy(&reply)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
    };
    // Meanwhile and afterwards, ordinary requests are served.
    let t = issuer.token().sign();
    assert_eq!(support::get(&gate, "/verify", Some(&t)).await.status, 200);
    let status_line = tokio::time::timeout(GENEROUS, attack)
        .await
        .expect("bounded")
        .unwrap();
    assert!(
        status_line.is_empty() || status_line.contains(" 4"),
        "{status_line:?}"
    );
    assert_eq!(support::get(&gate, "/healthz", None).await.status, 200);
    assert_eq!(support::get(&gate, "/verify", Some(&t)).await.status, 200);
    let pid = gate.child.id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(peak_kb < 64 * 1024, "peak RSS {peak_kb} kB");
}

/// Security review finding 5: an Ed25519 JWK whose `x` is a small-order
/// point (here the identity) would verify a forged signature `R = identity,
/// S = 0` over any message. Such keys never enter the key set.
#[tokio::test]
async fn small_order_ed25519_keys_are_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let issuer = TestIssuer::start().await;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0xffu8; 32];
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    for (name, x) in [("identity", identity), ("order 2", order_two)] {
        let mut keys = issuer
            .keys()
            .iter()
            .map(reauth::testing::TestKey::jwk)
            .collect::<Vec<_>>();
        keys.push(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "kid": "evil", "alg": "EdDSA", "x": B64.encode(x)
        }));
        issuer.set_jwks(serde_json::json!({ "keys": keys }));
        let v = issuer.verifier().await;
        let claims = issuer.token().claims().clone();
        let header = r#"{"alg":"EdDSA","kid":"evil"}"#;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&x);
        let forged = format!(
            "{}.{}.{}",
            B64.encode(header),
            B64.encode(serde_json::Value::Object(claims).to_string()),
            B64.encode(sig)
        );
        assert_eq!(
            support::code(&v, &forged).await,
            "unknown_key",
            "{name}: the small-order key must not be usable"
        );
        // The issuer's real keys still work.
        assert_eq!(support::code(&v, &issuer.token().sign()).await, "accepted");
    }
}
