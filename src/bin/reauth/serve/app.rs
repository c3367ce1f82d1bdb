//! The gate's routes, and the verifiers in app data where the actix
//! adapter's back-channel logout receiver finds them.

use actix_web::web;
use reauth::{IssuerSet, Verifier, Verifiers};

use super::handler::{reauth_endpoint, verify};
use crate::health;

/// Every route of the gate's listener.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/verify", web::route().to(verify))
        .route("/verify/{original:.*}", web::route().to(verify))
        .route(
            "/backchannel-logout",
            web::post().to(reauth::actix::backchannel_logout),
        )
        .route("/ssf/events", web::post().to(super::signals::events))
        .route(
            reauth::METADATA_PATH,
            web::get().to(super::handler::metadata),
        )
        .route("/reauth/{endpoint:.*}", web::route().to(reauth_endpoint))
        .route("/healthz", web::get().to(health::healthz))
        .route("/livez", web::get().to(health::livez))
        .route("/readyz", web::get().to(health::readyz));
}

/// The verifiers as the actix adapter finds them in app data.
#[derive(Clone)]
pub(super) enum VerifierData {
    One(web::Data<Verifier>),
    Set(web::Data<IssuerSet>),
}

impl From<Verifiers> for VerifierData {
    fn from(v: Verifiers) -> Self {
        match v {
            Verifiers::One(v) => Self::One(web::Data::new(v)),
            Verifiers::Set(s) => Self::Set(web::Data::new(s)),
        }
    }
}
