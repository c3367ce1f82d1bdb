//! Why `reauth serve` did not start, or stopped: each logged with what to
//! fix, and exit 2.

use std::net::SocketAddr;

use crate::error::CliError;
use crate::policy_file::PolicyFileError;

#[derive(Debug)]
pub(super) enum ServeError {
    /// `--config`: the policy file.
    Policy(PolicyFileError),
    /// SIGHUP cannot be caught (to reload the policy file).
    Signal(String),
    /// The verifiers: the options, or the issuer's discovery.
    Verifiers(CliError),
    /// `--bind` cannot be listened on.
    Listen { bind: String, error: std::io::Error },
    /// `--metrics-bind` cannot be listened on.
    MetricsListen {
        bind: SocketAddr,
        error: std::io::Error,
    },
    /// `--stepup-client-id` and its companions.
    StepUp(String),
    /// `--upstream` and its companions.
    Front(String),
    /// `--ssf-*`: the Shared Signals receiver.
    Signals(String),
    /// `--dpop-*`.
    Dpop(String),
    /// The server failed while running.
    Server(std::io::Error),
}

impl ServeError {
    /// Logs what is wrong.
    pub(super) fn log(&self) {
        match self {
            Self::Policy(e) => e.log(),
            Self::Signal(e) => tracing::error!("reauth: {e}"),
            Self::Verifiers(e) if e.is_config() => {
                tracing::error!(error = %e, "reauth: invalid configuration");
            }
            Self::Verifiers(e) => {
                tracing::error!(error = %e, code = e.code(), "reauth: discovery failed");
            }
            Self::Listen { bind, error } => {
                tracing::error!(error = %error, bind = %bind, "reauth: cannot listen");
            }
            Self::MetricsListen { bind, error } => {
                tracing::error!(error = %error, bind = %bind, "reauth: cannot listen for metrics");
            }
            Self::StepUp(e) => tracing::error!("reauth: browser step-up: {e}"),
            Self::Front(e) => tracing::error!("reauth: front door: {e}"),
            Self::Signals(e) => tracing::error!("reauth: shared signals: {e}"),
            Self::Dpop(e) => tracing::error!("reauth: DPoP: {e}"),
            Self::Server(e) => tracing::error!(error = %e, "reauth: server failed"),
        }
    }
}
