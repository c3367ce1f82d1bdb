//! `/verify`: the actix glue around the library's forward-auth decisions,
//! with the metrics and the decision log.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use reauth::actix::answer_response;
use reauth::gate::browser::Credential;
use reauth::gate::forward::{self, ForwardRequest, Step};
use reauth::gate::{BrowserMode, Policy};
use reauth::guard::{self, GuardError};
use reauth::{Answer, ClaimsMap, Refused};

use crate::state::Gate;

/// What one `/verify` request was, for metrics and the decision log.
struct Outcome<'p> {
    route: &'p str,
    code: &'static str,
    answer: Answer,
}

pub(super) async fn verify(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    let started = Instant::now();
    // The policy in force for this whole request (a reload swaps the next).
    let policy = gate.policy.as_ref().map(|p| p.load_full());
    let Outcome {
        route,
        code,
        mut answer,
    } = decide(&req, &gate, policy.as_deref()).await;
    if answer.status != 200 {
        // The code in a header too: nginx's auth_request drops the body,
        // and the guides build the client's JSON answer from this.
        answer.headers.push(("x-reauth-error", code.to_owned()));
    }
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

/// The actix glue around [`forward::classify`] and [`forward::identity`]:
/// the decisions themselves are the library's.
async fn decide<'p>(req: &HttpRequest, gate: &'p Gate, policy: Option<&'p Policy>) -> Outcome<'p> {
    let headers = headers(req);
    let forward = forward_request(req, &headers);
    let (route, requirement) = match forward::classify(&forward, policy, &gate.requirement) {
        Step::Answer {
            route,
            code,
            answer,
        } => {
            return Outcome {
                route,
                code,
                answer,
            };
        }
        Step::Verify { route, requirement } => (route, requirement),
    };
    // Without a step-up client: `Authorization: Bearer` only. With one:
    // that, else the session cookie (same-origin for a state change).
    let credential = match &gate.browser {
        Some(browser) => browser.credential(&forward),
        None => reauth::actix::request_token(req)
            .map(|t| t.map_or(Credential::None, Credential::Bearer)),
    };
    let refused = |e: GuardError, credential: &Credential| {
        let mut answer = Refused::from(e.clone()).answer();
        if let Some(browser) = &gate.browser {
            let mode = policy.map_or(BrowserMode::StepUp, |p| {
                p.browser_of(route, BrowserMode::StepUp)
            });
            answer = browser.refused(answer, &e, &forward, credential, mode);
        }
        Outcome {
            route,
            code: e.code(),
            answer,
        }
    };
    let credential = match credential {
        Ok(c) => c,
        Err(e) => return refused(e, &Credential::None),
    };
    let verified = match guard::check_with::<ClaimsMap>(
        Some(&gate.verifier),
        credential.token(),
        &requirement,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return refused(e, &credential),
    };
    match forward::identity(&verified, gate.policy.is_some().then_some(route)) {
        Ok(answer) => Outcome {
            route,
            code: "ok",
            answer,
        },
        Err(unencodable) => Outcome {
            route,
            code: "server_error",
            answer: unencodable.answer(),
        },
    }
}

/// `/reauth/...`: the browser step-up's endpoints (404 without
/// `--stepup-client-id`). Glue only: [`GateBrowser::endpoint`](reauth::gate::browser::GateBrowser::endpoint) decides.
pub(super) async fn reauth_endpoint(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    let Some(browser) = &gate.browser else {
        return HttpResponse::NotFound().finish();
    };
    let headers = headers(&req);
    let forward = forward_request(&req, &headers);
    let policy = gate.policy.as_ref().map(|p| p.load_full());
    answer_response(
        browser
            .endpoint(&forward, policy.as_deref(), &gate.requirement)
            .await,
    )
}
