//! `reauth serve`: a forward-auth gate. `/verify` answers 200 (with identity
//! headers) or the same 401/403/503 + `WWW-Authenticate` as the library's
//! adapters; `/livez`, `/readyz` and `/healthz` for orchestrators.
//!
//! What a request demands comes from the policy file (`--config`,
//! [`reauth::gate`]) or, without one, from the command line and the query
//! overrides. This module is the HTTP wiring; decisions live in the library.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use arc_swap::ArcSwap;
use reauth::gate::{
    Action, Decision, METHOD_OVERRIDE_HEADERS, Original, Policy, ProxyMistake, duration,
};
use reauth::guard::{self, GuardError};
use reauth::{ClaimsMap, IssuerSet, Requirement, Verifier, Verifiers};
use serde::Deserialize;
use serde_json::json;

use crate::args::ServeArgs;
use crate::health;
use crate::metrics::{self, Metrics};
use crate::policy_file;

pub(crate) struct Gate {
    pub(crate) verifier: Verifiers,
    /// The command line's requirement (no policy file).
    requirement: Requirement,
    /// The policy file in force, swapped whole on SIGHUP.
    policy: Option<Arc<ArcSwap<Policy>>>,
    metrics: Option<Arc<Metrics>>,
}

/// Per-request overrides, so one gate serves several locations. They may
/// only tighten the requirement ([`Requirement::tightened`]); an unknown
/// parameter is a 400 (a typo must not silently drop a demand).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    max_age: Option<String>,
    acr_values: Option<String>,
    amr: Option<String>,
}

fn list(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn tightened<'a>(query: &str, base: &'a Requirement) -> Result<Cow<'a, Requirement>, String> {
    if query.is_empty() {
        return Ok(Cow::Borrowed(base));
    }
    let o =
        web::Query::<Overrides>::from_query(query).map_err(|e| format!("invalid query: {e}"))?;
    let max_age = o.max_age.as_deref().map(duration::parse).transpose()?;
    base.tightened(
        max_age,
        o.acr_values.as_deref().map(list),
        o.amr.as_deref().map(list),
    )
    .map(Cow::Owned)
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"error": code, "message": message}))
}

/// Route labels where no route of the file was chosen (route names start
/// with a letter or digit, so these never collide).
const NO_FILE: &str = "_default";
const UNMATCHED: &str = "_unmatched";
const NO_ROUTE: &str = "_none";

/// What one `/verify` request was, for metrics and the decision log.
struct Outcome<'p> {
    route: &'p str,
    code: &'static str,
    response: HttpResponse,
}

async fn verify(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    let started = Instant::now();
    // The policy in force for this whole request (a reload swaps the next).
    let policy = gate.policy.as_ref().map(|p| p.load_full());
    let Outcome {
        route,
        code,
        mut response,
    } = decide(&req, &gate, policy.as_deref()).await;
    if !response.status().is_success() {
        // The code in a header too: nginx's auth_request drops the body,
        // and the guides build the client's JSON answer from this.
        response.headers_mut().insert(
            header::HeaderName::from_static("x-reauth-error"),
            HeaderValue::from_static(code),
        );
    }
    let elapsed = started.elapsed();
    if let Some(m) = &gate.metrics {
        m.decision(route, code, elapsed);
    }
    tracing::debug!(
        target: "reauth::decision",
        route = %route,
        code,
        status = response.status().as_u16(),
        latency_us = elapsed.as_micros() as u64,
        "reauth: decision"
    );
    response
}

async fn decide<'p>(req: &HttpRequest, gate: &'p Gate, policy: Option<&'p Policy>) -> Outcome<'p> {
    let out = |route: &'p str, code, response| Outcome {
        route,
        code,
        response,
    };
    // The gate never needs the client's body; a proxy that forwards it
    // wastes both sides' bandwidth (nginx: proxy_pass_request_body off).
    if has_body(req) {
        tracing::warn!(
            "reauth: the proxy forwarded a request body to /verify; configure it not to \
             (nginx: proxy_pass_request_body off; proxy_set_header Content-Length \"\")"
        );
        return out(
            NO_ROUTE,
            "invalid_request",
            error(
                400,
                "invalid_request",
                "the gate takes no request body: configure the proxy not to forward it",
            ),
        );
    }
    // `/verify?overrides`; under `/verify/...` (Envoy ext_authz with
    // `path_prefix: /verify`) the rest of the path and its query are the
    // original request's, never overrides.
    let envoy = req.path() != "/verify";
    let query = if envoy { "" } else { req.query_string() };
    let (route, base): (&str, &Requirement) = match policy {
        None => (NO_FILE, &gate.requirement),
        Some(policy) => {
            let headers = req.headers();
            let original = if envoy {
                // A `.../verify/` typo in a proxy that also describes the
                // original request would otherwise make every request `/`.
                if ["x-original-uri", "x-forwarded-uri"]
                    .iter()
                    .any(|h| headers.contains_key(*h))
                {
                    let mistake = ProxyMistake::EnvoyAndHeaders;
                    tracing::error!("reauth: {}", mistake.fix());
                    let res = error(500, "server_error", "the gate is misconfigured");
                    return out(NO_ROUTE, "server_error", res);
                }
                let uri = match req.uri().path_and_query() {
                    Some(pq) => &pq.as_str()["/verify".len()..],
                    None => "/",
                };
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
                let method_override = METHOD_OVERRIDE_HEADERS
                    .iter()
                    .any(|h| headers.contains_key(*h));
                Original::envoy(req.method().as_str(), host, uri, method_override)
            } else {
                Original::from_headers(
                    req.headers()
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_bytes())),
                )
            };
            let decision = match &original {
                Ok(o) => policy.decide(o),
                Err(refusal) => Decision::Refused(*refusal),
            };
            match decision {
                Decision::Route(r) => match r.action() {
                    Action::Public => {
                        let res = HttpResponse::Ok()
                            .insert_header(("X-Reauth-Route", r.name()))
                            .insert_header((header::CACHE_CONTROL, "no-store"))
                            .finish();
                        return out(r.name(), "public", res);
                    }
                    Action::Verify(req) => (r.name(), req),
                },
                Decision::Defaults(req) => (UNMATCHED, req),
                Decision::NoRoute => {
                    let res = error(
                        403,
                        "no_route",
                        "no route of the policy matches this request",
                    );
                    return out(NO_ROUTE, "no_route", res);
                }
                Decision::Refused(why) => {
                    let res = error(403, "ambiguous_request", &why.message());
                    return out(NO_ROUTE, "ambiguous_request", res);
                }
                Decision::Misconfigured(missing) => {
                    tracing::error!("reauth: {}", missing.fix());
                    let res = error(500, "server_error", "the gate is misconfigured");
                    return out(NO_ROUTE, "server_error", res);
                }
            }
        }
    };
    let requirement = match tightened(query, base) {
        Ok(r) => r,
        Err(msg) => {
            return out(
                route,
                "invalid_request",
                error(400, "invalid_request", &msg),
            );
        }
    };
    // The gate registers no TokenSource: `Authorization: Bearer`.
    let token = match reauth::actix::request_token(req) {
        Ok(t) => t,
        Err(e) => return out(route, e.code(), e.error_response()),
    };
    let verified =
        match guard::check_with::<ClaimsMap>(Some(&gate.verifier), token.as_deref(), &requirement)
            .await
        {
            Ok(v) => v,
            Err(e) => return out(route, e.code(), e.error_response()),
        };
    let claims = &verified.claims;
    let mut res = HttpResponse::Ok();
    let auth_time = claims.auth_time.map(|t| t.to_string());
    let scope = (!claims.scope.is_empty()).then(|| claims.scope.join(" "));
    let identity: [(&'static str, Option<&str>); 8] = [
        ("x-reauth-issuer", Some(&claims.iss)),
        ("x-reauth-subject", Some(&claims.sub)),
        (
            "x-reauth-reauthentication",
            Some(verified.freshness.as_str()),
        ),
        ("x-reauth-auth-time", auth_time.as_deref()),
        ("x-reauth-session", claims.sid.as_deref()),
        ("x-reauth-route", gate.policy.is_some().then_some(route)),
        ("x-reauth-client-id", claims.client_id.as_deref()),
        ("x-reauth-scope", scope.as_deref()),
    ];
    for (name, value) in identity {
        let Some(value) = value else { continue };
        match HeaderValue::from_str(value) {
            Ok(v) => {
                res.insert_header((header::HeaderName::from_static(name), v));
            }
            // Fail closed: an identity the upstream cannot read is no identity.
            Err(_) => {
                tracing::warn!(header = name, "reauth: claim cannot be sent as a header");
                let e = GuardError::NotConfigured;
                return out(route, e.code(), e.error_response());
            }
        }
    }
    let res = res
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish();
    out(route, "ok", res)
}

fn has_body(req: &HttpRequest) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get_all(header::CONTENT_LENGTH)
            .any(|v| v.as_bytes().iter().any(|&b| b != b'0'))
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
