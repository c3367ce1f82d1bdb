//! [`Verified`]: what an accepted token gives the caller, and the claims
//! as the caller's type.

use std::any::{Any, TypeId};
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;

use crate::error::{Rejection, RejectionKind, VerifyError};
use crate::jwt::claims::{ClaimsMap, IdTokenClaims};
use crate::verify::requirement::Freshness;

/// An accepted token: typed standard claims, your extra claims, and the
/// freshness verdict.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified<E = ClaimsMap> {
    /// The standard claims, checked.
    pub claims: Arc<IdTokenClaims>,
    /// All claims deserialized into your type (default: the JSON object).
    pub extra: E,
    /// Whether the route's freshness demand was met, waived, or absent.
    pub freshness: Freshness,
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The key id, when the token named one.
    pub kid: Option<String>,
}

impl<E> Verified<E> {
    /// The user (`sub`).
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// When the user last authenticated (`auth_time`), in Unix seconds.
    pub fn auth_time(&self) -> Option<i64> {
        self.claims.auth_time
    }
}

/// The claims as the caller's type: the shared map itself for [`ClaimsMap`]
/// (no copy), a deserialization otherwise (a mismatch is `invalid_claim`).
pub(super) fn extract<E: DeserializeOwned + 'static>(claims: &ClaimsMap) -> Result<E, VerifyError> {
    if TypeId::of::<E>() == TypeId::of::<ClaimsMap>() {
        let shared: Box<dyn Any> = Box::new(Arc::clone(claims));
        if let Ok(e) = shared.downcast::<E>() {
            return Ok(*e);
        }
    }
    E::deserialize(&**claims).map_err(|e| {
        Rejection::new(
            RejectionKind::InvalidClaim,
            format!("claims do not fit the expected shape: {e}"),
        )
        .into()
    })
}
