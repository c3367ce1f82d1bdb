//! `reauth dev-issuer`: its options, and those of `token` and `login`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Subcommand};
use reauth::gate::duration;

/// The default `--bind` of `reauth dev-issuer`, and the default `--issuer`
/// of `token` and `login`.
pub const DEFAULT_BIND: &str = "127.0.0.1:9000";
const DEFAULT_ISSUER: &str = "http://127.0.0.1:9000";

pub const DEV_ISSUER_HELP: &str = "\
FOR TESTING ONLY. A local OpenID Connect issuer (the crate's embedded test
issuer) to try `reauth serve`, the proxy guides and browser step-up before
wiring a real provider, from any language.

It serves, at http://ADDR (the issuer identifier, in every token's `iss`,
unless --issuer-url):
  /.well-known/openid-configuration, /jwks   discovery and keys
  GET /authorize   logs the chosen user in at once (no page) and redirects
                   back with a code (PKCE S256 required; any redirect_uri)
  POST /token      the code, once, for an ID token
  POST /dev/token  mints a token: JSON {\"sub\", \"auth_time_ago\", \"acr\",
                   \"amr\", \"aud\", \"expires_in\", \"access_token\", \"scope\"}, all
                   optional; answers {\"token\", \"token_type\", \"expires_in\"}
  GET|POST /dev/login  shows or changes who /authorize logs in from now on
                   (JSON {\"sub\", \"auth_time_ago\", \"acr\", \"amr\"})
  GET /            a page that says all this is for testing
  /realms/NAME/... the same for each --tenant NAME (its own keys)
The /dev/ endpoints need Content-Type: application/json and a Host that is
an IP address, localhost or the issuer's host; bodies over 16 KiB,
unknown members and out-of-range values are refused (400 invalid_request).

Every answer carries `X-Reauth-Dev-Issuer: for testing only`, every JSON
document and every token the member `\"reauth_dev_issuer\": \"for testing only\"`.

Keys live in memory only, new (with new key ids) on each start: tokens of
an earlier run are refused (unknown key) by a gate that verifies against
this one. `reauth dev-issuer token` and `login` therefore ask the running
issuer over HTTP (--issuer URL) rather than signing themselves.

On start, one line on stdout: `issuer http://ADDR`, then one
`tenant NAME URL` line per --tenant. Runs until SIGINT or SIGTERM (exit 0);
exit 2 when it cannot start (e.g. a --bind that is not loopback without
--allow-non-loopback).

Example (the gate in front of your app, with a freshness demand):
  reauth dev-issuer &
  reauth serve --issuer http://127.0.0.1:9000 --audience test-client --max-age 5m
  curl -H \"Authorization: Bearer $(reauth dev-issuer token --sub alice --auth-time-ago 3600)\" \\
       http://127.0.0.1:8080/verify        # 401: the login is an hour old";

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevIssuerArgs {
    #[command(subcommand)]
    pub action: Option<DevAction>,
    #[command(flatten)]
    pub serve: DevServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum DevAction {
    /// Mint a token at a running `reauth dev-issuer` and print it on stdout
    /// (nothing else: `TOKEN=$(reauth dev-issuer token ...)`). Errors on
    /// stderr, exit 2. Unset claims follow the issuer's current login
    /// (see `login`).
    Token(DevTokenArgs),
    /// Choose who a running `reauth dev-issuer`'s /authorize logs in from
    /// now on; prints the resulting login as one JSON line.
    Login(DevLoginArgs),
}

/// Who logs in, for the server's defaults and for `token` and `login`.
#[derive(Args, Debug, Clone, Default)]
pub struct LoginArgs {
    /// The subject (`sub`).
    #[arg(long, value_name = "SUB")]
    pub sub: Option<String>,
    /// `auth_time` is this long before the login or the token (e.g. 3600,
    /// 1h): an old login that a `max_age` refuses.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub auth_time_ago: Option<Duration>,
    /// The `acr` of the login.
    #[arg(long, value_name = "ACR")]
    pub acr: Option<String>,
    /// The `amr` of the login, comma-separated (e.g. pwd,mfa).
    #[arg(long, value_delimiter = ',', value_name = "METHOD,...")]
    pub amr: Option<Vec<String>>,
}

#[derive(Args, Debug)]
pub struct DevServeArgs {
    /// Address to listen on; the issuer is http://ADDR. Loopback only,
    /// unless --allow-non-loopback.
    #[arg(long, default_value = DEFAULT_BIND, value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Listen on a non-loopback --bind anyway: anyone who reaches it can
    /// mint tokens this issuer signs.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// The issuer identifier (every token's `iss`, the discovery document's
    /// URLs) when clients reach it elsewhere than http://ADDR: e.g.
    /// http://127.0.0.1:9000 for a container bound to 0.0.0.0:9000 behind
    /// a port mapping. Verifiers accept http on loopback only.
    #[arg(long, value_name = "URL")]
    pub issuer_url: Option<String>,
    /// Client id accepted at /authorize, and the default audience of minted
    /// ID tokens (the first one); repeat (or comma-separate) for several.
    #[arg(long = "client-id", value_delimiter = ',', default_value = reauth::testing::TEST_CLIENT_ID, value_name = "ID")]
    pub client_ids: Vec<String>,
    /// Also serve the tenant issuer http://ADDR/realms/NAME (its own keys);
    /// repeatable. NAME: 1 to 63 of a-z, 0-9, -.
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// Who /authorize logs in at first (default: sub user-1, now, amr pwd,
    /// no acr).
    #[command(flatten)]
    pub login: LoginArgs,
}

/// Where the running dev issuer is.
#[derive(Args, Debug)]
pub struct IssuerArgs {
    /// The running `reauth dev-issuer`.
    #[arg(long, env = "REAUTH_DEV_ISSUER", default_value = DEFAULT_ISSUER, value_name = "URL")]
    pub issuer: String,
    /// A --tenant of it (the issuer URL/realms/NAME).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// How long to wait for the dev issuer to accept connections (it may be
    /// starting: `reauth dev-issuer &` just before).
    #[arg(long, value_parser = duration::parse, default_value = "5s", value_name = "DURATION")]
    pub wait: Duration,
}

#[derive(Args, Debug)]
pub struct DevTokenArgs {
    #[command(flatten)]
    pub at: IssuerArgs,
    #[command(flatten)]
    pub login: LoginArgs,
    /// Audience; repeat (or comma-separate) for several. Default: the dev
    /// issuer's first --client-id, or https://api.test.example with
    /// --access-token.
    #[arg(long, value_delimiter = ',', value_name = "AUD")]
    pub aud: Vec<String>,
    /// Lifetime of the token (at most 30d).
    #[arg(long, value_parser = duration::parse, default_value = "1h", value_name = "DURATION")]
    pub expires_in: Duration,
    /// An RFC 9068 access token (typ at+jwt, client_id, jti) rather than an
    /// ID token (verify it with --token-kind access).
    #[arg(long)]
    pub access_token: bool,
    /// The access token's scope (space-separated in one value).
    #[arg(long, requires = "access_token", value_name = "SCOPE")]
    pub scope: Option<String>,
}

#[derive(Args, Debug)]
pub struct DevLoginArgs {
    #[command(flatten)]
    pub at: IssuerArgs,
    #[command(flatten)]
    pub login: LoginArgs,
}
