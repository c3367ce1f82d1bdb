//! Token parsing and validation, through the real `Verifier`, with a fixed
//! key set (the test issuer's, loaded once over loopback). Nothing the fuzzer
//! makes can be correctly signed, so every input must be rejected with a
//! documented code, without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reauth::testing::TestIssuer;
use reauth::{Requirement, Verifier};

struct World {
    rt: tokio::runtime::Runtime,
    verifier: Verifier,
    _issuer: TestIssuer,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (issuer, verifier) = rt.block_on(async {
            let issuer = TestIssuer::start().await;
            let verifier = issuer.verifier().await;
            (issuer, verifier)
        });
        World { rt, verifier, _issuer: issuer }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let token = String::from_utf8_lossy(data);
    let requirement = Requirement::max_age(std::time::Duration::from_secs(300));
    match w.rt.block_on(w.verifier.verify(&token, &requirement)) {
        Ok(_) => panic!("accepted a token the fuzzer made"),
        Err(e) => assert!(reauth::__fuzz::documented(e.code()), "{}", e.code()),
    }
});
