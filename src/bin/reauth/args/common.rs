//! The options `verify` and `serve` share: the issuer(s), the audience,
//! the requirement and the revocation store.

use std::time::Duration;

use clap::{Args, ValueEnum};
use reauth::Algorithm;
use reauth::gate::duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Policy {
    Deny,
    Allow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Id,
    Access,
}

impl Kind {
    /// The library's name for it.
    pub fn token_kind(self) -> reauth::TokenKind {
        match self {
            Self::Id => reauth::TokenKind::IdToken,
            Self::Access => reauth::TokenKind::AccessToken,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Issuer URL, exactly as in the tokens' `iss` (https, or http on
    /// loopback). Repeat (or comma-separate) for several: each token goes to
    /// the issuer its `iss` names; the other options apply to all.
    // Not required by clap when --issuer-template (or serve's
    // --check-config) is given; see `Cli::parse_args`.
    #[arg(
        long,
        env = "REAUTH_ISSUER",
        value_delimiter = ',',
        value_name = "URL",
        required_unless_present = "issuer_template"
    )]
    pub issuer: Vec<String>,
    /// An issuer per tenant: a URL with one {tenant} (1 to 63 of a-z, 0-9,
    /// -), e.g. https://{tenant}.authgear.cloud, discovered on first sight
    /// (at most 1,000 kept; a failed discovery is retried after 5 min).
    #[arg(long, value_name = "TEMPLATE")]
    pub issuer_template: Option<String>,
    /// Only these tenants of --issuer-template (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "TENANT,...",
        requires = "issuer_template"
    )]
    pub tenants: Vec<String>,
    /// Accepted audience (client id); repeat for several.
    #[arg(
        long = "audience",
        env = "REAUTH_AUDIENCE",
        required = true,
        value_delimiter = ',',
        value_name = "AUD"
    )]
    pub audiences: Vec<String>,
    /// Maximum age of the login (auth_time), e.g. 300, 5m. Default: no freshness check.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub max_age: Option<Duration>,
    /// Clock skew tolerated on exp, nbf, iat and auth_time (at most 1h).
    #[arg(long, value_parser = duration::parse, default_value = "30s", value_name = "DURATION")]
    pub leeway: Duration,
    /// What to do when the token says the user cannot re-authenticate.
    #[arg(long, value_enum, default_value = "deny", value_name = "POLICY")]
    pub when_cannot_reauthenticate: Policy,
    /// Name of the boolean can-reauthenticate claim.
    #[arg(long, default_value = reauth::AUTHGEAR_CAN_REAUTHENTICATE, value_name = "NAME")]
    pub can_reauth_claim: String,
    /// Allowed algorithms, comma-separated. Default: the issuer's advertised ones ∩
    /// RS256/384/512, PS256/384/512, ES256/384, EdDSA (also named Ed25519).
    #[arg(long, value_delimiter = ',', value_parser = parse_alg, value_name = "ALGS")]
    pub algorithms: Vec<Algorithm>,
    /// Accepted acr values, comma-separated (step-up). Default: any.
    #[arg(long, value_delimiter = ',', value_name = "ACR,...")]
    pub acr_values: Vec<String>,
    /// Authentication methods (amr) the token must contain, comma-separated. Default: none.
    #[arg(long, value_delimiter = ',', value_name = "METHOD,...")]
    pub require_amr: Vec<String>,
    /// Minimum time between two JWKS fetches.
    #[arg(long, value_parser = duration::parse, default_value = "30s", value_name = "DURATION")]
    pub jwks_cooldown: Duration,
    /// Timeout of each fetch from the issuer.
    #[arg(long, value_parser = duration::parse, default_value = "5s", value_name = "DURATION")]
    pub fetch_timeout: Duration,
    /// Largest token accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024, value_name = "BYTES")]
    pub max_token_bytes: usize,
    /// Absolute session lifetime (auth_time older than this is rejected on every request). Default: none.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub max_session_age: Option<Duration>,
    /// The kind of token: `id` (OpenID Connect ID tokens) or `access`
    /// (RFC 9068 JWT access tokens; --audience is then the resource
    /// identifier).
    #[arg(long, value_enum, default_value = "id", value_name = "KIND")]
    pub token_kind: Kind,
    /// A scope the access token must have (repeatable, or comma-separated);
    /// otherwise 403 insufficient_scope. Only with --token-kind access.
    #[arg(long = "required-scope", value_delimiter = ',', value_name = "SCOPE")]
    pub required_scopes: Vec<String>,
    /// Share revocations through this Redis (redis://host:port/db), or a
    /// Redis Cluster (redis+cluster://host:port,host:port). Default: in-process only.
    #[arg(long, env = "REAUTH_REDIS", value_name = "URL")]
    pub redis: Option<String>,
    /// Key prefix in Redis.
    #[arg(long, default_value = "reauth", value_name = "PREFIX")]
    pub redis_prefix: String,
    /// With --redis: how long a request waits for the revocation mirror to
    /// catch up (after a pause or a reconnect) before answering 503
    /// revocation_unavailable; 0s answers at once. At most 60s.
    #[arg(long, value_parser = duration::parse, default_value = "1s", value_name = "DURATION")]
    pub revocation_catch_up_wait: Duration,
    /// DPoP (RFC 9449): how old a proof's `iat` may be; each proof's `jti`
    /// is remembered that long (in Redis with --redis).
    #[arg(long, value_parser = duration::parse, default_value = "60s", value_name = "DURATION")]
    pub dpop_proof_max_age: Duration,
    /// Set by `serve` from `--public-url`: the base of DPoP proofs' `htu`
    /// and of the RFC 9728 metadata URL named in challenges.
    #[arg(skip)]
    pub public_origin: Option<String>,
    /// Set by `serve` from `--dpop-nonce-key-file`: DPoP server nonces.
    #[arg(skip)]
    pub dpop_nonce_key: Option<Vec<u8>>,
    /// Set by `serve` from `--dpop`: whether bearer tokens are accepted.
    #[arg(skip)]
    pub dpop: reauth::DpopPolicy,
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    reauth::algorithm_named(s.trim()).ok_or_else(|| format!("unknown algorithm {s:?}"))
}
