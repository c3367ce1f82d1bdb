//! The identity provider, seen from here: its discovery document, its JWKS
//! and the key cache that keeps them (Cache-Control, unknown-`kid` refresh
//! with cooldown, single flight, last known good keys), and the HTTP
//! fetching under them. The I/O edge of verification.

pub(crate) mod discovery;
pub(crate) mod http;
pub(crate) mod keys;
