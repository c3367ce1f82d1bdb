//! `reauth serve`'s start: the policy file, the verifiers, the metrics
//! listener and the server, in that order; any failure is exit 2.

use actix_web::{App, HttpServer, web};

use super::app::{self, VerifierData};
use super::error::ServeError;
use super::stepup;
use crate::args::ServeArgs;
use crate::metrics::{self, Metrics};
use crate::policy_file;
use crate::state::Gate;
use reauth::gate::Gatekeeper;

pub async fn run(args: ServeArgs) -> i32 {
    let step_up = args.stepup.stepup_client_id.is_some();
    if let Some(path) = &args.check_config {
        return policy_file::check(path, args.common.token_kind.token_kind(), step_up);
    }
    match serve(args).await {
        Ok(()) => {
            tracing::info!("reauth: stopped");
            0
        }
        Err(e) => {
            e.log();
            2
        }
    }
}

/// Starts the gate and serves until SIGTERM / SIGINT.
async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let step_up = args.stepup.stepup_client_id.is_some();
    let policy = match &args.config {
        Some(path) => {
            Some(policy_file::start(path, &args.common, step_up).map_err(ServeError::Policy)?)
        }
        None => None,
    };
    let hup = match policy {
        Some(_) => Some(policy_file::catch_sighup().map_err(ServeError::Signal)?),
        None => None,
    };
    let verifier = args
        .common
        .verifiers()
        .await
        .map_err(ServeError::Verifiers)?;
    let browser = stepup::browser(&args, &verifier).await?;
    let metrics = args.metrics_bind.map(|_| Metrics::new(verifier.clone()));
    if let (Some(path), Some(policy), Some(hup)) = (&args.config, &policy, hup) {
        policy_file::reload_on(
            hup,
            path.clone(),
            policy.clone(),
            args.common.token_kind.token_kind(),
            browser.is_some(),
            metrics.clone(),
        );
    }
    let gate = web::Data::new(Gate {
        keeper: Gatekeeper {
            verifiers: verifier.clone(),
            requirement: args.common.requirement(),
            browser,
        },
        policy,
        metrics: metrics.clone(),
    });
    // For the back-channel logout receiver (the actix adapter reads it).
    let verifier_data = VerifierData::from(verifier);
    let mut server = HttpServer::new(move || {
        let app = App::new().app_data(gate.clone());
        let app = match &verifier_data {
            VerifierData::One(v) => app.app_data(v.clone()),
            VerifierData::Set(s) => app.app_data(s.clone()),
        };
        app.configure(app::routes)
    })
    .shutdown_timeout(10);
    if args.workers > 0 {
        server = server.workers(args.workers);
    }
    let server = server.bind(args.bind).map_err(|error| ServeError::Listen {
        bind: args.bind,
        error,
    })?;
    for addr in server.addrs() {
        tracing::info!(%addr, "reauth: serving /verify, /livez, /readyz, /healthz and /backchannel-logout");
    }
    if let (Some(m), Some(bind)) = (metrics, args.metrics_bind) {
        let s =
            metrics::server(m, bind).map_err(|error| ServeError::MetricsListen { bind, error })?;
        tracing::info!(metrics_bind = %bind, "reauth: serving /metrics");
        actix_web::rt::spawn(s);
    }
    // actix-web stops gracefully on SIGTERM / SIGINT.
    server.run().await.map_err(ServeError::Server)
}
