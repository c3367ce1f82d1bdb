//! [`TenantTemplate`]: issuers discovered on first sight, one per tenant,
//! from a template with one `{tenant}`; and the tenant grammar.

use std::sync::Arc;
use std::time::Duration;

use crate::config::VerifierConfig;
use crate::error::ConfigError;
use crate::revocation::{MemoryStore, RevocationStore};

/// Builds a tenant's configuration from its issuer and tenant.
pub(super) type MakeConfig =
    dyn Fn(&str, &str) -> Result<VerifierConfig, ConfigError> + Send + Sync;

/// Issuers discovered on first sight from a template with one `{tenant}`.
///
/// `{tenant}` is 1 to 63 of `a-z`, `0-9` and `-` (a DNS label, lower case):
/// anything else in its place is `invalid_issuer`, never a discovery.
#[derive(Clone)]
pub struct TenantTemplate {
    prefix: String,
    suffix: String,
    pub(super) config: Arc<MakeConfig>,
    pub(super) allowed: Option<Vec<String>>,
    pub(super) max_issuers: usize,
    pub(super) negative_ttl: Duration,
    pub(super) max_concurrent_discoveries: usize,
    /// One store for every tenant's verifier (see [`TenantTemplate::revocation_store`]).
    pub(super) store: Arc<dyn RevocationStore>,
}

impl std::fmt::Debug for TenantTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TenantTemplate({}{{tenant}}{})",
            self.prefix, self.suffix
        )
    }
}

/// `[a-z0-9-]{1,63}`.
pub fn valid_tenant(t: &str) -> bool {
    (1..=63).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl TenantTemplate {
    /// `template` holds exactly one `{tenant}` (e.g.
    /// `https://{tenant}.authgear.cloud`,
    /// `https://sso.example.com/realms/{tenant}`); `config(issuer, tenant)`
    /// builds each tenant's verifier configuration (its audiences,
    /// algorithms, policy...).
    pub fn new(
        template: &str,
        config: impl Fn(&str, &str) -> Result<VerifierConfig, ConfigError> + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let bad =
            |why: &str| ConfigError::IssuerSet(format!("issuer template {template:?}: {why}"));
        let (prefix, suffix) = template
            .split_once("{tenant}")
            .ok_or_else(|| bad("it has no {tenant}"))?;
        if suffix.contains("{tenant}") {
            return Err(bad("it has {tenant} twice"));
        }
        if prefix.is_empty() {
            return Err(bad("it must start with https:// (or http:// for loopback)"));
        }
        // The template must give a valid issuer URL for a tenant.
        let url = crate::config::check_url("issuer template", &format!("{prefix}tenant{suffix}"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::IssuerShape(template.to_owned()));
        }
        // OIDC Discovery §4.3: `iss` is compared exactly, so a slash the
        // provider's issuers do not have makes every token `invalid_issuer`.
        // After a path (`.../realms/{tenant}/`) no provider we know writes
        // one; a bare host (`https://{tenant}.auth0.com/`, Auth0's form)
        // keeps it, and a mismatch there is logged per token.
        if suffix.ends_with('/') && url.path() != "/" {
            return Err(bad(
                "it ends with '/' after a path; issuers there have none (Keycloak: \
                 https://sso.example.com/realms/{tenant}): remove the slash",
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            config: Arc::new(config),
            allowed: None,
            max_issuers: 1000,
            negative_ttl: Duration::from_secs(300),
            max_concurrent_discoveries: 4,
            store: Arc::new(MemoryStore::new()),
        })
    }

    /// The revocation store of every tenant whose configuration names none.
    /// Defaults to one [`MemoryStore`] for the whole template, never one per
    /// tenant: a tenant's verifier can be evicted from the cache (past
    /// [`max_issuers`](Self::max_issuers)) and discovered again, and its
    /// revocations must outlive it. Entries are namespaced by issuer, so one
    /// store serves every tenant. A configuration closure that gives each
    /// tenant a store of its own loses this; pass one shared store here (or
    /// the same `Arc` from the closure).
    pub fn revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.store = store;
        self
    }

    /// Only these tenants (an allow-list; default: any valid tenant). An
    /// entry the template can never match (`ACME`: tenants are lower case)
    /// is refused by [`IssuerSet::new`](crate::IssuerSet::new).
    pub fn tenants<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tenants: I) -> Self {
        self.allowed = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// The template as written (`https://{tenant}.example.com`).
    pub fn template(&self) -> String {
        format!("{}{{tenant}}{}", self.prefix, self.suffix)
    }

    /// Most tenants' verifiers kept (default 1,000).
    pub fn max_issuers(mut self, n: usize) -> Self {
        self.max_issuers = n.max(1);
        self
    }

    /// How long a failed discovery is remembered (default 5 min).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Most discoveries at once (default 4).
    pub fn max_concurrent_discoveries(mut self, n: usize) -> Self {
        self.max_concurrent_discoveries = n.max(1);
        self
    }

    /// The tenant an `iss` names: `None` unless it fits the template, the
    /// tenant grammar and the allow-list.
    pub fn tenant_of<'a>(&self, iss: &'a str) -> Option<&'a str> {
        let t = iss.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        let allowed = self
            .allowed
            .as_ref()
            .is_none_or(|a| a.iter().any(|x| x == t));
        (valid_tenant(t) && allowed).then_some(t)
    }
}
