//! The forward-auth gate's decisions (feature `gate`, on with `cli`): which
//! route of a [`Policy`] file the proxied request is, and what that route
//! demands. `reauth serve --config` is built on it; it has no HTTP server of
//! its own, so another gate can embed the same decisions.
//!
//! The original request is described by the proxy in headers
//! ([`Original::from_headers`]); the decision ([`Policy::decide`]) is one of
//! a route, "no route" (403 `no_route`), "refused" (403
//! `ambiguous_request`: the request could be read several ways) or
//! "misconfigured" (500: the proxy does not send what the policy needs).
//!
//! [`forward`] is the whole forward-auth decision, still without a web
//! framework: [`forward::classify`] turns the gate's request into an answer
//! now or a requirement to verify, and [`forward::identity`] builds the
//! identity headers of an accepted token.
//!
//! ```
//! use reauth::gate::{Action, Decision, Original, Policy};
//!
//! let policy = Policy::parse(
//!     r#"
//!     [[route]]
//!     name = "static"
//!     path = "/static/**"
//!     public = true
//!
//!     [[route]]
//!     name = "delete-account"
//!     methods = ["POST"]
//!     path = "/account/delete"
//!     max_age = "5m"
//!     "#,
//! )
//! .map_err(|errors| format!("{errors:?}"))?;
//!
//! let request = |method: &str, uri: &str| Original {
//!     method: Some(method.into()),
//!     host: Some("app.example.com".into()),
//!     uri: Some(uri.into()),
//!     method_override: false,
//! };
//! // The path is normalised before matching.
//! let Decision::Route(route) = policy.decide(&request("POST", "/Account/Delete/")) else {
//!     panic!("expected a route");
//! };
//! assert_eq!(route.name(), "delete-account");
//! let Action::Verify(requirement) = route.action() else {
//!     panic!("expected a verified route");
//! };
//! assert_eq!(requirement.max_age_secs(), Some(300));
//!
//! // No route: refused (403 `no_route`), unless the file says otherwise.
//! assert_eq!(policy.decide(&request("GET", "/account/delete")), Decision::NoRoute);
//! // A path that could be read as another route is refused, not guessed.
//! assert!(matches!(
//!     policy.decide(&request("POST", "/static/..%2faccount/delete")),
//!     Decision::Refused(_)
//! ));
//! # Ok::<(), String>(())
//! ```

#[cfg(feature = "stepup")]
pub mod browser;
mod credential;
mod decision;
pub mod duration;
pub mod forward;
pub mod front;
mod gatekeeper;
mod host;
mod method;
mod original;
pub mod path;
mod policy;
mod refusal;

pub use credential::Credential;
pub use decision::Decision;
pub use gatekeeper::Gatekeeper;
pub use host::HostPattern;
pub use method::{METHOD_OVERRIDE_HEADERS, METHOD_OVERRIDE_PARAMS};
pub use original::Original;
pub use path::{PathError, PathLimits, PathPattern};
pub use policy::{
    Action, BrowserMode, MAX_LIST_ITEMS, MAX_NAME_BYTES, MAX_POLICY_BYTES, MAX_ROUTES, Policy,
    PolicyError, Route, Unmatched,
};
pub use refusal::{ProxyMistake, Refusal};
