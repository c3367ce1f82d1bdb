//! The CLI's own errors, typed: each knows its stable code (the `error` of
//! the one JSON line `verify` and `revoke` print) and its message. They all
//! mean "could not decide" (exit 2); a token's rejection is the library's
//! [`reauth::VerifyError`], not one of these.

use std::fmt;

use reauth::InitError;
use serde_json::{Value, json};

/// Why a command could not do what it was asked.
#[derive(Debug)]
pub enum CliError {
    /// The options, or a file or input they name, are wrong (`config_error`).
    Config(String),
    /// A verifier could not be built: its configuration (`config_error`),
    /// its discovery (`discovery_failed`) or the revocation store
    /// (`revocation_unavailable`).
    Init(InitError),
    /// An id to revoke, or a file of them, is bad; nothing was written
    /// (`invalid_request`). `bad_lines`: how many lines of the file are bad.
    InvalidIds {
        message: String,
        bad_lines: Option<usize>,
    },
    /// No gate has recorded the issuer a revocation is for, so none would
    /// enforce it (`config_error`); `recorded`: some issuers that are.
    UnknownIssuer {
        message: String,
        recorded: Vec<String>,
    },
    /// The shared revocation store cannot be reached, or failed a write
    /// (`revocation_unavailable`).
    RevocationUnavailable(String),
}

impl CliError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) | Self::UnknownIssuer { .. } => "config_error",
            Self::Init(e) => e.code(),
            Self::InvalidIds { .. } => "invalid_request",
            Self::RevocationUnavailable(_) => "revocation_unavailable",
        }
    }

    /// Whether the operator's configuration is at fault (rather than the
    /// issuer or the store being unreachable).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Self::Config(_) | Self::UnknownIssuer { .. } | Self::Init(InitError::Config(_))
        )
    }

    /// The JSON line: `{"ok": false, "error", "message"}`, plus
    /// `bad_lines` or `recorded_issuers` where they apply.
    pub fn to_json(&self) -> Value {
        let mut out = failure(self.code(), &self.to_string());
        match self {
            Self::InvalidIds {
                bad_lines: Some(n), ..
            } => out["bad_lines"] = json!(n),
            Self::UnknownIssuer { recorded, .. } => out["recorded_issuers"] = json!(recorded),
            _ => {}
        }
        out
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) | Self::RevocationUnavailable(m) => f.write_str(m),
            Self::InvalidIds { message, .. } | Self::UnknownIssuer { message, .. } => {
                f.write_str(message)
            }
            Self::Init(e) => write!(f, "{e}"),
        }
    }
}

impl From<InitError> for CliError {
    fn from(e: InitError) -> Self {
        Self::Init(e)
    }
}

/// The JSON line of a failure with `code`.
pub fn failure(code: &str, message: &str) -> Value {
    json!({"ok": false, "error": code, "message": message})
}
