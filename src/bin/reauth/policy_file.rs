//! `--config` and `--check-config`: the policy file read, checked,
//! reported, and reloaded on SIGHUP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use reauth::TokenKind;
use reauth::gate::{MAX_POLICY_BYTES, Policy};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::args::CommonArgs;
use crate::metrics::Metrics;

/// Why the policy file cannot be used at start-up.
#[derive(Debug)]
pub enum PolicyFileError {
    /// The command line sets what the file's `[defaults]` sets (which
    /// would win would be a guess).
    FlagsWithConfig,
    /// The file cannot be read, or does not parse: each error as
    /// `FILE:LINE:COL: message`.
    Invalid { file: PathBuf, errors: Vec<String> },
}

impl PolicyFileError {
    /// Logs what is wrong and how to fix it.
    pub fn log(&self) {
        match self {
            Self::FlagsWithConfig => tracing::error!(
                "reauth: --max-age, --acr-values, --require-amr and --required-scope do not \
                 apply with --config: set max_age, acr_values, amr and scopes in the file's \
                 [defaults] or on each route"
            ),
            Self::Invalid { file, errors } => {
                for e in errors {
                    tracing::error!("reauth: {e}");
                }
                tracing::error!(file = %file.display(), "reauth: the policy file is invalid (check it with reauth serve --check-config)");
            }
        }
    }
}

/// The policy file at start-up: it must parse, and the command line must
/// not also set what the file's `[defaults]` sets.
pub fn start(
    path: &Path,
    common: &CommonArgs,
    step_up: bool,
) -> Result<Arc<ArcSwap<Policy>>, PolicyFileError> {
    if common.max_age.is_some()
        || !common.acr_values.is_empty()
        || !common.require_amr.is_empty()
        || !common.required_scopes.is_empty()
    {
        return Err(PolicyFileError::FlagsWithConfig);
    }
    match load(path, common.token_kind.token_kind(), step_up) {
        Ok(p) => {
            tracing::info!(file = %path.display(), routes = p.routes().len(), "reauth: policy loaded");
            Ok(Arc::new(ArcSwap::from_pointee(p)))
        }
        Err(errors) => Err(PolicyFileError::Invalid {
            file: path.to_owned(),
            errors,
        }),
    }
}

/// Reads and parses `path` for a gate verifying `kind` tokens, with or
/// without a browser step-up client (`step_up`: a file that asks for
/// `browser = "step-up"` without one is refused, never a silent 401);
/// every error as `FILE:LINE:COL: message`.
pub fn load(path: &Path, kind: TokenKind, step_up: bool) -> Result<Policy, Vec<String>> {
    let shown = path.display();
    let text = read(path).map_err(|e| vec![format!("{shown}: {e}")])?;
    let policy = Policy::parse_for(&text, kind).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{shown}:{e}"))
            .collect::<Vec<_>>()
    })?;
    let demanded = policy.step_up_demanded();
    if !step_up && !demanded.is_empty() {
        return Err(demanded
            .iter()
            .map(|place| {
                format!(
                    "{shown}: {place} has browser = \"step-up\" but the gate has no \
                     --stepup-client-id: add it (with --public-url and --cookie-key-file) \
                     or remove the setting"
                )
            })
            .collect());
    }
    Ok(policy)
}

fn read(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_POLICY_BYTES as u64 {
        return Err(format!("larger than {MAX_POLICY_BYTES} bytes"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())
}

/// `reauth serve --check-config FILE` (with `--token-kind`, the gate's):
/// 0 and a summary on stdout, or every error on stderr and 2.
pub fn check(path: &Path, kind: TokenKind, step_up: bool) -> i32 {
    match load(path, kind, step_up) {
        Ok(p) => {
            println!(
                "{}: ok, {} route(s), unmatched requests: {}",
                path.display(),
                p.routes().len(),
                match p.unmatched() {
                    reauth::gate::Unmatched::Deny => "denied (403 no_route)",
                    reauth::gate::Unmatched::Verify => "checked against [defaults]",
                }
            );
            0
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{}: {} error(s)", path.display(), errors.len());
            2
        }
    }
}

/// Takes SIGHUP over at once (its default action would end the process
/// while the gate is still starting); see [`reload_on`].
pub fn catch_sighup() -> Result<Signal, String> {
    signal(SignalKind::hangup()).map_err(|e| format!("cannot listen for SIGHUP: {e}"))
}

/// Reloads `path` into `current` on every `hup`. A file that does not
/// parse keeps the policy in force, and says why. Parsing runs off the
/// request threads.
pub fn reload_on(
    mut hup: Signal,
    path: PathBuf,
    current: Arc<ArcSwap<Policy>>,
    kind: TokenKind,
    step_up: bool,
    metrics: Option<Arc<Metrics>>,
) {
    actix_web::rt::spawn(async move {
        while hup.recv().await.is_some() {
            let file = path.clone();
            let loaded = tokio::task::spawn_blocking(move || load(&file, kind, step_up))
                .await
                .unwrap_or_else(|e| Err(vec![format!("{}: {e}", path.display())]));
            match loaded {
                Ok(p) => {
                    let routes = p.routes().len();
                    current.store(Arc::new(p));
                    tracing::info!(file = %path.display(), routes, "reauth: policy reloaded");
                    if let Some(m) = &metrics {
                        m.reload(true);
                    }
                }
                Err(errors) => {
                    tracing::error!(
                        file = %path.display(),
                        errors = %errors.join("; "),
                        "reauth: policy file invalid; keeping the policy in force"
                    );
                    if let Some(m) = &metrics {
                        m.reload(false);
                    }
                }
            }
        }
    });
}
