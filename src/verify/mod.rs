//! The verification pipeline: the [`Verifier`](crate::Verifier) (check the
//! token, then judge it against a route's requirement), the requirement
//! and freshness rules, the memo of verified tokens, issuer sets and the
//! verifier's counters.

pub(crate) mod dpop;
pub(crate) mod freshness;
pub(crate) mod issuers;
pub(crate) mod memo;
pub(crate) mod requirement;
pub(crate) mod stats;
pub(crate) mod verifier;
