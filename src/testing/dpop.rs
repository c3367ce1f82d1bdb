//! [`DpopKey`]: a client's DPoP key for tests: its RFC 7638 thumbprint
//! (the `cnf.jkt` to put in a test token) and proofs for requests, well
//! formed or broken on purpose.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::testing::jws::{rand_suffix, sign_jws};
use crate::testing::keys::TestKey;

/// A DPoP key pair (ES256 by default) held by a test client.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use reauth::testing::{DpopKey, TestIssuer};
/// use reauth::{DpopPresentation, Requirement};
///
/// let issuer = TestIssuer::start().await;
/// let verifier = issuer.verifier().await;
/// let key = DpopKey::es256();
/// let token = issuer.token().claim("cnf", key.cnf()).sign();
/// let proof = key.proof("POST", "https://api.example.com/payouts", &token).sign();
/// let dpop = DpopPresentation {
///     proofs: vec![proof],
///     method: "POST".into(),
///     origin: "https://api.example.com".into(),
///     path: "/payouts".into(),
/// };
/// let ok = verifier.verify_presented_as::<reauth::ClaimsMap>(&token, Some(&dpop), &Requirement::none()).await;
/// assert!(ok.is_ok());
/// // The same proof again is a replay.
/// let again = verifier.verify_presented_as::<reauth::ClaimsMap>(&token, Some(&dpop), &Requirement::none()).await;
/// assert_eq!(again.unwrap_err().code(), "invalid_dpop_proof");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DpopKey {
    key: TestKey,
}

impl DpopKey {
    /// A new P-256 key (ES256 proofs).
    pub fn es256() -> Self {
        Self {
            key: TestKey::ec("dpop"),
        }
    }

    /// A new RSA-2048 key (RS256 proofs).
    pub fn rs256() -> Self {
        Self {
            key: TestKey::rsa("dpop"),
        }
    }

    /// The public JWK, as a proof carries it (no `kid`, `use`, `alg`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.key.jwk();
        if let Some(o) = jwk.as_object_mut() {
            for member in ["kid", "use", "alg"] {
                o.remove(member);
            }
        }
        jwk
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: a bound token's `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        // RFC 7638 §3.2: the required members only, sorted, no whitespace.
        let members: &[&str] = match jwk["kty"].as_str() {
            Some("EC") => &["crv", "kty", "x", "y"],
            Some("RSA") => &["e", "kty", "n"],
            _ => &["crv", "kty", "x"],
        };
        let canonical: Map<String, Value> = members
            .iter()
            .map(|m| ((*m).to_owned(), jwk[*m].clone()))
            .collect();
        let text = Value::Object(canonical).to_string();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }

    /// The `cnf` claim of a token bound to this key: `{"jkt": ...}`.
    pub fn cnf(&self) -> Value {
        json!({ "jkt": self.thumbprint() })
    }

    /// A proof for `method` on `url`, bound to `token` (`ath`), issued now.
    pub fn proof(&self, method: &str, url: &str, token: &str) -> ProofBuilder {
        let ath = URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref(),
        );
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(format!("proof-{}", rand_suffix())));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(url));
        claims.insert("iat".into(), json!(chrono::Utc::now().timestamp()));
        claims.insert("ath".into(), json!(ath));
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("jwk".into(), self.public_jwk());
        header.insert("kid".into(), Value::Null);
        ProofBuilder {
            key: self.key.clone(),
            header,
            claims,
        }
    }
}

/// A DPoP proof being made; [`sign`](Self::sign) finishes it.
#[derive(Debug, Clone)]
pub struct ProofBuilder {
    key: TestKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl ProofBuilder {
    /// Sets a claim (`Value::Null` removes it).
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        if value.is_null() {
            self.claims.remove(name);
        } else {
            self.claims.insert(name.to_owned(), value);
        }
        self
    }

    /// Sets a header parameter (`Value::Null` removes it).
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Signs with another key than the one in the header (a forged proof).
    pub fn signed_by(mut self, key: &DpopKey) -> Self {
        self.key = key.key.clone();
        self
    }

    /// The compact JWS.
    pub fn sign(self) -> String {
        sign_jws(
            &self.key,
            self.key.default_alg(),
            &self.header,
            &Value::Object(self.claims).to_string(),
        )
    }
}
