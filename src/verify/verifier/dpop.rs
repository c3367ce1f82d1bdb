//! Sender-constrained tokens (RFC 9449) at the verifier: after a token is
//! verified (from scratch or from the memo), how it was presented is
//! checked against what it is bound to. A bound token needs its proof on
//! every request (a memoised token too: a fresh, unreplayed one); a bound
//! token as `Bearer` is refused (no downgrade), and so is an unbound one
//! as `DPoP`, or a bearer token on a route that requires DPoP.

use crate::error::{Rejection, RejectionKind, VerifyError};
use crate::jwt::claims::Confirmation;
use crate::verify::dpop::{self, ProofRequest};
use crate::verify::requirement::{DpopPolicy, Requirement};
use crate::verify::verifier::handle::{Verifier, log_result};
use crate::verify::verifier::verified::Verified;
use serde::de::DeserializeOwned;

/// A request's DPoP presentation (`Authorization: DPoP <token>`): every
/// `DPoP` header value it carried, and the request they must fit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DpopPresentation {
    /// Every `DPoP` header value (exactly one is valid).
    pub proofs: Vec<String>,
    /// The request's method.
    pub method: String,
    /// The request's origin as it arrived (`scheme://host[:port]`); the
    /// verifier's [`public_origin`](crate::VerifierConfigBuilder::public_origin)
    /// replaces it when configured.
    pub origin: String,
    /// The request's path, without the query.
    pub path: String,
}

impl DpopPresentation {
    /// The URL the proof must name (`htu`): `public_origin` (else the
    /// request's own origin) and the path. `None` when the request's own
    /// origin is not `scheme://host[:port]` or the path not an absolute
    /// path (a `Host: a/b?` must not move what the proof is compared with).
    pub fn htu(&self, public_origin: Option<&str>) -> Option<String> {
        let origin = match public_origin {
            Some(o) => o.trim_end_matches('/'),
            None => {
                let (scheme, host) = self.origin.split_once("://")?;
                let authority_ok = !host.is_empty()
                    && host.bytes().all(|b| {
                        b.is_ascii_alphanumeric()
                            || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
                    });
                if !matches!(scheme, "http" | "https") || !authority_ok {
                    return None;
                }
                &self.origin
            }
        };
        let path_ok = self.path.starts_with('/') && !self.path.contains(['?', '#']);
        path_ok.then(|| format!("{origin}{}", self.path))
    }
}

impl Verifier {
    /// [`verify_as`](Self::verify_as) for a token presented with DPoP
    /// (RFC 9449: `Authorization: DPoP` and its proof) or as `Bearer`
    /// (`dpop: None`): a DPoP-bound token (`cnf.jkt`) needs a valid,
    /// unreplayed proof of its key on every request, and is refused as
    /// `Bearer`; the requirement's [`DpopPolicy`](crate::DpopPolicy) may
    /// refuse bearer tokens. Refusals of DPoP requests are challenged in
    /// the DPoP scheme.
    pub async fn verify_presented_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        dpop: Option<&DpopPresentation>,
        requirement: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        let result = self.run(token, requirement, None).await;
        log_result(self.check_binding(result, token, dpop, requirement).await)
    }

    /// The `algs` of a DPoP challenge: what a proof may be signed with.
    pub(crate) fn dpop_algs(&self) -> String {
        crate::jwt::alg::names(&self.inner.dpop.limits.algorithms).join(" ")
    }

    /// A refusal of a DPoP request (or of a route that requires DPoP),
    /// challenged in the DPoP scheme with a fresh nonce when nonces are on.
    fn in_dpop_scheme(&self, r: Rejection) -> Rejection {
        let nonce = self
            .inner
            .dpop
            .nonces
            .as_ref()
            .map(|n| n.issue(self.now_and_leeway().0));
        r.in_dpop_scheme(self.dpop_algs(), nonce)
    }

    /// RFC 9449 §7: the verified token against its presentation.
    pub(crate) async fn check_binding<E>(
        &self,
        result: Result<Verified<E>, VerifyError>,
        token: &str,
        dpop: Option<&DpopPresentation>,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        let dpop_answer = dpop.is_some() || req.dpop == DpopPolicy::Required;
        let tag = |r: Rejection| {
            let r = if dpop_answer {
                self.in_dpop_scheme(r)
            } else {
                r
            };
            r.with_resource_metadata(self.inner.config.resource_metadata.clone())
        };
        let verified = match result {
            Ok(v) => v,
            Err(VerifyError::Rejected(r)) => return Err(VerifyError::Rejected(tag(r))),
            Err(other) => return Err(other),
        };
        let refuse = |kind, message: &'static str| {
            Err(VerifyError::Rejected(tag(Rejection::new(kind, message))))
        };
        match (&verified.claims.cnf, dpop) {
            (Confirmation::None, None) if req.dpop == DpopPolicy::Required => refuse(
                RejectionKind::InvalidDpopProof,
                "this resource requires a DPoP-bound token with its proof (RFC 9449)",
            ),
            (Confirmation::None, None) => Ok(verified),
            // RFC 9449 §7.2: no downgrade to Bearer; the challenge says DPoP.
            (Confirmation::Jkt(_), None) => Err(VerifyError::Rejected(
                self.in_dpop_scheme(Rejection::new(
                    RejectionKind::InvalidClaim,
                    "the token is bound to a DPoP key (cnf.jkt): present it as Authorization: DPoP with a DPoP proof",
                ))
                .with_resource_metadata(self.inner.config.resource_metadata.clone()),
            )),
            (Confirmation::Other, _) => refuse(
                RejectionKind::InvalidClaim,
                "the token is bound (cnf) to a proof of possession this resource cannot check",
            ),
            // RFC 9449 §7.1: the DPoP scheme is for DPoP-bound tokens.
            (Confirmation::None, Some(_)) => refuse(
                RejectionKind::InvalidClaim,
                "the token is not bound to a DPoP key: present it as Bearer",
            ),
            (Confirmation::Jkt(jkt), Some(p)) => {
                self.check_proof(jkt, token, p).await.map_err(|e| match e {
                    VerifyError::Rejected(r) => VerifyError::Rejected(tag(r)),
                    other => other,
                })?;
                Ok(verified)
            }
        }
    }

    /// RFC 9449 §4.3: the proof, its nonce, its key, and its `jti` unseen.
    async fn check_proof(
        &self,
        jkt: &str,
        token: &str,
        p: &DpopPresentation,
    ) -> Result<(), VerifyError> {
        let settings = &self.inner.dpop;
        let (now, _) = self.now_and_leeway();
        let proofs: Vec<&str> = p.proofs.iter().map(String::as_str).collect();
        let htu = p.htu(self.inner.config.public_origin.as_deref()).ok_or_else(|| {
            Rejection::new(
                RejectionKind::InvalidDpopProof,
                "the request's origin or path cannot be a DPoP htu (set the verifier's public_origin)",
            )
        })?;
        let checked = dpop::check_proof(
            &proofs,
            &ProofRequest {
                method: &p.method,
                htu: &htu,
                access_token: token,
                now,
                expected_nonce: None,
            },
            &settings.limits,
        )
        .map_err(|e| Rejection::new(e.kind.rejection_kind(), e.detail.clone()))?;
        // RFC 9449 §8: with nonces on, the proof carries a nonce we issued,
        // still within its lifetime.
        if let Some(nonces) = &settings.nonces {
            match checked.nonce.as_deref() {
                Some(n) if nonces.valid(n, now) => {}
                Some(_) => {
                    return Err(Rejection::new(
                        RejectionKind::UseDpopNonce,
                        "the DPoP nonce is stale or not ours",
                    )
                    .into());
                }
                None => {
                    return Err(Rejection::new(
                        RejectionKind::UseDpopNonce,
                        "this resource requires a DPoP nonce",
                    )
                    .into());
                }
            }
        }
        // RFC 9449 §4.3 step 12.2: the token is bound to the proof's key.
        if !dpop::jkt_matches(jkt, &checked) {
            return Err(Rejection::new(
                RejectionKind::InvalidDpopProof,
                "the proof's key is not the one the token is bound to (cnf.jkt)",
            )
            .into());
        }
        // RFC 9449 §11.1: a jti seen within the iat window is a replay.
        let keep = checked
            .iat
            .saturating_add(
                i64::try_from(settings.limits.replay_window().as_secs()).unwrap_or(i64::MAX),
            )
            .saturating_add(1);
        let fresh = self
            .inner
            .store
            .record_jti(&settings.namespace, &checked.jti, now, keep.max(now + 1))
            .await
            .map_err(VerifyError::RevocationUnavailable)?;
        if !fresh {
            return Err(Rejection::new(
                RejectionKind::InvalidDpopProof,
                "the DPoP proof was already used (jti replay)",
            )
            .into());
        }
        Ok(())
    }
}
