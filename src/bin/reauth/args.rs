//! The command line (a fixed contract: scripts depend on it).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use reauth::{Algorithm, ReauthPolicy, Requirement, VerifierConfig};

use crate::duration;

#[derive(Parser, Debug)]
#[command(
    name = "reauth",
    version,
    about = "Demand a recent login: verify OpenID Connect ID tokens and their freshness"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Verify one token; print one JSON line; exit 0 accepted, 1 rejected, 2 could not decide.
    Verify(VerifyArgs),
    /// Run a forward-auth gate (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz).
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print the JSON indented (the default is one line).
    #[arg(long)]
    pub pretty: bool,
    /// The ID token, or `-` to read it from standard input.
    #[arg(value_name = "TOKEN|-")]
    pub token: String,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Worker threads (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Policy {
    Deny,
    Allow,
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Issuer URL, exactly as in the tokens' `iss` (https, or http on loopback).
    #[arg(long, env = "REAUTH_ISSUER", value_name = "URL")]
    pub issuer: String,
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
    /// Clock skew tolerated on exp, nbf, iat and auth_time, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub leeway: u64,
    /// What to do when the token says the user cannot re-authenticate.
    #[arg(long, value_enum, default_value = "deny", value_name = "POLICY")]
    pub when_cannot_reauthenticate: Policy,
    /// Name of the boolean can-reauthenticate claim.
    #[arg(long, default_value = reauth::AUTHGEAR_CAN_REAUTHENTICATE, value_name = "NAME")]
    pub can_reauth_claim: String,
    /// Allowed algorithms, comma-separated. Default: the issuer's advertised ones ∩
    /// RS256/384/512, PS256/384/512, ES256/384, EdDSA.
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
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    s.trim()
        .parse::<Algorithm>()
        .map_err(|_| format!("unknown algorithm {s:?}"))
}

impl CommonArgs {
    pub fn config(&self) -> Result<VerifierConfig, reauth::ConfigError> {
        let mut b = VerifierConfig::builder(self.issuer.clone())
            .audiences(self.audiences.iter().cloned())
            .leeway(Duration::from_secs(self.leeway))
            .when_cannot_reauthenticate(self.policy())
            .can_reauthenticate_claim(self.can_reauth_claim.clone())
            .jwks_refresh_cooldown(self.jwks_cooldown)
            .http_timeout(self.fetch_timeout)
            .max_token_bytes(self.max_token_bytes)
            .max_session_age(self.max_session_age);
        if !self.algorithms.is_empty() {
            b = b.algorithms(self.algorithms.iter().copied());
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
    }
}
