//! Target for `scripts/load.sh`: the embedded test issuer plus an actix app
//! with an unguarded route (`GET /open`) and a guarded one (`GET /guarded`,
//! max_age 1 h). Writes the issuer URL, the app URL and a file of distinct
//! tokens (one per line) to the directory given as the first argument, then
//! serves until killed. Loopback only.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reauth::Requirement;
use reauth::actix::Reauthenticated;
use reauth::testing::TestIssuer;

async fn open() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

async fn guarded(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().body(user.subject().to_owned())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: load_app OUT_DIR"));
    let workers: usize = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/open", web::get().to(open))
            .service(
                web::resource("/guarded")
                    .app_data(Requirement::max_age(Duration::from_secs(3600)))
                    .route(web::get().to(guarded)),
            )
    })
    .workers(workers)
    .bind(("127.0.0.1", 0))?;
    let addr = server.addrs()[0];
    let tokens: Vec<String> = (0..2000)
        .map(|i| issuer.token().claim("sub", format!("user-{i}")).sign())
        .collect();
    std::fs::write(dir.join("tokens.txt"), tokens.join("\n") + "\n")?;
    std::fs::write(dir.join("issuer.txt"), issuer.issuer())?;
    std::fs::write(dir.join("app.txt"), format!("http://{addr}"))?;
    server.run().await
}
