//! `reauth serve --upstream`: the gate as the front door. Each request is
//! decided by the library ([`Gatekeeper::admit`](reauth::gate::Gatekeeper::admit))
//! on the very request line that is forwarded; an allowed one goes to the
//! upstream with the identity headers ([`reauth::gate::front`]), bodies
//! streaming both ways; a refusal is answered here. hyper does the HTTP
//! (HTTP/1.1 and HTTP/2 from clients, the pooled HTTP/1.1 client,
//! upgrades); this module is the wiring, no HTTP parsing of its own.

mod config;
mod proxy;
mod server;
mod tls;

pub use config::{Front, Limits};
pub use server::run;
