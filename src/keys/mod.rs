//! Keys: the JWKS as usable keys ([`set`]), its lifetime ([`cache_control`])
//! and the cache that fetches, refreshes and shares it ([`cache`]).

pub(crate) mod cache;
pub(crate) mod cache_control;
pub(crate) mod set;

pub(crate) use cache::KeyCache;
pub(crate) use set::Lookup;
