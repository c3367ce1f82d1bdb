//! Every entry is namespaced by its issuer.

/// The namespace of one issuer's entries. Its tag is the first 16 hex
/// digits of the SHA-256 of the issuer URL exactly as configured: issuers
/// are chosen by the operator, not by token senders, so 64 bits keep them
/// apart, and the tag keeps store keys short whatever the URL's length.
/// Computed once per verifier, never per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    issuer: String,
    tag: String,
    /// DPoP proof `jti`s ([`Namespace::dpop_proofs`]), not revocations.
    proofs: bool,
}

impl Namespace {
    /// The namespace of `issuer` (exactly as in `iss`).
    pub fn new(issuer: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, issuer.as_bytes());
        let tag = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            issuer: issuer.to_owned(),
            tag,
            proofs: false,
        }
    }

    /// The namespace of `issuer`'s DPoP proof `jti`s (RFC 9449 §11.1):
    /// apart from its revocations and logout-token and SET `jti`s, and
    /// counted apart by a [`MemoryStore`](crate::revocation::MemoryStore)
    /// (a client with a bound key cannot fill the record that logout
    /// tokens need).
    pub fn dpop_proofs(issuer: &str) -> Self {
        Self {
            proofs: true,
            ..Self::new(&format!("dpop:{issuer}"))
        }
    }

    /// Whether this namespace holds DPoP proof `jti`s.
    pub fn holds_proofs(&self) -> bool {
        self.proofs
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The 16-hex-digit tag every entry of this issuer is stored under.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The store key of one id: `{tag}:{id}`.
    pub fn scoped(&self, id: &str) -> String {
        format!("{}:{id}", self.tag)
    }
}
