//! `cargo bench --bench verify`: reauth's verify against the floor (raw
//! aws-lc-rs signature verification with the key parsed once) and against
//! the hand-written peer (`jsonwebtoken::decode`), per algorithm, in one run.
//! `python3 scripts/bench_ratios.py` turns the results into ratios.
//!
//! Criterion measures each cell in its own time slot, so on a shared machine
//! a burst of load on one slot moves a ratio by ±10 % or more. The run ends
//! with a second table, `paired ratios`, that is insensitive to that: in
//! each round the floor, cold and warm verifications run back to back in
//! batches of a few milliseconds (order alternating between rounds), timed
//! by the thread's CPU time (Linux), and the table gives the median over the
//! rounds of each batch's time divided by the floor batch of the same round
//! (with the 25th-75th percentile). `cargo bench --bench verify -- paired`
//! (a filter no criterion cell matches) prints that table alone, in seconds.

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
    let mut paired_rows = Vec::new();

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

        if measuring() {
            let rounds = paired_rounds(
                || {
                    parsed
                        .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                        .is_ok()
                },
                &[
                    &|n| {
                        for _ in 0..n {
                            black_box(
                                raw.verify_reparsing(black_box(input.as_bytes()), black_box(&sig)),
                            );
                        }
                    },
                    &|n| {
                        rt.block_on(async {
                            for _ in 0..n {
                                black_box(cold.verify(black_box(&token), &none).await.is_ok());
                            }
                        })
                    },
                    &|n| {
                        rt.block_on(async {
                            for _ in 0..n {
                                black_box(warm.verify(black_box(&token), &none).await.is_ok());
                            }
                        })
                    },
                ],
            );
            paired_rows.push((alg, rounds));
        }
    }
    if !paired_rows.is_empty() {
        println!(
            "\npaired ratios (median over rounds of batch time / floor batch time of the same round, [p25-p75]):"
        );
        println!(
            "| alg | floor per verify | raw_verify_reparse_key / floor | reauth_cold / floor | reauth_warm / floor |"
        );
        println!("|---|---|---|---|---|");
        for (alg, (floor_ns, ratios)) in paired_rows {
            let cells: Vec<String> = ratios
                .iter()
                .map(|r| format!("{:.3}× [{:.3}-{:.3}]", r[1], r[0], r[2]))
                .collect();
            println!(
                "| {alg:?} | {:.2} µs | {} |",
                floor_ns / 1000.0,
                cells.join(" | ")
            );
        }
    }
}

/// CPU time of this thread, so the time the scheduler gives to other
/// processes (other builds on a 2-core machine) is not counted.
fn thread_cpu_time() -> Duration {
    cpu_time::ThreadTime::now().as_duration()
}

/// True when criterion measures (`cargo bench`), not when it only tests,
/// lists or profiles (`cargo test --benches`, `-- --test`, `--list`,
/// `--profile-time`): the same decision criterion takes from its arguments.
fn measuring() -> bool {
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

/// Times `floor` and each of `others` in interleaved rounds. Returns the
/// median floor time per call (ns) and, per other, the 25th, 50th and 75th
/// percentiles over the rounds of (other batch time / floor batch time).
fn paired_rounds(mut floor: impl FnMut() -> bool, others: &[&dyn Fn(u32)]) -> (f64, Vec<[f64; 3]>) {
    const ROUNDS: usize = 101;
    const BATCH_TIME: Duration = Duration::from_millis(3);
    let mut time_floor = |n: u32| {
        let start = thread_cpu_time();
        for _ in 0..n {
            black_box(floor());
        }
        (thread_cpu_time() - start).as_secs_f64()
    };
    // Calibrate the batch size to about BATCH_TIME of floor work, warming up.
    let mut n = 1u32;
    while time_floor(n) < BATCH_TIME.as_secs_f64() && n < 1 << 20 {
        n *= 2;
    }
    let time_other = |other: &dyn Fn(u32)| {
        let start = thread_cpu_time();
        other(n);
        (thread_cpu_time() - start).as_secs_f64()
    };
    let mut floors = Vec::with_capacity(ROUNDS);
    let mut ratios = vec![Vec::with_capacity(ROUNDS); others.len()];
    for round in 0..ROUNDS {
        // Alternate the order so a drift in load favours neither side.
        let (f, times): (f64, Vec<f64>) = if round % 2 == 0 {
            let f = time_floor(n);
            (f, others.iter().map(|o| time_other(*o)).collect())
        } else {
            let times = others
                .iter()
                .rev()
                .map(|o| time_other(*o))
                .collect::<Vec<_>>();
            (time_floor(n), times.into_iter().rev().collect())
        };
        floors.push(f / f64::from(n) * 1e9);
        for (r, t) in ratios.iter_mut().zip(times) {
            r.push(t / f);
        }
    }
    let quartiles = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: usize| v[(v.len() - 1) * q / 4];
        [at(1), at(2), at(3)]
    };
    let floor_ns = quartiles(&mut floors)[1];
    (floor_ns, ratios.iter_mut().map(quartiles).collect())
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
