//! The verifiers, their configuration and the default requirement, from
//! the shared options.

use std::sync::Arc;

use reauth::revocation::{RedisStore, RedisStoreConfig, RevocationStore};
use reauth::{
    IssuerSet, ReauthPolicy, Requirement, TenantTemplate, Verifier, VerifierConfig, Verifiers,
};

use super::common::{CommonArgs, Kind, Policy};
use crate::error::CliError;

/// How long a DPoP nonce the gate issued is accepted.
const DPOP_NONCE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);

impl CommonArgs {
    /// The verifiers: one per `--issuer` (discovered now) and the tenant
    /// template, sharing one revocation store (Redis when `--redis`).
    pub async fn verifiers(&self) -> Result<Verifiers, CliError> {
        if self.token_kind == Kind::Id && !self.required_scopes.is_empty() {
            return Err(CliError::Config(
                "--required-scope needs --token-kind access (ID tokens carry no scope)".to_owned(),
            ));
        }
        if self.issuer.is_empty() && self.issuer_template.is_none() {
            return Err(CliError::Config(
                "--issuer or --issuer-template is required".into(),
            ));
        }
        let store = self.store().await?;
        let mut fixed = Vec::new();
        for issuer in &self.issuer {
            let config = self
                .config(issuer, store.clone())
                .map_err(|e| CliError::Config(e.to_string()))?;
            fixed.push(Verifier::discover(config).await?);
        }
        let template = self.template(store)?;
        if fixed.len() == 1 && template.is_none() {
            return Ok(Verifiers::One(fixed.remove(0)));
        }
        IssuerSet::new(fixed, template)
            .map(Verifiers::Set)
            .map_err(|e| CliError::Config(e.to_string()))
    }

    /// The shared revocation store (`--redis`), connected; `None`: each
    /// verifier keeps its revocations in process.
    async fn store(&self) -> Result<Option<Arc<dyn RevocationStore>>, CliError> {
        let Some(url) = &self.redis else {
            return Ok(None);
        };
        let mut cfg = RedisStoreConfig::new(url.clone());
        cfg.key_prefix = self.redis_prefix.clone();
        cfg.catch_up_wait = self.revocation_catch_up_wait;
        let store = RedisStore::connect(cfg)
            .await
            .map_err(|e| CliError::Config(e.to_string()))?;
        Ok(Some(store))
    }

    /// The tenant template (`--issuer-template`, `--tenants`), when given.
    fn template(
        &self,
        store: Option<Arc<dyn RevocationStore>>,
    ) -> Result<Option<TenantTemplate>, CliError> {
        let Some(t) = &self.issuer_template else {
            return Ok(None);
        };
        let args = self.clone();
        let mut template =
            TenantTemplate::new(t, move |issuer, _tenant| args.config(issuer, store.clone()))
                .map_err(|e| CliError::Config(format!("--issuer-template: {e}")))?;
        if !self.tenants.is_empty() {
            if let Some(bad) = self.tenants.iter().find(|t| !reauth::valid_tenant(t)) {
                return Err(CliError::Config(format!(
                    "--tenants: {bad:?} is not a tenant (1 to 63 of a-z, 0-9, -)"
                )));
            }
            template = template.tenants(self.tenants.iter().cloned());
        }
        Ok(Some(template))
    }

    /// One issuer's configuration from the options.
    fn config(
        &self,
        issuer: &str,
        store: Option<Arc<dyn RevocationStore>>,
    ) -> Result<VerifierConfig, reauth::ConfigError> {
        let mut b = VerifierConfig::builder(issuer)
            .audiences(self.audiences.iter().cloned())
            .leeway(self.leeway)
            .when_cannot_reauthenticate(self.policy())
            .can_reauthenticate_claim(self.can_reauth_claim.clone())
            .jwks_refresh_cooldown(self.jwks_cooldown)
            .http_timeout(self.fetch_timeout)
            .max_token_bytes(self.max_token_bytes)
            .max_session_age(self.max_session_age)
            .token_kind(self.token_kind.token_kind())
            .dpop_proof_max_age(self.dpop_proof_max_age)
            .dpop_nonces(self.dpop_nonce_key.clone(), DPOP_NONCE_LIFETIME);
        if let Some(origin) = &self.public_origin {
            b = b
                .public_origin(origin.clone())
                .resource_metadata(format!("{origin}{}", reauth::METADATA_PATH));
        }
        if !self.algorithms.is_empty() {
            b = b.algorithms(self.algorithms.iter().copied());
        }
        if let Some(store) = store {
            b = b.revocation_store(store);
        }
        b.build()
    }

    fn policy(&self) -> ReauthPolicy {
        match self.when_cannot_reauthenticate {
            Policy::Deny => ReauthPolicy::Deny,
            Policy::Allow => ReauthPolicy::Allow,
        }
    }

    /// The default requirement of every check.
    pub fn requirement(&self) -> Requirement {
        Requirement::none()
            .with_max_age(self.max_age)
            .acr_values(self.acr_values.iter().cloned())
            .require_amr(self.require_amr.iter().cloned())
            .require_scopes(self.required_scopes.iter().cloned())
            .dpop(self.dpop)
    }
}
