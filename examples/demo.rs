//! The whole story, offline: `cargo run --example demo`.
//!
//! Starts the embedded test issuer (a real OpenID issuer on 127.0.0.1 with
//! generated keys) and an actix-web app whose sensitive routes demand a
//! login no older than five minutes, then walks through what a client sees.
//! `cargo run --example demo -- --serve` keeps both running for `curl`.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reauth::actix::Reauthenticated;
use reauth::testing::{TestIssuer, TestKey};
use reauth::{ReauthPolicy, Requirement, Verifier};
use serde_json::json;

const FIVE_MIN: Duration = Duration::from_secs(300);

async fn delete_account(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "deleted": user.subject(),
        "auth_time": user.auth_time(),
        "freshness": user.freshness.as_str(),
    }))
}

async fn payout(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "paid": user.subject(), "freshness": user.freshness.as_str() }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let serve = std::env::args().any(|a| a == "--serve");
    let issuer = TestIssuer::start().await;
    let config = issuer
        .config()
        // Short, so the key-rotation scenario below need not wait 30 s.
        .jwks_refresh_cooldown(Duration::from_secs(1))
        .build()
        .expect("config");
    let verifier = Verifier::discover(config).await.expect("discovery");

    let app_verifier = verifier.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_verifier.clone())
            .service(
                web::resource("/account/delete")
                    .app_data(Requirement::max_age(FIVE_MIN))
                    .route(web::post().to(delete_account)),
            )
            .service(
                web::resource("/payout")
                    .app_data(
                        Requirement::max_age(FIVE_MIN)
                            .when_cannot_reauthenticate(ReauthPolicy::Allow),
                    )
                    .route(web::post().to(payout)),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let addr = server.addrs()[0];
    let handle = server.run();
    let server_handle = handle.handle();
    tokio::spawn(handle);
    let base = format!("http://{addr}");

    println!("reauth demo\n");
    println!("A *recent login* means the user entered their credentials a few minutes ago,");
    println!("not just that they hold a valid session: before deleting an account or paying");
    println!("out, the app asks for one, so a stolen or forgotten-open session is not enough.");
    println!("On the 401 below, the client re-authenticates the user with the challenge's");
    println!("max_age (Authgear: reauthenticate(); any OIDC provider: max_age=300) and retries.\n");
    println!("  test issuer : {}", issuer.issuer());
    println!("  app         : {base}");
    println!(
        "  routes      : POST /account/delete (max_age 300 s, deny users who cannot re-authenticate)"
    );
    println!(
        "                POST /payout         (max_age 300 s, allow users who cannot re-authenticate)\n"
    );

    let client = reqwest::Client::new();
    let call = |step: &'static str, path: &'static str, token: Option<String>| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            println!("== {step}");
            let mut req = client.post(format!("{base}{path}"));
            match &token {
                Some(t) => {
                    println!(
                        "   POST {path}\n   Authorization: Bearer {}...({} bytes)",
                        &t[..24.min(t.len())],
                        t.len()
                    );
                    req = req.bearer_auth(t);
                }
                None => println!("   POST {path}   (no Authorization header)"),
            }
            let res = req.send().await.expect("request");
            println!("   -> {}", res.status());
            if let Some(c) = res.headers().get("www-authenticate") {
                println!("   WWW-Authenticate: {}", c.to_str().unwrap_or("?"));
            }
            println!("   {}\n", res.text().await.unwrap_or_default());
        }
    };

    call(
        "1. Fresh login -> 200",
        "/account/delete",
        Some(issuer.token().sign()),
    )
    .await;
    call(
        "2. Logged in 1 h ago (ID token refreshed since: auth_time is kept) -> 401 + RFC 9470 challenge",
        "/account/delete",
        Some(issuer.token().auth_time_ago(3600).sign()),
    )
    .await;
    let cannot = issuer
        .token()
        .auth_time_ago(3600)
        .can_reauthenticate(false)
        .sign();
    call(
        "3a. User who cannot re-authenticate, deny policy -> 403",
        "/account/delete",
        Some(cannot.clone()),
    )
    .await;
    call(
        "3b. Same user, allow policy -> 200 (freshness \"unavailable\")",
        "/payout",
        Some(cannot),
    )
    .await;
    let forged = issuer
        .token()
        .key(&TestKey::rsa("rsa-1"))
        .claim("sub", "admin")
        .sign();
    call(
        "4. Signed by an attacker's key under the issuer's kid -> 401 invalid_token",
        "/account/delete",
        Some(forged),
    )
    .await;
    call(
        "5. No token -> 401 with a bare Bearer challenge",
        "/account/delete",
        None,
    )
    .await;
    let before_rotation = issuer.token().sign();
    issuer.rotate();
    tokio::time::sleep(Duration::from_millis(1100)).await; // the demo's 1 s refresh cooldown
    call(
        "6a. Issuer rotated its keys: new kid is fetched once -> 200",
        "/account/delete",
        Some(issuer.token().sign()),
    )
    .await;
    call(
        "6b. Token signed by the retired key -> 401 unknown key",
        "/account/delete",
        Some(before_rotation),
    )
    .await;
    println!(
        "(JWKS fetched {} times, discovery {} time(s), for all of the above)\n",
        issuer.jwks_requests(),
        issuer.discovery_requests()
    );

    println!(
        "Browser apps: a browser cannot act on a 401, so `reauth::stepup` (feature `stepup`)\n\
         sends it to the issuer with max_age and proves on the way back that a new login\n\
         happened (README \"Browser apps\"). Try it in a browser:\n\
         \x20 cargo run --example stepup   # then open http://127.0.0.1:8080/account\n"
    );

    if serve {
        let token = issuer.token().sign();
        let old = issuer.token().auth_time_ago(3600).sign();
        let cannot = issuer
            .token()
            .auth_time_ago(3600)
            .can_reauthenticate(false)
            .sign();
        println!("Serving until Ctrl-C or SIGTERM. Try:");
        println!("  # fresh login -> 200");
        println!("  curl -i -X POST {base}/account/delete -H 'Authorization: Bearer {token}'");
        println!("  # logged in an hour ago -> 401 with the max_age challenge");
        println!("  curl -i -X POST {base}/account/delete -H 'Authorization: Bearer {old}'");
        println!("  # user who cannot re-authenticate, deny policy -> 403");
        println!("  curl -i -X POST {base}/account/delete -H 'Authorization: Bearer {cannot}'");
        println!("  # the same user on the allow-policy route -> 200, freshness \"unavailable\"");
        println!("  curl -i -X POST {base}/payout -H 'Authorization: Bearer {cannot}'");
        println!("(tokens from the embedded test issuer; the fresh one is fresh for 5 minutes)");
        stopped().await?;
    } else {
        println!("Run `cargo run --example demo -- --serve` to keep the app up and curl it.");
    }
    server_handle.stop(true).await;
    drop(verifier);
    Ok(())
}

/// Ctrl-C, or SIGTERM (a container runtime, `kill`, systemd).
async fn stopped() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
