//! `/verify`: the actix glue around the library's forward-auth decisions,
//! with the metrics and the decision log.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use reauth::actix::answer_response;
use reauth::gate::Policy;
use reauth::gate::forward::{self, ForwardRequest, Step};
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

/// The actix glue around [`forward::classify`] and [`forward::identity`]:
/// the decisions themselves are the library's.
async fn decide<'p>(req: &HttpRequest, gate: &'p Gate, policy: Option<&'p Policy>) -> Outcome<'p> {
    let headers: Vec<(&str, &[u8])> = req
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let forward = ForwardRequest {
        method: req.method().as_str(),
        path: req.path(),
        query: req.query_string(),
        headers: &headers,
    };
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
    let refused = |e: GuardError| Outcome {
        route,
        code: e.code(),
        answer: Refused::from(e).answer(),
    };
    // The gate registers no TokenSource: `Authorization: Bearer`.
    let token = match reauth::actix::request_token(req) {
        Ok(t) => t,
        Err(e) => return refused(e),
    };
    let verified =
        match guard::check_with::<ClaimsMap>(Some(&gate.verifier), token.as_deref(), &requirement)
            .await
        {
            Ok(v) => v,
            Err(e) => return refused(e),
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
