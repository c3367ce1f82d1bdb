//! Keys: the JWKS as usable keys ([`set`], each key's material in [`jwk`]),
//! its lifetime ([`cache_control`])
//! and the cache that fetches, refreshes and shares it ([`cache`]).

pub(crate) mod cache;
pub(crate) mod cache_control;
pub(crate) mod jwk;
pub(crate) mod set;
pub(crate) mod signed;

pub(crate) use cache::KeyCache;
#[cfg(feature = "fuzzing")]
pub(crate) use set::KeySet;
pub(crate) use set::Lookup;
