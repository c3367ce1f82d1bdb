//! Issuer sets against real local issuers: several at once, a tenant
//! template served under paths of one local server
//! (`http://127.0.0.1:PORT/realms/{tenant}`), unknown issuers without a
//! network call, per-issuer revocation, and a flood of random tenants.

use std::time::Duration;

use reauth::testing::{TEST_CLIENT_ID, TestIssuer};
use reauth::{IssuerSet, Requirement, TenantTemplate, VerifierConfig, valid_tenant};

fn template(server: &TestIssuer) -> TenantTemplate {
    TenantTemplate::new(
        &format!("{}/realms/{{tenant}}", server.issuer()),
        |issuer, _tenant| {
            VerifierConfig::builder(issuer)
                .audience(TEST_CLIENT_ID)
                .http_timeout(Duration::from_secs(2))
                .build()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn each_token_goes_to_its_issuer_and_only_it() {
    let (a, b) = (TestIssuer::start().await, TestIssuer::start().await);
    let set = IssuerSet::new([a.verifier().await, b.verifier().await], None).unwrap();
    let none = Requirement::none();
    let from_a = a.token().sign();
    let from_b = b.token().sign();
    assert_eq!(
        set.verify(&from_a, &none).await.unwrap().claims.iss,
        a.issuer()
    );
    assert_eq!(
        set.verify(&from_b, &none).await.unwrap().claims.iss,
        b.issuer()
    );

    // A token naming A but signed with B's key: A checks it, and refuses.
    let forged = a.token().key(&b.rsa_key()).sign();
    let code = set.verify(&forged, &none).await.unwrap_err().code();
    assert!(
        code == "unknown_key" || code == "invalid_signature",
        "{code}"
    );

    // An issuer the set does not know: invalid_issuer, and no request anywhere.
    let before = (
        a.discovery_requests(),
        b.discovery_requests(),
        a.jwks_requests(),
    );
    let stranger = a.token().claim("iss", "https://evil.example").sign();
    assert_eq!(
        set.verify(&stranger, &none).await.unwrap_err().code(),
        "invalid_issuer"
    );
    assert_eq!(
        before,
        (
            a.discovery_requests(),
            b.discovery_requests(),
            a.jwks_requests()
        )
    );
    for bad in ["x", "a.b", "a.!!!.c", &"a".repeat(20_000)] {
        assert_eq!(
            set.verify(bad, &none).await.unwrap_err().code(),
            "malformed_token"
        );
    }

    // Revocation is per issuer: user-1 of A is not user-1 of B.
    let av = set.choose(&from_a).await.unwrap();
    av.revoke_user("user-1", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after_a = a.token().auth_time_ago(5).sign();
    let after_b = b.token().auth_time_ago(5).sign();
    assert_eq!(
        set.verify(&after_a, &none).await.unwrap_err().code(),
        "revoked"
    );
    assert!(set.verify(&after_b, &none).await.is_ok());
    // A token the set's memo holds is judged again, by its own issuer.
    assert_eq!(
        set.verify(&from_a, &none).await.unwrap_err().code(),
        "revoked"
    );
    assert!(set.verify(&from_b, &none).await.is_ok());

    // One issuer listed twice is a configuration error.
    assert!(IssuerSet::new([a.verifier().await, a.verifier().await], None).is_err());
}

#[tokio::test]
async fn tenants_are_discovered_once_and_cached() {
    let server = TestIssuer::start().await;
    let (t1, t2) = (server.tenant("acme"), server.tenant("globex"));
    let set = IssuerSet::new([], Some(template(&server))).unwrap();
    let none = Requirement::none();
    for _ in 0..3 {
        assert!(set.verify(&t1.token().sign(), &none).await.is_ok());
        assert!(set.verify(&t2.token().sign(), &none).await.is_ok());
    }
    assert_eq!(set.discoveries(), 2);
    assert_eq!((t1.discovery_requests(), t2.discovery_requests()), (1, 1));
    // Their keys are their own.
    let crossed = t1.token().key(&t2.rsa_key()).sign();
    assert!(set.verify(&crossed, &none).await.is_err());
    // Concurrent first sight of one tenant: one discovery.
    let t3 = server.tenant("initech");
    let token = t3.token().sign();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (set, token) = (set.clone(), token.clone());
            tokio::spawn(async move { set.verify(&token, &Requirement::none()).await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(t3.discovery_requests(), 1);
}

#[tokio::test]
async fn the_allow_list_and_the_tenant_grammar_are_checked_before_any_discovery() {
    let server = TestIssuer::start().await;
    let (t1, t2) = (server.tenant("acme"), server.tenant("globex"));
    let set = IssuerSet::new([], Some(template(&server).tenants(["acme"]))).unwrap();
    let none = Requirement::none();
    assert!(set.verify(&t1.token().sign(), &none).await.is_ok());
    assert_eq!(
        set.verify(&t2.token().sign(), &none)
            .await
            .unwrap_err()
            .code(),
        "invalid_issuer"
    );
    let base = format!("{}/realms/", server.issuer());
    for tenant in ["", "ACME", "a/b", "a.b", &"a".repeat(64), "acme/../globex"] {
        let t = t1.token().claim("iss", format!("{base}{tenant}")).sign();
        assert_eq!(
            set.verify(&t, &none).await.unwrap_err().code(),
            "invalid_issuer",
            "{tenant}"
        );
    }
    assert_eq!(set.discoveries(), 1);
    assert_eq!(t2.discovery_requests(), 0);
    assert!(valid_tenant("acme-42") && !valid_tenant("Acme") && !valid_tenant(&"a".repeat(64)));
    for bad in [
        "https://a.example",
        "https://{tenant}.x/{tenant}",
        "{tenant}",
    ] {
        assert!(
            TenantTemplate::new(bad, |i, _| VerifierConfig::builder(i).audience("a").build())
                .is_err(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_flood_of_random_tenants_costs_one_discovery_each_and_known_tenants_keep_working() {
    let server = TestIssuer::start().await;
    let known = server.tenant("acme");
    let set = IssuerSet::new(
        [],
        Some(template(&server).negative_ttl(Duration::from_secs(300))),
    )
    .unwrap();
    let none = Requirement::none();
    let good = known.token().sign();
    assert!(set.verify(&good, &none).await.is_ok());
    // 50 tenants nobody serves (404 at their discovery), each named 10
    // times, at once.
    let tokens: Vec<String> = (0..50)
        .map(|i| {
            let iss = format!("{}/realms/random-{i}", server.issuer());
            known.token().claim("iss", iss).sign()
        })
        .collect();
    let flood: Vec<_> = (0..10)
        .flat_map(|_| tokens.clone())
        .map(|t| {
            let set = set.clone();
            tokio::spawn(async move {
                set.verify(&t, &Requirement::none())
                    .await
                    .unwrap_err()
                    .code()
            })
        })
        .collect();
    // Known tenants answer throughout.
    for _ in 0..20 {
        assert!(set.verify(&good, &none).await.is_ok());
    }
    for f in flood {
        assert_eq!(f.await.unwrap(), "keys_unavailable");
    }
    // At most one discovery per tenant (plus the known one), and what the
    // server saw agrees.
    let d = set.discoveries();
    assert!(d <= 51, "{d} discoveries for 50 tenants");
    let fetched = server
        .other_requests()
        .iter()
        .filter(|p| p.starts_with("/realms/random-"))
        .count() as u64;
    assert!((1..=50).contains(&fetched), "{fetched} discovery fetches");
    // Asked again: discovered at most once each (remembered as failed).
    for t in &tokens {
        assert_eq!(
            set.verify(t, &none).await.unwrap_err().code(),
            "keys_unavailable"
        );
    }
    // (Tokens refused for "too many discoveries at once" were not
    // discovered; a second round may discover those, once.)
    assert!(set.discoveries() <= 51, "{}", set.discoveries());
}

#[tokio::test]
async fn the_actix_extractors_take_an_issuer_set() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use reauth::actix::Reauthenticated;
    async fn who(user: Reauthenticated) -> HttpResponse {
        HttpResponse::Ok().body(user.claims.iss.clone())
    }
    let (a, b) = (TestIssuer::start().await, TestIssuer::start().await);
    let set = IssuerSet::new([a.verifier().await, b.verifier().await], None).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let s = set.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(s.clone()))
            .app_data(Requirement::none())
            .route("/who", web::get().to(who))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    each_issuer_is_answered_and_a_stranger_refused(addr, [&a, &b]).await;
}

/// `GET http://{addr}/who` answers each issuer's token with its `iss`, and
/// refuses (401) a token from an issuer outside the set.
async fn each_issuer_is_answered_and_a_stranger_refused(
    addr: std::net::SocketAddr,
    issuers: [&TestIssuer; 2],
) {
    let client = reqwest::Client::new();
    for issuer in issuers {
        let res = client
            .get(format!("http://{addr}/who"))
            .bearer_auth(issuer.token().sign())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), issuer.issuer());
    }
    let stranger = TestIssuer::start().await;
    let res = client
        .get(format!("http://{addr}/who"))
        .bearer_auth(stranger.token().sign())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_axum_extractors_take_an_issuer_set() {
    use axum::{Extension, Router, routing::get};
    use reauth::Verifiers;
    use reauth::axum::Reauthenticated;
    async fn who(user: Reauthenticated) -> String {
        user.claims.iss.clone()
    }
    let (a, b) = (TestIssuer::start().await, TestIssuer::start().await);
    let set = IssuerSet::new([a.verifier().await, b.verifier().await], None).unwrap();
    let app = Router::new()
        .route("/who", get(who))
        .layer(Extension(Requirement::none()))
        .with_state(Verifiers::from(set));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    each_issuer_is_answered_and_a_stranger_refused(addr, [&a, &b]).await;
}
