//! What a verifier checks DPoP proofs with (RFC 9449), built once at
//! discovery: the proof limits, and the server nonces when they are on.

use crate::verify::dpop;

/// What a verifier checks DPoP proofs with, built once at discovery.
pub(crate) struct DpopState {
    pub(crate) limits: dpop::ProofLimits,
    pub(crate) nonces: Option<Nonces>,
    /// Where this issuer's proof `jti`s are recorded: computed once, not
    /// per request.
    pub(crate) namespace: crate::revocation::Namespace,
}

impl DpopState {
    pub(crate) fn new(config: &crate::config::VerifierConfig) -> Self {
        let limits = dpop::ProofLimits {
            iat_past: config.dpop_proof_max_age,
            ..dpop::ProofLimits::default()
        };
        let nonces = config.dpop_nonce_key.as_ref().map(|key| Nonces {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key),
            lifetime: i64::try_from(config.dpop_nonce_lifetime.as_secs()).unwrap_or(i64::MAX),
        });
        Self {
            limits,
            nonces,
            namespace: crate::revocation::Namespace::dpop_proofs(&config.issuer),
        }
    }
}

/// Stateless server nonces (RFC 9449 §8): the issue time and an HMAC of
/// it, so any instance with the same key accepts them and none stores one.
pub(crate) struct Nonces {
    key: aws_lc_rs::hmac::Key,
    lifetime: i64,
}

/// Bytes of the HMAC kept in a nonce (128 bits).
const NONCE_TAG: usize = 16;

impl Nonces {
    fn tag(&self, at: i64) -> [u8; NONCE_TAG] {
        let full = aws_lc_rs::hmac::sign(&self.key, &at.to_be_bytes());
        let mut out = [0u8; NONCE_TAG];
        out.copy_from_slice(&full.as_ref()[..NONCE_TAG]);
        out
    }

    /// A nonce issued now.
    pub(crate) fn issue(&self, now: i64) -> String {
        use base64::Engine;
        let mut raw = now.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.tag(now));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Ours, and issued within the lifetime (and not in the future).
    pub(crate) fn valid(&self, nonce: &str, now: i64) -> bool {
        use base64::Engine;
        if nonce.len() > 64 {
            return false;
        }
        let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Ok(at) = <[u8; 8]>::try_from(&raw[..raw.len().min(8)]) else {
            return false;
        };
        let at = i64::from_be_bytes(at);
        raw.len() == 8 + NONCE_TAG
            && aws_lc_rs::constant_time::verify_slices_are_equal(&raw[8..], &self.tag(at)).is_ok()
            && at <= now.saturating_add(5)
            && now.saturating_sub(at) <= self.lifetime
    }
}
