//! RFC 9728 OAuth 2.0 Protected Resource Metadata: what a client (an MCP
//! client among them) reads to learn which authorization servers issue
//! tokens for this resource and whether they must be DPoP-bound. Built once
//! at start; served at [`METADATA_PATH`] by the gate and by a handler in
//! each adapter; named in challenges as `resource_metadata` (§5.1) through
//! [`VerifierConfigBuilder::resource_metadata`](crate::VerifierConfigBuilder::resource_metadata).

use serde_json::{Value, json};

use crate::config::check_url;
use crate::error::ConfigError;
use crate::guard::render::Answer;
use crate::verify::issuers::Verifiers;

/// RFC 9728 §3: the well-known path of the metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// A protected resource's metadata (RFC 9728 §2). Build with
/// [`ProtectedResourceMetadata::builder`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use reauth::ProtectedResourceMetadata;
/// use reauth::testing::TestIssuer;
///
/// let issuer = TestIssuer::start().await;
/// let verifier = issuer.verifier().await;
/// let metadata = ProtectedResourceMetadata::builder("https://api.example.com")
///     .authorization_servers_of(&verifier.clone().into())
///     .dpop_bound_access_tokens_required(true)
///     .build()?;
/// let doc = metadata.to_json();
/// assert_eq!(doc["resource"], "https://api.example.com");
/// assert_eq!(doc["authorization_servers"][0], issuer.issuer());
/// assert_eq!(doc["dpop_bound_access_tokens_required"], true);
/// assert_eq!(metadata.url(), "https://api.example.com/.well-known/oauth-protected-resource");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    dpop_algs: Vec<String>,
    dpop_required: bool,
    resource_name: Option<String>,
}

/// Builder for [`ProtectedResourceMetadata`].
#[derive(Debug, Clone)]
pub struct ProtectedResourceMetadataBuilder {
    m: ProtectedResourceMetadata,
}

impl ProtectedResourceMetadata {
    /// Metadata of the resource identified by `resource` (RFC 9728 §1.2:
    /// an https URL without a fragment, e.g. `https://api.example.com`).
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadataBuilder {
            m: ProtectedResourceMetadata {
                resource: resource.into(),
                authorization_servers: Vec::new(),
                scopes_supported: Vec::new(),
                dpop_algs: crate::jwt::alg::names(&crate::jwt::alg::SUPPORTED_ALGORITHMS),
                dpop_required: false,
                resource_name: None,
            },
        }
    }

    /// The document (RFC 9728 §2).
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            // RFC 9728 §2: tokens are read from the Authorization header.
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": self.dpop_algs,
            "dpop_bound_access_tokens_required": self.dpop_required,
        });
        if !self.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(self.scopes_supported);
        }
        if let Some(name) = &self.resource_name {
            doc["resource_name"] = json!(name);
        }
        doc
    }

    /// Where the document is served (RFC 9728 §3.1: the well-known path
    /// between the resource's host and its path).
    pub fn url(&self) -> String {
        let r = self.resource.trim_end_matches('/');
        let after_scheme = r.find("://").map_or(0, |i| i + 3);
        match r[after_scheme..].find('/') {
            Some(i) => {
                let (origin, path) = r.split_at(after_scheme + i);
                format!("{origin}{METADATA_PATH}{path}")
            }
            None => format!("{r}{METADATA_PATH}"),
        }
    }

    /// The HTTP answer: 200, `application/json`, cacheable for an hour.
    pub fn answer(&self) -> Answer {
        Answer {
            status: 200,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("cache-control", "public, max-age=3600".to_owned()),
            ],
            body: self.to_json().to_string().into_bytes(),
        }
    }
}

impl ProtectedResourceMetadataBuilder {
    /// An authorization server (an issuer) whose tokens this resource takes.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.m.authorization_servers.push(issuer.into());
        self
    }

    /// Every issuer of `verifiers` (the one, or the set's fixed issuers
    /// and the tenants discovered so far).
    pub fn authorization_servers_of(mut self, verifiers: &Verifiers) -> Self {
        for v in verifiers.known() {
            let iss = v.config().issuer().to_owned();
            if !self.m.authorization_servers.contains(&iss) {
                self.m.authorization_servers.push(iss);
            }
        }
        self
    }

    /// `scopes_supported`. Default: not published.
    pub fn scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.m.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// `dpop_bound_access_tokens_required` (RFC 9728 §2): true when every
    /// route requires DPoP. Default false.
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.m.dpop_required = required;
        self
    }

    /// `resource_name`, for people. Default: none.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.m.resource_name = Some(name.into());
        self
    }

    /// Validates: `resource` is an https (or loopback http) URL without a
    /// fragment, and there is at least one authorization server.
    pub fn build(self) -> Result<ProtectedResourceMetadata, ConfigError> {
        let url = check_url("resource", &self.m.resource)?;
        if url.fragment().is_some() {
            return Err(ConfigError::InvalidSetting {
                name: "resource",
                reason: "must have no fragment (RFC 9728 §1.2)".into(),
            });
        }
        if self.m.authorization_servers.is_empty() {
            return Err(ConfigError::InvalidSetting {
                name: "authorization_servers",
                reason: "name at least one issuer".into(),
            });
        }
        Ok(self.m)
    }
}
