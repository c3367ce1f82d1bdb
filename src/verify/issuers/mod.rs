//! Issuer sets: several issuers behind one `verify`, fixed or one per
//! tenant from a template (multi-tenant SaaS, a realm per customer, a
//! migration between two providers).
//!
//! The token's `iss` is read from the unverified payload **only to choose**
//! a [`Verifier`](crate::Verifier); the chosen verifier then checks everything, `iss`
//! included, with its own audiences, algorithms, policy defaults, memo and
//! revocation namespace (a `sub` of one issuer never matches another's).
//! An `iss` the set does not know is `invalid_issuer` without any network
//! call.
//!
//! A [`TenantTemplate`] such as `https://{tenant}.authgear.cloud` discovers
//! a tenant's issuer on first sight and keeps it in a bounded cache (default
//! 1,000 issuers; quick_cache's CLOCK-Pro eviction, an approximation of
//! least-recently-used). A failed discovery is remembered (default 5 min),
//! at most a few discoveries run at once (default 4; beyond that a new
//! tenant's token gets `keys_unavailable`, 503, at once), and one tenant is
//! discovered by one request while its others wait: a flood of tokens
//! naming random tenants costs at most one discovery per tenant per
//! negative-cache period (for as many failed tenants as the cache holds,
//! `max_issuers`; beyond that the concurrency bound still holds), and
//! tokens of known tenants never wait on it.

mod set;
mod tenant;
mod unverified;
mod verifiers;

pub use set::IssuerSet;
pub use tenant::{TenantTemplate, valid_tenant};
pub use verifiers::Verifiers;
