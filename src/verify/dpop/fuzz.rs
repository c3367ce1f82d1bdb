//! The `dpop_proof` fuzz target's body (feature `fuzzing`): raw header
//! values, proofs signed here around fuzzed header members and payloads
//! (so the fuzzer reaches the claim checks behind the signature), and
//! `normalize_htu`. Panics only on a broken invariant.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::verify::dpop::htu::normalize_htu;
use crate::verify::dpop::proof::{
    MAX_JTI_BYTES, ProofLimits, ProofRequest, access_token_hash, check_proof,
};

const NOW: i64 = 1_700_000_000;
const TOKEN: &str = "access-token";

/// The first byte picks the shape; the rest is the input.
pub(crate) fn fuzz_one(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => {
            let values: Vec<&str> = text.split('\n').take(3).collect();
            check(&values, None);
        }
        1 => {
            // `<header tail>\n<payload>`: the header opens with a valid typ,
            // alg and jwk; the fuzzer writes the rest of it and the payload.
            let (tail, payload) = text.split_once('\n').unwrap_or((&text, ""));
            let (key, jwk) = key();
            let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}{tail}"#);
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload)
            );
            let Ok(sig) = key.sign(&SystemRandom::new(), input.as_bytes()) else {
                return;
            };
            let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
            let nonce = payload.contains("nonce").then_some("n");
            check(&[&proof], nonce);
        }
        _ => {
            if let Ok(once) = normalize_htu(&text) {
                assert_eq!(normalize_htu(&once).ok().as_ref(), Some(&once), "{text:?}");
                assert!(!once.contains(['?', '#']), "{once}");
            }
        }
    }
}

/// Checks a proof; an accepted one must fit the request in every claim.
fn check(values: &[&str], nonce: Option<&str>) {
    let req = ProofRequest {
        method: "GET",
        htu: "https://rs.example/r",
        access_token: TOKEN,
        now: NOW,
        expected_nonce: nonce,
    };
    let limits = ProofLimits::default();
    let Ok(proof) = check_proof(values, &req, &limits) else {
        return;
    };
    assert!(!proof.jti.is_empty() && proof.jti.len() <= MAX_JTI_BYTES);
    assert!((NOW - 60..=NOW + 5).contains(&proof.iat), "{}", proof.iat);
    assert_eq!(proof.jkt.len(), 43);
    let [value] = values else {
        panic!("accepted {} header values", values.len());
    };
    let payload = value
        .trim_matches([' ', '\t'])
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .unwrap_or_default();
    assert_eq!(payload["htm"], "GET");
    let htu = payload["htu"].as_str().unwrap_or_default();
    assert_eq!(
        normalize_htu(htu).ok().as_deref(),
        Some("https://rs.example/r")
    );
    assert_eq!(payload["ath"], access_token_hash(TOKEN).as_str());
    if let Some(n) = nonce {
        assert_eq!(payload["nonce"], n);
    }
}

/// One ES256 key per fuzzing process, and its public JWK.
fn key() -> &'static (EcdsaKeyPair, String) {
    static KEY: OnceLock<(EcdsaKeyPair, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let Ok(pair) = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING) else {
            panic!("EC key generation failed");
        };
        let point = pair.public_key().as_ref();
        let jwk = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..65])
        );
        (pair, jwk)
    })
}
