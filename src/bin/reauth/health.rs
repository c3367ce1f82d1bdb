//! The gate's probes: `/livez` (the process answers), `/readyz` (send it
//! traffic) and `/healthz` (keys loaded, as documented since 0.1). Every
//! 503 carries `Retry-After`.

use actix_web::{HttpResponse, web};
use reauth::Answer;
use reauth::actix::answer_response;
use serde_json::json;

use crate::state::Gate;

/// A probe's answer, through the one conversion every answer takes:
/// `{"status": ...}`, never cached, `Retry-After` on a 503.
fn probe(status: u16, word: &str) -> HttpResponse {
    answer_response(Answer::json(status, &json!({ "status": word })))
}

fn unavailable(status: &str) -> HttpResponse {
    probe(503, status)
}

fn ok() -> HttpResponse {
    probe(200, "ok")
}

/// Keys loaded (as documented since 0.1).
pub async fn healthz(gate: web::Data<Gate>) -> HttpResponse {
    if gate.keeper.verifiers.warm_up().await {
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
    if !gate.keeper.verifiers.warm_up().await {
        return unavailable("keys_unavailable");
    }
    if let Some(sync) = gate.keeper.verifiers.stats().revocation {
        if !sync.within_bound() {
            return unavailable("revocation_unavailable");
        }
    }
    ok()
}
