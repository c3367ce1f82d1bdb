//! The gate's probes: `/livez` (the process answers), `/readyz` (send it
//! traffic) and `/healthz` (keys loaded, as documented since 0.1). Every
//! 503 carries `Retry-After`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use reauth::guard::RETRY_AFTER_SECS;
use serde_json::json;

use crate::state::Gate;

fn unavailable(status: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "status": status }))
}

fn ok() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"status": "ok"}))
}

/// Keys loaded (as documented since 0.1).
pub async fn healthz(gate: web::Data<Gate>) -> HttpResponse {
    if gate.verifier.warm_up().await {
        ok()
    } else {
        unavailable("keys_unavailable")
    }
}

/// The process answers: restart it only when this fails.
pub async fn livez() -> HttpResponse {
    ok()
}

/// Send traffic here: keys loaded and, with a shared revocation store, its
/// copy within the staleness bound.
pub async fn readyz(gate: web::Data<Gate>) -> HttpResponse {
    if !gate.verifier.warm_up().await {
        return unavailable("keys_unavailable");
    }
    if let Some(sync) = gate.verifier.stats().revocation {
        if !sync.within_bound() {
            return unavailable("revocation_unavailable");
        }
    }
    ok()
}
