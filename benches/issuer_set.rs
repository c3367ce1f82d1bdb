//! `cargo bench --bench issuer_set`: verifying through an `IssuerSet` of
//! 100 issuers (tenants of one local server) against the same token's own
//! single `Verifier`, cold (memo off: signature checked every time) and
//! warm (memo on). Issue #13's target: the set costs ≤ 1.05× the single
//! verifier. `python3 scripts/bench_ratios.py --issuer-set` prints the
//! ratios.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use reauth::testing::{TEST_CLIENT_ID, TestIssuer};
use reauth::{IssuerSet, Requirement, Verifier, VerifierConfig};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestIssuer::start());
    let tenants: Vec<TestIssuer> = (0..100)
        .map(|i| rt.block_on(async { server.tenant(&format!("t{i}")) }))
        .collect();
    let discover = |issuer: &str, memo: usize| {
        rt.block_on(async {
            Verifier::discover(
                VerifierConfig::builder(issuer)
                    .audience(TEST_CLIENT_ID)
                    .memo_max_entries(memo)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap()
        })
    };
    let target = &tenants[57];
    let token = target.token().sign();
    let none = Requirement::none();
    for (name, memo) in [("cold", 0), ("warm", 100_000)] {
        let single = discover(target.issuer(), memo);
        let set = IssuerSet::new(tenants.iter().map(|t| discover(t.issuer(), memo)), None).unwrap();
        rt.block_on(async {
            assert!(single.verify(&token, &none).await.is_ok());
            assert!(set.verify(&token, &none).await.is_ok());
        });
        let mut g = c.benchmark_group(format!("issuer_set_{name}"));
        g.bench_function("single_verifier", |b| {
            b.to_async(&rt)
                .iter(|| async { single.verify(black_box(&token), &none).await.is_ok() })
        });
        g.bench_function("set_of_100", |b| {
            b.to_async(&rt)
                .iter(|| async { set.verify(black_box(&token), &none).await.is_ok() })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40);
    targets = bench
}
criterion_main!(benches);
