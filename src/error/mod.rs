//! Typed errors. Each knows its stable machine code, its HTTP status and its
//! `WWW-Authenticate` challenge; framework adapters only translate.
//!
//! Three phases, three types:
//! - [`ConfigError`]: the configuration is wrong (before any request);
//! - [`InitError`]: building a [`Verifier`](crate::Verifier) failed (bad config,
//!   discovery failed or named another issuer);
//! - [`VerifyError`]: one token was rejected ([`Rejection`], the token's fault)
//!   or could not be decided (keys unavailable: never a rejection).

pub(crate) mod challenge;
mod config;
mod rejection;
mod revoke;
#[cfg(feature = "signals")]
mod signal;
mod store;
mod verify;

pub use config::{ConfigError, FetchError, InitError};
pub use rejection::{Rejection, RejectionKind};
pub use revoke::{LogoutError, RevokeError};
#[cfg(feature = "signals")]
pub use signal::{SetError, SetErrorCode};
pub use store::{IdError, StoreError};
pub use verify::VerifyError;
