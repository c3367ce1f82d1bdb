//! The command line (a fixed contract: scripts depend on it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use reauth::revocation::{RedisStore, RedisStoreConfig};
use std::sync::Arc;

use reauth::revocation::RevocationStore;
use reauth::{
    Algorithm, IssuerSet, ReauthPolicy, Requirement, TenantTemplate, Verifier, VerifierConfig,
    Verifiers,
};

use reauth::gate::duration;

#[derive(Parser, Debug)]
#[command(
    name = "reauth",
    version,
    about = "Demand a recent login: verify OpenID Connect ID tokens and their freshness"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: `text` (colours only on a terminal) or `json`
    /// (one object a line, for log collectors). Levels: RUST_LOG.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "REAUTH_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

impl Cli {
    /// Parses the command line. `serve --check-config FILE` needs neither
    /// `--issuer` nor `--audience`: checking a file before deploying it
    /// must not need the issuer's address.
    pub fn parse_args() -> Result<Self, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let cmd = Self::command().mut_subcommand("serve", |s| {
            s.mut_arg("issuer", |a| {
                a.required(false)
                    .required_unless_present_any(["check_config", "issuer_template"])
            })
            .mut_arg("audiences", |a| {
                a.required(false).required_unless_present("check_config")
            })
        });
        let matches = cmd.try_get_matches()?;
        Self::from_arg_matches(&matches)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Verify one token; print one JSON line; exit 0 accepted, 1 rejected, 2 could not decide.
    Verify(VerifyArgs),
    /// Run a forward-auth gate (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz).
    #[command(after_long_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Revoke a user's logins or a session in the shared Redis store.
    Revoke(RevokeArgs),
}

#[derive(Args, Debug)]
#[command(group(
    clap::ArgGroup::new("target")
        .required(true)
        .args(["user", "session", "user_file", "session_file"])
))]
pub struct RevokeArgs {
    /// Redis URL of the shared revocation store (redis://host:port/db).
    #[arg(long, env = "REAUTH_REDIS", value_name = "URL")]
    pub redis: String,
    /// The issuer whose user or session this is, exactly as the gates'
    /// --issuer (entries are namespaced by issuer).
    #[arg(long, env = "REAUTH_ISSUER", value_name = "URL")]
    pub issuer: String,
    /// Revoke every login of this user (`sub`) at or before --before.
    #[arg(long, value_name = "SUB")]
    pub user: Option<String>,
    /// The cut-off: unix seconds or RFC 3339, not in the future. Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub before: Option<i64>,
    /// Revoke this session (`sid`).
    #[arg(long, value_name = "SID")]
    pub session: Option<String>,
    /// Revoke the logins of every user in FILE (one `sub` a line; `-` for
    /// stdin). The whole file is validated first: one bad line (empty, over
    /// 1 KiB, control characters) and nothing is written.
    #[arg(long, value_name = "FILE")]
    pub user_file: Option<String>,
    /// Revoke every session in FILE (one `sid` a line; `-` for stdin),
    /// validated like --user-file.
    #[arg(long, value_name = "FILE")]
    pub session_file: Option<String>,
    /// Most ids read from a file.
    #[arg(long, default_value_t = 10_000_000, value_name = "N")]
    pub max_ids: usize,
    /// How long the entry is kept at least. Gates register their
    /// --max-session-age in Redis, and every entry is kept at least that long
    /// whatever this says.
    #[arg(long, value_parser = duration::parse, default_value = "30d", value_name = "DURATION")]
    pub retention: Duration,
    /// Key prefix in Redis (its cluster hash tag).
    #[arg(long, default_value = "reauth", value_name = "PREFIX")]
    pub redis_prefix: String,
    /// Write even though no gate has recorded --issuer in this store. Gates
    /// record the issuers they serve when they start (and tenants when they
    /// are discovered); without this flag, an issuer none has recorded is
    /// refused (exit 2), because no gate would enforce the entry. Only for
    /// a store no gate has used yet.
    #[arg(long)]
    pub allow_unknown_issuer: bool,
}

fn parse_time(s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp()))
        .map_err(|_| format!("{s:?} is neither unix seconds nor RFC 3339"))
}

const SERVE_HELP: &str = "\
Endpoints:
  /verify            any method; reads `Authorization: Bearer <ID token>`
  /verify/<path>     the same, for Envoy ext_authz `path_prefix: /verify`
                     (the original path and query follow; never read as overrides)
  /livez             GET: 200 while the process answers
  /readyz            GET: 200 when keys are loaded (and, with --redis, the
                     revocation state is within its staleness bound), else 503
  /healthz           GET: 200 once the issuer's keys are loaded, else 503
  /backchannel-logout  POST: OpenID Connect Back-Channel Logout receiver
  /metrics           only on --metrics-bind (Prometheus text)

With --config FILE, each request's requirement comes from the first route of
the file matching the original request (X-Original-Method/-Host/-URI or
X-Forwarded-Method/-Host/-Uri, or the path under /verify/); no match is 403
no_route unless the file says `unmatched = \"verify\"`. Check a file with
--check-config FILE; reload it with SIGHUP (a bad file keeps the old policy).

Query overrides on /verify (they may only tighten; anything else, or an
unknown parameter, is 400 invalid_request):
  max_age=DURATION   shorter than the requirement's (or added when there is none)
  acr_values=A,B     a non-empty subset of the accepted ones (or added when any acr is accepted)
  amr=M,N            methods added to the required ones

Answers:
  200  X-Reauth-Issuer (iss), X-Reauth-Subject (sub),
       X-Reauth-Auth-Time (auth_time, when present),
       X-Reauth-Reauthentication (fresh | not_required | unavailable),
       X-Reauth-Session (sid, when present), X-Reauth-Route (with --config),
       X-Reauth-Client-Id and X-Reauth-Scope (access tokens);
       forwarded byte for byte
  401  WWW-Authenticate: Bearer ... (invalid_token, or
       insufficient_user_authentication with max_age / acr_values)
  403  reauthentication_unavailable (the user cannot re-authenticate),
       insufficient_scope (access tokens; with a scope challenge),
       no_route, ambiguous_request (the path reads as different routes)
  400  invalid_request (a bad override, or a request body sent to the gate)
  500  server_error (a claim that cannot be sent as a header; the proxy does
       not send the original request the policy needs)
  503  keys_unavailable / revocation_unavailable, with Retry-After (retry)
  /verify answers carry Cache-Control: no-store; non-200 answers name their
  code in X-Reauth-Error (for proxies that drop bodies); error bodies are
  {\"error\": \"<code>\", \"message\": \"...\"}.

Stops on SIGTERM or Ctrl-C, finishing requests in flight.";

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print the JSON indented (the default is one line).
    #[arg(long)]
    pub pretty: bool,
    /// The ID token, or `-` to read it from standard input. A leading
    /// `Bearer ` (any case) is ignored, so a pasted header value works.
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
    /// Per-route policies: a TOML file of named routes matched on the
    /// original request (see the README, "Per-route policies"). Reloaded
    /// on SIGHUP; a bad file keeps the policy in force. Without it, every
    /// request gets the command line's requirement and the query overrides.
    #[arg(long, env = "REAUTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check a policy file and exit: 0 when valid, else every error with
    /// its line and column on stderr and exit 2. Needs no other option.
    #[arg(long, value_name = "FILE")]
    pub check_config: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics, on a listener of
    /// their own (keep it off the proxy). Default: no metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
}

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
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    reauth::algorithm_named(s.trim()).ok_or_else(|| format!("unknown algorithm {s:?}"))
}

impl CommonArgs {
    /// The verifiers: one per `--issuer` (discovered now) and the tenant
    /// template, sharing one revocation store (Redis when `--redis`).
    /// `Err((code, message))`.
    pub async fn verifiers(&self) -> Result<Verifiers, (&'static str, String)> {
        let config_error = |m: String| ("config_error", m);
        if self.token_kind == Kind::Id && !self.required_scopes.is_empty() {
            return Err(config_error(
                "--required-scope needs --token-kind access (ID tokens carry no scope)".to_owned(),
            ));
        }
        if self.issuer.is_empty() && self.issuer_template.is_none() {
            return Err(config_error(
                "--issuer or --issuer-template is required".into(),
            ));
        }
        let store: Option<Arc<dyn RevocationStore>> = match &self.redis {
            Some(url) => {
                let mut cfg = RedisStoreConfig::new(url.clone());
                cfg.key_prefix = self.redis_prefix.clone();
                cfg.catch_up_wait = self.revocation_catch_up_wait;
                let store = RedisStore::connect(cfg)
                    .await
                    .map_err(|e| config_error(e.to_string()))?;
                Some(store)
            }
            None => None,
        };
        let mut fixed = Vec::new();
        for issuer in &self.issuer {
            let config = self
                .config(issuer, store.clone())
                .map_err(|e| config_error(e.to_string()))?;
            let v = Verifier::discover(config)
                .await
                .map_err(|e| (e.code(), e.to_string()))?;
            fixed.push(v);
        }
        let template = match &self.issuer_template {
            Some(t) => {
                let args = self.clone();
                let store = store.clone();
                let mut template = TenantTemplate::new(t, move |issuer, _tenant| {
                    args.config(issuer, store.clone())
                })
                .map_err(|e| config_error(format!("--issuer-template: {e}")))?;
                if !self.tenants.is_empty() {
                    if let Some(bad) = self.tenants.iter().find(|t| !reauth::valid_tenant(t)) {
                        return Err(config_error(format!(
                            "--tenants: {bad:?} is not a tenant (1 to 63 of a-z, 0-9, -)"
                        )));
                    }
                    template = template.tenants(self.tenants.iter().cloned());
                }
                Some(template)
            }
            None => None,
        };
        if fixed.len() == 1 && template.is_none() {
            return Ok(Verifiers::One(fixed.remove(0)));
        }
        IssuerSet::new(fixed, template)
            .map(Verifiers::Set)
            .map_err(|e| config_error(e.to_string()))
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
            .token_kind(match self.token_kind {
                Kind::Id => reauth::TokenKind::IdToken,
                Kind::Access => reauth::TokenKind::AccessToken,
            });
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
    }
}
