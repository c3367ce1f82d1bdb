//! The token builder of the test issuer.

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::testing::jws::{sign_jws, sign_raw};
use crate::testing::keys::TestKey;

/// Builds and signs one token. Anything can be set, including what a real
/// issuer would never produce.
#[derive(Debug, Clone)]
pub struct TokenBuilder {
    pub(crate) now: i64,
    pub(crate) key: TestKey,
    pub(crate) keys: Vec<TestKey>,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) raw_payload: Option<String>,
    pub(crate) raw_header: Option<String>,
}

impl TokenBuilder {
    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `auth_time` to `secs` seconds before the issuer's "now".
    pub fn auth_time_ago(self, secs: i64) -> Self {
        let t = self.now - secs;
        self.claim("auth_time", t)
    }

    /// Sets the `acr` claim (the authentication context class the login
    /// met), as [`TestLogin::acr`](crate::testing::TestLogin::acr) does for a browser login.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use reauth::Requirement;
    /// use reauth::testing::TestIssuer;
    ///
    /// let issuer = TestIssuer::start().await;
    /// let verifier = issuer.verifier().await;
    /// let gold = Requirement::none().acr_values(["urn:example:gold"]);
    /// let token = issuer.token().acr("urn:example:gold").sign();
    /// assert!(verifier.verify(&token, &gold).await.is_ok());
    /// let token = issuer.token().acr("urn:example:bronze").sign();
    /// assert!(verifier.verify(&token, &gold).await.is_err());
    /// # }
    /// ```
    pub fn acr(self, acr: impl Into<String>) -> Self {
        self.claim("acr", acr.into())
    }

    /// Sets the `amr` claim (the authentication methods the login used), as
    /// [`TestLogin::amr`](crate::testing::TestLogin::amr) does for a browser login; an empty list removes
    /// the claim. Tokens carry no `amr` unless this (or
    /// [`claim`](Self::claim)) sets one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use reauth::Requirement;
    /// use reauth::testing::TestIssuer;
    ///
    /// let issuer = TestIssuer::start().await;
    /// let verifier = issuer.verifier().await;
    /// let mfa = Requirement::none().require_amr(["mfa"]);
    /// let token = issuer.token().amr(["pwd", "mfa"]).sign();
    /// assert!(verifier.verify(&token, &mfa).await.is_ok());
    /// let token = issuer.token().amr(["pwd"]).sign();
    /// assert!(verifier.verify(&token, &mfa).await.is_err());
    /// # }
    /// ```
    pub fn amr<I: IntoIterator<Item = S>, S: Into<String>>(self, amr: I) -> Self {
        let amr: Vec<String> = amr.into_iter().map(Into::into).collect();
        if amr.is_empty() {
            self.without("amr")
        } else {
            self.claim("amr", amr)
        }
    }

    /// Sets the `can_reauthenticate` claim (Authgear's name).
    pub fn can_reauthenticate(self, can: bool) -> Self {
        self.claim(crate::config::AUTHGEAR_CAN_REAUTHENTICATE, can)
    }

    /// Sets a header parameter (`alg`, `typ: JWT` and `kid` are set from the
    /// key unless given here); [`Value::Null`] removes the parameter.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Signs with `alg`, switching to the issuer's current key of the right
    /// type when the chosen key cannot sign `alg`.
    pub fn alg(mut self, alg: Algorithm) -> Self {
        if !self.key.supports(alg) {
            if let Some(k) = self.keys.iter().find(|k| k.supports(alg)) {
                self.key = k.clone();
            }
        }
        self.alg = Some(alg);
        self
    }

    /// Signs with `key` (e.g. an attacker's, or one not yet published).
    pub fn key(mut self, key: &TestKey) -> Self {
        self.key = key.clone();
        self
    }

    /// Uses this exact text as the payload (duplicate members, strings for
    /// dates...). Claims set otherwise are ignored.
    pub fn raw_payload(mut self, json_text: &str) -> Self {
        self.raw_payload = Some(json_text.to_owned());
        self
    }

    /// Uses this exact text as the header; the signature uses the key's
    /// default algorithm unless [`alg`](Self::alg) was set.
    pub fn raw_header(mut self, json_text: &str) -> Self {
        self.raw_header = Some(json_text.to_owned());
        self
    }

    /// The claims as they will be signed.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Signs and returns the compact JWS.
    pub fn sign(self) -> String {
        let alg = self.alg.unwrap_or_else(|| self.key.default_alg());
        let payload = self
            .raw_payload
            .clone()
            .unwrap_or_else(|| Value::Object(self.claims.clone()).to_string());
        match &self.raw_header {
            Some(header) => sign_raw(&self.key, alg, header, &payload),
            None => sign_jws(&self.key, alg, &self.header, &payload),
        }
    }
}
