//! Step-up for browser apps (feature `stepup`): send the user to the
//! issuer with the route's `max_age`, and prove on the way back that a new
//! login really happened.
//!
//! A 401 challenge is right for an API whose client re-authenticates; a
//! browser cannot act on it. [`StepUp`] does the authorization-code round
//! trip instead (OIDC Core §3.1, PKCE S256, RFC 9207 `iss`):
//!
//! 1. [`StepUp::begin`] builds the authorization request (`state`,
//!    `nonce`, PKCE, `max_age`, `acr_values`, `prompt=login`, a hint about
//!    the user) and the pending state to keep: sealed in a cookie (no
//!    server-side state) or in a [`PendingStore`].
//! 2. [`StepUp::finish`] checks the callback against it (`state` once,
//!    within its lifetime), exchanges the code, verifies the ID token with
//!    the same [`Verifier`](crate::Verifier) and the route's requirement,
//!    and checks what only a step-up can: the `nonce`, the same user, and
//!    an `auth_time` no earlier than the moment the step-up began.
//!
//! [`StepUp::complete`] and [`StepUp::challenge`] are the same for
//! adapters: a callback request in, cookies and a redirect out. The actix
//! adapter wires them up (`reauth::actix::stepup_callback`); see the
//! README's "Browser apps".
//!
//! The round trip by hand, against [`TestIssuer`](crate::testing::TestIssuer)
//! (which logs `user-1` in at once); in an app, the browser follows the
//! redirects and the callback route calls [`StepUp::complete`]:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use reauth::Requirement;
//! use reauth::stepup::StepUp;
//! use reauth::testing::TestIssuer;
//!
//! let issuer = TestIssuer::start().await;
//! let verifier = issuer.verifier().await;
//! // The client id, the redirect URI registered at the issuer, a cookie key.
//! let config = issuer
//!     .step_up_config("http://127.0.0.1:8080/callback")
//!     .build()?;
//! let step = StepUp::new(verifier, config)?;
//!
//! // A route demands a login within 5 minutes: send the browser away...
//! let delete_account = Requirement::max_age(Duration::from_secs(300));
//! let begun = step.begin(&delete_account, "/account/delete", None).await?;
//! assert!(begun.location.contains("max_age=300"));
//!
//! // ...the issuer logs the user in and redirects to the callback...
//! let no_redirects = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let back = no_redirects.get(&begun.location).send().await?;
//! let callback = reqwest::Url::parse(back.headers()["location"].to_str()?)?;
//!
//! // ...where the code is exchanged and the new login proven.
//! let pending_cookie = begun.set_cookie.split(';').next().unwrap_or_default();
//! let done = step
//!     .complete(callback.query().unwrap_or_default(), Some(pending_cookie))
//!     .await;
//! let finished = done.result?;
//! assert_eq!(finished.verified.subject(), "user-1");
//! assert_eq!(finished.return_to, "/account/delete");
//! # Ok(())
//! # }
//! ```

mod callback;
mod config;
mod endpoints;
mod error;
mod exchange;
mod page;
mod pending;
#[cfg(feature = "redis")]
mod redis_store;
mod return_to;

mod browser;
mod client;
mod hook;
mod outcome;
mod round_trip;

pub use callback::{Callback, DEFAULT_MAX_CALLBACK_BYTES, Outcome};
pub use client::StepUp;
pub use config::{ClientAuth, StepUpConfig, StepUpConfigBuilder, UserHint};
pub use endpoints::{SignIn, joined_cookies};
pub use error::{AuthorizationErrorKind, StateProblem, StepUpError};
pub use outcome::{Begun, Completion, Finished, StepUpUser};
pub use page::html_escape;
pub use pending::{
    DEFAULT_MAX_PENDING, MemoryPendingStore, PendingStepUp, PendingStore, StoreFuture,
};
#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_MAX_REDIS_PENDING, RedisPendingStore};
pub use return_to::{MAX_RETURN_TO_BYTES, check_return_to, return_place};
