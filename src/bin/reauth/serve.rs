//! `reauth serve`: a forward-auth gate. `/verify` answers 200 (with identity
//! headers) or the same 401/403/503 + `WWW-Authenticate` as the library's
//! adapters; `/healthz` says whether keys are loaded.

use actix_web::http::header::HeaderValue;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use reauth::guard::{self, GuardError};
use reauth::{ClaimsMap, Requirement, Verifier};
use serde::Deserialize;
use serde_json::json;

use crate::args::ServeArgs;
use crate::duration;

struct Gate {
    verifier: Verifier,
    requirement: Requirement,
}

/// Per-request overrides, so one gate serves several locations. They may
/// only tighten the command line's requirement ([`Requirement::tightened`]);
/// an unknown parameter is a 400 (a typo must not silently drop a demand).
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

fn requirement(query: &str, default: &Requirement) -> Result<Requirement, String> {
    if query.is_empty() {
        return Ok(default.clone());
    }
    let o =
        web::Query::<Overrides>::from_query(query).map_err(|e| format!("invalid query: {e}"))?;
    let max_age = o.max_age.as_deref().map(duration::parse).transpose()?;
    default.tightened(
        max_age,
        o.acr_values.as_deref().map(list),
        o.amr.as_deref().map(list),
    )
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"error": "invalid_request", "message": message}))
}

async fn verify(req: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    // `/verify?overrides`; under `/verify/...` (Envoy ext_authz with
    // `path_prefix: /verify`) the rest of the path and its query are the
    // original request's, never overrides.
    let query = if req.path() == "/verify" {
        req.query_string()
    } else {
        ""
    };
    let requirement = match requirement(query, &gate.requirement) {
        Ok(r) => r,
        Err(msg) => return bad_request(&msg),
    };
    // The gate registers no TokenSource: `Authorization: Bearer`.
    let token = match reauth::actix::request_token(&req) {
        Ok(t) => t,
        Err(e) => return e.error_response(),
    };
    let verified =
        match guard::check::<ClaimsMap>(Some(&gate.verifier), token.as_deref(), &requirement).await
        {
            Ok(v) => v,
            Err(e) => return e.error_response(),
        };
    let claims = &verified.claims;
    let mut res = HttpResponse::Ok();
    let mut headers: Vec<(&str, String)> = vec![
        ("X-Reauth-Subject", claims.sub.clone()),
        (
            "X-Reauth-Reauthentication",
            verified.freshness.as_str().to_owned(),
        ),
    ];
    if let Some(t) = claims.auth_time {
        headers.push(("X-Reauth-Auth-Time", t.to_string()));
    }
    if let Some(sid) = &claims.sid {
        headers.push(("X-Reauth-Session", sid.clone()));
    }
    for (name, value) in headers {
        match HeaderValue::from_str(&value) {
            Ok(v) => {
                res.insert_header((name, v));
            }
            // Fail closed: an identity the upstream cannot read is no identity.
            Err(_) => {
                tracing::warn!(header = name, "reauth: claim cannot be sent as a header");
                return GuardError::NotConfigured.error_response();
            }
        }
    }
    res.insert_header(("Cache-Control", "no-store")).finish()
}

async fn healthz(gate: web::Data<Gate>) -> HttpResponse {
    if gate.verifier.warm_up().await {
        HttpResponse::Ok().json(json!({"status": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "keys_unavailable"}))
    }
}

pub async fn run(args: ServeArgs) -> i32 {
    let config = match args.common.config().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reauth: invalid configuration");
            return 2;
        }
    };
    let verifier = match Verifier::discover(config).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, code = e.code(), "reauth: discovery failed");
            return 2;
        }
    };
    let gate = web::Data::new(Gate {
        verifier: verifier.clone(),
        requirement: args.common.requirement(),
    });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(gate.clone())
            .app_data(verifier.clone())
            .route("/verify", web::route().to(verify))
            .route("/verify/{original:.*}", web::route().to(verify))
            .route(
                "/backchannel-logout",
                web::post().to(reauth::actix::backchannel_logout),
            )
            .route("/healthz", web::get().to(healthz))
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
        tracing::info!(%addr, "reauth: serving /verify, /healthz and /backchannel-logout");
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
