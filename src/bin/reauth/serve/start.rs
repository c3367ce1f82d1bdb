//! `reauth serve`'s start: the policy file, the verifiers, the metrics
//! listener and the server, in that order; any failure is exit 2.

use actix_web::{App, HttpServer, web};

use super::app::{self, VerifierData};
use super::error::ServeError;
use super::listen::{self, Listen};
use super::{signals, stepup};
use crate::args::ServeArgs;
use crate::front::{self, Front};
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
async fn serve(mut args: ServeArgs) -> Result<(), ServeError> {
    let step_up = args.stepup.stepup_client_id.is_some();
    // What the verifiers and the requirement take from serve's own flags.
    args.common.dpop = args.dpop.policy();
    args.common.public_origin = args
        .stepup
        .public_url
        .as_deref()
        .map(stepup::public_url)
        .transpose()?;
    if let Some(path) = &args.dpop_nonce_key_file {
        let key = crate::secret::read("--dpop-nonce-key-file", path).map_err(ServeError::Dpop)?;
        args.common.dpop_nonce_key = Some(key);
    }
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
    let signals = signals::start(&args.signals, &verifier, args.common.jwks_cooldown).await?;
    let metrics = args
        .metrics_bind
        .map(|_| Metrics::new(verifier.clone(), signals.clone()));
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
            public_origin: args.common.public_origin.clone(),
            metadata: metadata(&args, &verifier)?,
        },
        policy,
        metrics: metrics.clone(),
        signals,
    });
    // With --upstream the app's traffic comes to --bind through the front
    // door; the gate's own endpoints move to --admin-bind.
    let front = match &args.front.upstream {
        Some(upstream) => Some(front_door(&args, upstream, gate.clone().into_inner())?),
        None => None,
    };
    let own_bind = if front.is_some() {
        Listen::Tcp(args.front.admin_bind)
    } else {
        args.bind.clone()
    };
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
    let listen_error = |error| ServeError::Listen {
        bind: own_bind.to_string(),
        error,
    };
    let server = match &own_bind {
        Listen::Tcp(addr) => server.bind(addr).map_err(listen_error)?,
        Listen::Unix(path) => {
            listen::prepare_unix(path).map_err(listen_error)?;
            let server = server.bind_uds(path).map_err(listen_error)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(args.socket_mode))
                .map_err(listen_error)?;
            tracing::info!(
                socket = %path.display(),
                mode = format!("{:o}", args.socket_mode),
                "reauth: serving /verify, /livez, /readyz, /healthz and /backchannel-logout on a Unix socket"
            );
            server
        }
    };
    for addr in server.addrs() {
        tracing::info!(%addr, "reauth: serving /verify, /livez, /readyz, /healthz and /backchannel-logout");
    }
    if let (Some(m), Some(bind)) = (metrics, args.metrics_bind) {
        let s =
            metrics::server(m, bind).map_err(|error| ServeError::MetricsListen { bind, error })?;
        tracing::info!(metrics_bind = %bind, "reauth: serving /metrics");
        actix_web::rt::spawn(s);
    }
    // actix-web stops gracefully on SIGTERM / SIGINT; so does the front
    // door, which is waited for (its drain) before the process ends.
    let served = server.run().await.map_err(ServeError::Server);
    if let Listen::Unix(path) = &own_bind {
        let _ = std::fs::remove_file(path);
    }
    if let Some(done) = front {
        let _ = done.await;
    }
    served
}

/// Binds `--bind` now (a busy port is a start-up error) and runs the front
/// door on a runtime of its own (one thread per CPU, or `--workers`), until
/// SIGTERM or SIGINT and its drain; the receiver resolves when it is done.
fn front_door(
    args: &ServeArgs,
    upstream: &str,
    gate: std::sync::Arc<Gate>,
) -> Result<tokio::sync::oneshot::Receiver<()>, ServeError> {
    let Listen::Tcp(bind) = args.bind else {
        return Err(ServeError::Front(
            "--upstream serves the app's traffic on a TCP --bind address, not a Unix socket".into(),
        ));
    };
    let listen_error = |error| ServeError::Listen {
        bind: bind.to_string(),
        error,
    };
    let listener = std::net::TcpListener::bind(bind).map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    // One thread a core, each a runtime of its own that accepts on the
    // shared socket and keeps its connections, its pool to the app and
    // its tasks to itself: no request crosses threads (a cross-thread
    // wake-up costs more than the request on a small VM).
    let threads = match args.workers {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    let limits = front::Limits::new(args, threads);
    let mut fronts = Vec::with_capacity(threads);
    for _ in 0..threads {
        let state = Front::new(args, upstream, gate.clone(), &limits).map_err(ServeError::Front)?;
        let listener = listener.try_clone().map_err(listen_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Server)?;
        fronts.push((state, listener, runtime));
    }
    tracing::info!(%addr, upstream, threads, "reauth: serving the app's traffic (front door)");
    let (done, finished) = tokio::sync::oneshot::channel();
    let mut handles = Vec::with_capacity(threads);
    for (i, (state, listener, runtime)) in fronts.into_iter().enumerate() {
        let handle = std::thread::Builder::new()
            .name(format!("reauth-front-{i}"))
            .spawn(move || {
                let stopped = runtime.block_on(front::run(
                    listener,
                    std::sync::Arc::new(state),
                    stop_signal(),
                ));
                if let Err(e) = stopped {
                    tracing::error!(error = %e, "reauth: the front door failed");
                }
            })
            .map_err(ServeError::Server)?;
        handles.push(handle);
    }
    // Resolves once every thread has drained.
    std::thread::Builder::new()
        .name("reauth-front-wait".into())
        .spawn(move || {
            for h in handles {
                let _ = h.join();
            }
            let _ = done.send(());
        })
        .map_err(ServeError::Server)?;
    drop(listener);
    Ok(finished)
}

/// SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// RFC 9728 metadata, with `--public-url` (the resource identifier).
fn metadata(
    args: &ServeArgs,
    verifiers: &reauth::Verifiers,
) -> Result<Option<reauth::ProtectedResourceMetadata>, ServeError> {
    let Some(origin) = &args.common.public_origin else {
        return Ok(None);
    };
    reauth::ProtectedResourceMetadata::builder(origin.clone())
        .authorization_servers_of(verifiers)
        .dpop_bound_access_tokens_required(args.dpop.policy() == reauth::DpopPolicy::Required)
        .build()
        .map(Some)
        .map_err(|e| ServeError::Dpop(format!("protected resource metadata: {e}")))
}
