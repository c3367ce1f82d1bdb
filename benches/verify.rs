//! `cargo bench --bench verify`: reauth's verify against the floor (raw
//! aws-lc-rs signature verification with the key parsed once) and against
//! the hand-written peer (`jsonwebtoken::decode`), per algorithm, in one run.
//! `python3 scripts/bench_ratios.py` turns the results into ratios.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use reauth::testing::{TEST_CLIENT_ID, TestIssuer, TestKey};
use reauth::{Algorithm, Requirement, Verifier};
use serde_json::{Map, Value, json};

/// Raw verification material for one algorithm.
enum Raw {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        params: &'static signature::RsaParameters,
    },
    Other {
        alg: &'static dyn signature::VerificationAlgorithm,
        public: Vec<u8>,
    },
}

impl Raw {
    fn new(key: &TestKey, alg: Algorithm) -> Self {
        let jwk = key.jwk();
        let b = |f: &str| B64.decode(jwk[f].as_str().unwrap()).unwrap();
        match alg {
            Algorithm::RS256 => Raw::Rsa {
                n: b("n"),
                e: b("e"),
                params: &signature::RSA_PKCS1_2048_8192_SHA256,
            },
            Algorithm::PS256 => Raw::Rsa {
                n: b("n"),
                e: b("e"),
                params: &signature::RSA_PSS_2048_8192_SHA256,
            },
            Algorithm::ES256 => {
                let mut point = vec![4];
                point.extend(b("x"));
                point.extend(b("y"));
                Raw::Other {
                    alg: &signature::ECDSA_P256_SHA256_FIXED,
                    public: point,
                }
            }
            _ => Raw::Other {
                alg: &signature::ED25519,
                public: b("x"),
            },
        }
    }

    fn parsed(&self) -> ParsedPublicKey {
        match self {
            Raw::Rsa { n, e, params } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(params)
                .unwrap(),
            Raw::Other { alg, public } => ParsedPublicKey::new(*alg, public).unwrap(),
        }
    }

    fn verify_reparsing(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            Raw::Rsa { n, e, params } => RsaPublicKeyComponents { n, e }
                .verify(params, msg, sig)
                .is_ok(),
            Raw::Other { alg, public } => UnparsedPublicKey::new(*alg, public)
                .verify(msg, sig)
                .is_ok(),
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(TestIssuer::start());
    let keys = issuer.keys();
    // The RSA key without `alg`, so it verifies both RS256 and PS256.
    issuer.set_jwks(json!({"keys": [keys[0].jwk_without_alg(), keys[1].jwk(), keys[2].jwk()]}));
    let cold = rt.block_on(async {
        Verifier::discover(issuer.config().memo_max_entries(0).build().unwrap())
            .await
            .unwrap()
    });
    let warm = rt.block_on(issuer.verifier());
    let none = Requirement::none();
    let fresh = Requirement::max_age(Duration::from_secs(300));

    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let key = keys.iter().find(|k| k.supports(alg)).unwrap().clone();
        let token = issuer.token().alg(alg).claim("sid", "bench-session").sign();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = B64.decode(sig).unwrap();
        let raw = Raw::new(&key, alg);
        let parsed = raw.parsed();
        assert!(parsed.verify_sig(input.as_bytes(), &sig).is_ok());
        assert!(raw.verify_reparsing(input.as_bytes(), &sig));

        let jwk: Jwk =
            serde_json::from_value(if alg == Algorithm::RS256 || alg == Algorithm::PS256 {
                key.jwk_without_alg()
            } else {
                key.jwk()
            })
            .unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(alg);
        validation.set_audience(&[TEST_CLIENT_ID]);
        validation.set_issuer(&[issuer.issuer()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 30;
        assert!(jsonwebtoken::decode::<Map<String, Value>>(&token, &decoding, &validation).is_ok());
        rt.block_on(async {
            assert!(cold.verify(&token, &fresh).await.is_ok());
            assert!(warm.verify(&token, &fresh).await.is_ok());
        });

        let mut g = c.benchmark_group(format!("{alg:?}"));
        g.bench_function("raw_verify_parsed_key", |b| {
            b.iter(|| {
                parsed
                    .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .is_ok()
            })
        });
        g.bench_function("raw_verify_reparse_key", |b| {
            b.iter(|| raw.verify_reparsing(black_box(input.as_bytes()), black_box(&sig)))
        });
        g.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(
                    black_box(&token),
                    &decoding,
                    &validation,
                )
                .is_ok()
            })
        });
        g.bench_function("reauth_cold", |b| {
            b.to_async(&rt)
                .iter(|| async { cold.verify(black_box(&token), &none).await.is_ok() })
        });
        g.bench_function("reauth_cold_max_age", |b| {
            b.to_async(&rt)
                .iter(|| async { cold.verify(black_box(&token), &fresh).await.is_ok() })
        });
        g.bench_function("reauth_warm", |b| {
            b.to_async(&rt)
                .iter(|| async { warm.verify(black_box(&token), &none).await.is_ok() })
        });
        g.bench_function("reauth_warm_max_age", |b| {
            b.to_async(&rt)
                .iter(|| async { warm.verify(black_box(&token), &fresh).await.is_ok() })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    targets = bench
}
criterion_main!(benches);
