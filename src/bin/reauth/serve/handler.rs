//! `/verify` and `/reauth/...`: the actix glue around the library's
//! decisions ([`Gatekeeper`](reauth::gate::Gatekeeper)), with the metrics
//! and the decision log.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use reauth::actix::answer_response;
use reauth::gate::forward::{ForwardRequest, Outcome};

use crate::state::Gate;

pub(super) async fn verify(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    let started = Instant::now();
    // The policy in force for this whole request (a reload swaps the next).
    let policy = gate.policy.as_ref().map(|p| p.load_full());
    let Outcome {
        route,
        code,
        answer,
    } = {
        let headers = headers(&req);
        gate.keeper
            .verify(&forward_request(&req, &headers), policy.as_deref())
            .await
    };
    let elapsed = started.elapsed();
    if let Some(m) = &gate.metrics {
        m.decision(route, code, elapsed);
    }
    tracing::debug!(
        target: "reauth::decision",
        route = %route,
        code,
        status = answer.status,
        latency_us = elapsed.as_micros() as u64,
        "reauth: decision"
    );
    answer_response(answer)
}

/// Every header of `req`, in order, as the library's decisions read them.
fn headers(req: &HttpRequest) -> Vec<(&str, &[u8])> {
    req.headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect()
}

/// The gate's own request, for the library's decisions.
fn forward_request<'a>(
    req: &'a HttpRequest,
    headers: &'a [(&'a str, &'a [u8])],
) -> ForwardRequest<'a> {
    ForwardRequest {
        method: req.method().as_str(),
        path: req.path(),
        query: req.query_string(),
        headers,
    }
}

/// `/reauth/...`: the browser step-up's endpoints (404 without
/// `--stepup-client-id`). Glue only: [`GateBrowser::endpoint`](reauth::gate::browser::GateBrowser::endpoint) decides.
pub(super) async fn reauth_endpoint(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    let Some(browser) = &gate.keeper.browser else {
        return HttpResponse::NotFound().finish();
    };
    let headers = headers(&req);
    let forward = forward_request(&req, &headers);
    let policy = gate.policy.as_ref().map(|p| p.load_full());
    answer_response(
        browser
            .endpoint(&forward, policy.as_deref(), &gate.keeper.requirement)
            .await,
    )
}

/// RFC 9728 metadata (`--public-url`), else 404.
pub(super) async fn metadata(gate: web::Data<Gate>) -> HttpResponse {
    answer_response(gate.keeper.metadata_answer())
}
