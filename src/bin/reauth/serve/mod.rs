//! `reauth serve`: a forward-auth gate. `/verify` answers 200 (with identity
//! headers) or the same 401/403/503 + `WWW-Authenticate` as the library's
//! adapters; `/livez`, `/readyz` and `/healthz` for orchestrators.
//!
//! What a request demands comes from the policy file (`--config`,
//! [`reauth::gate`]) or, without one, from the command line and the query
//! overrides. This module is the HTTP wiring; decisions live in the library.
//!
//! [`start`] reads the options and runs the server, [`handler`] answers
//! `/verify`, [`app`] holds the route table, and [`error`] says why the
//! gate did not start.

mod app;
mod error;
mod handler;
pub mod listen;
mod signals;
mod start;
mod stepup;

pub use start::run;
