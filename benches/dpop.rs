//! `cargo bench --bench dpop`: what DPoP (RFC 9449) costs on top of a
//! verification, in one run, timed by the thread's CPU time (other
//! processes on a 2-core machine are not counted), in interleaved rounds:
//!
//! - `dpop_warm`: a memoised bound token with a fresh ES256 proof (the
//!   proof check, the `jti` record, the binding) — target ≤ 40 µs;
//! - `bearer_cold` and `dpop_cold`: the same kind of token verified from
//!   scratch (no memo), as `Bearer` and as a bound token with its proof —
//!   target `dpop_cold / bearer_cold` ≤ 1.6.
//!
//! And, in the same rounds, the floor under both targets: one bare P-256
//! ECDSA signature check by aws-lc-rs (`p256_verify`), the work a proof
//! cannot do without. `dpop_warm - p256_verify` is what reauth adds.
//!
//! Proofs are made before timing (each may be used once). `cargo test
//! --benches` runs it once as a smoke test.

use std::hint::black_box;
use std::time::Duration;

use reauth::testing::{DpopKey, TestIssuer};
use reauth::{Algorithm, ClaimsMap, DpopPresentation, Requirement, Verifier};

const ROUNDS: usize = 41;
const BATCH: usize = 200;

fn cpu() -> Duration {
    cpu_time::ThreadTime::now().as_duration()
}

fn presentation(proof: String) -> DpopPresentation {
    DpopPresentation {
        proofs: vec![proof],
        method: "POST".into(),
        origin: "https://api.example.com".into(),
        path: "/payouts".into(),
    }
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (rounds, batch) = if smoke { (1, 5) } else { (ROUNDS, BATCH) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(TestIssuer::start());
    let warm = rt.block_on(issuer.verifier());
    let cold = rt.block_on(async {
        Verifier::discover(issuer.config().memo_max_entries(0).build().unwrap())
            .await
            .unwrap()
    });
    let key = DpopKey::es256();
    let none = Requirement::none();
    let url = "https://api.example.com/payouts";
    let bound = issuer
        .token()
        .alg(Algorithm::ES256)
        .claim("cnf", key.cnf())
        .sign();
    let bearer = issuer.token().alg(Algorithm::ES256).sign();
    let proofs = |n: usize| -> Vec<DpopPresentation> {
        (0..n)
            .map(|_| presentation(key.proof("POST", url, &bound).sign()))
            .collect()
    };
    // The baseline: a bare ES256 (P-256, SHA-256) check of a proof-sized
    // message, with the public key parsed on each call as a proof's is.
    let p256 = {
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap();
        let message = vec![b'a'; 300];
        let sig = pair.sign(&rng, &message).unwrap();
        (
            pair.public_key().as_ref().to_vec(),
            message,
            sig.as_ref().to_vec(),
        )
    };
    let time_p256 = || {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
        let (public, message, sig) = &p256;
        let start = cpu();
        for _ in 0..batch {
            let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(public));
            assert!(key.verify(black_box(message), black_box(sig)).is_ok());
        }
        cpu() - start
    };
    let mut warm_us = Vec::new();
    let mut p256_us = Vec::new();
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let (warm_set, cold_set) = (proofs(batch), proofs(batch));
        let time_warm = || {
            let start = cpu();
            rt.block_on(async {
                for p in &warm_set {
                    let r = warm
                        .verify_presented_as::<ClaimsMap>(&bound, Some(p), &none)
                        .await;
                    assert!(r.is_ok(), "{r:?}");
                }
            });
            cpu() - start
        };
        let time_bearer = || {
            let start = cpu();
            rt.block_on(async {
                for _ in 0..batch {
                    black_box(cold.verify(black_box(&bearer), &none).await.is_ok());
                }
            });
            cpu() - start
        };
        let time_dpop = || {
            let start = cpu();
            rt.block_on(async {
                for p in &cold_set {
                    let r = cold
                        .verify_presented_as::<ClaimsMap>(&bound, Some(p), &none)
                        .await;
                    assert!(r.is_ok(), "{r:?}");
                }
            });
            cpu() - start
        };
        // Alternate the order so a drift in load favours neither side.
        let (w, b, d) = if round % 2 == 0 {
            let w = time_warm();
            let b = time_bearer();
            (w, b, time_dpop())
        } else {
            let d = time_dpop();
            let b = time_bearer();
            (time_warm(), b, d)
        };
        warm_us.push(w.as_secs_f64() * 1e6 / batch as f64);
        p256_us.push(time_p256().as_secs_f64() * 1e6 / batch as f64);
        ratios.push(d.as_secs_f64() / b.as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 4], v[v.len() / 2], v[(v.len() - 1) * 3 / 4])
    };
    let (w25, w50, w75) = median(&mut warm_us);
    let (r25, r50, r75) = median(&mut ratios);
    let (p25, p50, p75) = median(&mut p256_us);
    println!("| measure | median [p25-p75] | target |");
    println!("|---|---|---|");
    println!(
        "| dpop_warm (memoised token, ES256 proof) | {w50:.1} µs [{w25:.1}-{w75:.1}] | ≤ 40 µs |"
    );
    println!(
        "| dpop_cold / bearer_cold (same token size, ES256) | {r50:.2}× [{r25:.2}-{r75:.2}] | ≤ 1.6× |"
    );
    println!(
        "| p256_verify (one bare aws-lc-rs P-256 check, the floor) | {p50:.1} µs [{p25:.1}-{p75:.1}] | |"
    );
    println!(
        "| dpop_warm - p256_verify (what reauth adds) | {:.1} µs | |",
        w50 - p50
    );
}
