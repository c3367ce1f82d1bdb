//! `reauth serve`: a forward-auth gate. `/verify` answers 200 (with identity
//! headers) or the same 401/403/503 + `WWW-Authenticate` as the library's
//! adapters; `/livez`, `/readyz` and `/healthz` for orchestrators.
//!
//! What a request demands comes from the policy file (`--config`,
//! [`reauth::gate`]) or, without one, from the command line and the query
//! overrides. This module is the HTTP wiring; decisions live in the library.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use arc_swap::ArcSwap;
use reauth::actix::answer_response;
use reauth::gate::Policy;
use reauth::gate::forward::{self, ForwardRequest, Step};
use reauth::guard::{self, GuardError};
use reauth::{Answer, ClaimsMap, IssuerSet, Refused, Verifier, Verifiers};

use crate::args::ServeArgs;
use crate::health;
use crate::metrics::{self, Metrics};
use crate::policy_file;
use crate::state::Gate;

/// What one `/verify` request was, for metrics and the decision log.
struct Outcome<'p> {
    route: &'p str,
    code: &'static str,
    answer: Answer,
}

async fn verify(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
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

pub async fn run(args: ServeArgs) -> i32 {
    if let Some(path) = &args.check_config {
        return policy_file::check(path, token_kind(&args));
    }
    let policy = match &args.config {
        Some(path) => match start_policy(&args, path) {
            Ok(p) => Some(p),
            Err(()) => return 2,
        },
        None => None,
    };
    let hup = match policy {
        Some(_) => match policy_file::catch_sighup() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("reauth: {e}");
                return 2;
            }
        },
        None => None,
    };
    let verifier = match args.common.verifiers().await {
        Ok(v) => v,
        Err(("config_error", e)) => {
            tracing::error!(error = %e, "reauth: invalid configuration");
            return 2;
        }
        Err((code, e)) => {
            tracing::error!(error = %e, code, "reauth: discovery failed");
            return 2;
        }
    };
    let metrics = args.metrics_bind.map(|_| Metrics::new(verifier.clone()));
    if let (Some(path), Some(policy), Some(hup)) = (&args.config, &policy, hup) {
        policy_file::reload_on(
            hup,
            path.clone(),
            policy.clone(),
            token_kind(&args),
            metrics.clone(),
        );
    }
    let gate = web::Data::new(Gate {
        verifier: verifier.clone(),
        requirement: args.common.requirement(),
        policy,
        metrics: metrics.clone(),
    });
    // For the back-channel logout receiver (the actix adapter reads it).
    let verifier_data = VerifierData::from(verifier.clone());
    let mut server = HttpServer::new(move || {
        let app = App::new().app_data(gate.clone());
        let app = match &verifier_data {
            VerifierData::One(v) => app.app_data(v.clone()),
            VerifierData::Set(s) => app.app_data(s.clone()),
        };
        app.route("/verify", web::route().to(verify))
            .route("/verify/{original:.*}", web::route().to(verify))
            .route(
                "/backchannel-logout",
                web::post().to(reauth::actix::backchannel_logout),
            )
            .route("/healthz", web::get().to(health::healthz))
            .route("/livez", web::get().to(health::livez))
            .route("/readyz", web::get().to(health::readyz))
    })
    .shutdown_timeout(10);
    if args.workers > 0 {
        server = server.workers(args.workers);
    }
    let server = match server.bind(args.bind) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, bind = %args.bind, "reauth: cannot listen");
            return 2;
        }
    };
    for addr in server.addrs() {
        tracing::info!(%addr, "reauth: serving /verify, /livez, /readyz, /healthz and /backchannel-logout");
    }
    if let (Some(m), Some(bind)) = (metrics, args.metrics_bind) {
        match metrics::server(m, bind) {
            Ok(s) => {
                tracing::info!(metrics_bind = %bind, "reauth: serving /metrics");
                actix_web::rt::spawn(s);
            }
            Err(e) => {
                tracing::error!(error = %e, bind = %bind, "reauth: cannot listen for metrics");
                return 2;
            }
        }
    }
    // actix-web stops gracefully on SIGTERM / SIGINT.
    match server.run().await {
        Ok(()) => {
            tracing::info!("reauth: stopped");
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "reauth: server failed");
            2
        }
    }
}

/// The policy file at start-up: it must parse, and the command line must
/// not also set what the file's `[defaults]` sets (which would win would be
/// a guess).
fn start_policy(args: &ServeArgs, path: &Path) -> Result<Arc<ArcSwap<Policy>>, ()> {
    let c = &args.common;
    if c.max_age.is_some()
        || !c.acr_values.is_empty()
        || !c.require_amr.is_empty()
        || !c.required_scopes.is_empty()
    {
        tracing::error!(
            "reauth: --max-age, --acr-values, --require-amr and --required-scope do not apply \
             with --config: set max_age, acr_values, amr and scopes in the file's [defaults] \
             or on each route"
        );
        return Err(());
    }
    match policy_file::load(path, token_kind(args)) {
        Ok(p) => {
            tracing::info!(file = %path.display(), routes = p.routes().len(), "reauth: policy loaded");
            Ok(Arc::new(ArcSwap::from_pointee(p)))
        }
        Err(errors) => {
            for e in &errors {
                tracing::error!("reauth: {e}");
            }
            tracing::error!(file = %path.display(), "reauth: the policy file is invalid (check it with reauth serve --check-config)");
            Err(())
        }
    }
}

/// The kind of token the gate verifies (`--token-kind`): the policy file's
/// `scopes` need access tokens.
fn token_kind(args: &ServeArgs) -> reauth::TokenKind {
    match args.common.token_kind {
        crate::args::Kind::Id => reauth::TokenKind::IdToken,
        crate::args::Kind::Access => reauth::TokenKind::AccessToken,
    }
}

/// The verifiers as the actix adapter finds them in app data.
#[derive(Clone)]
enum VerifierData {
    One(web::Data<Verifier>),
    Set(web::Data<IssuerSet>),
}

impl From<Verifiers> for VerifierData {
    fn from(v: Verifiers) -> Self {
        match v {
            Verifiers::One(v) => Self::One(web::Data::new(v)),
            Verifiers::Set(s) => Self::Set(web::Data::new(s)),
        }
    }
}
