//! Framework-free pieces every adapter shares: where the token comes from,
//! and the one error type a guarded route answers with.

mod check;
mod error;
mod flow;
pub(crate) mod metadata;
pub(crate) mod render;
mod source;

#[cfg(feature = "actix")]
pub(crate) use check::one_of;
pub use check::{check, check_presented, check_with, fresh_within, optional, required};
pub use error::{GuardError, RETRY_AFTER_SECS};
pub use flow::{BrowserHook, Head, Prepared, Wiring, guard_request};
#[cfg(feature = "gate")]
pub(crate) use flow::{dpop_scheme, path_of};
#[cfg(feature = "stepup")]
pub(crate) use source::cookie;
pub use source::{TokenSource, cross_site};
