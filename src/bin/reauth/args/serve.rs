//! `reauth serve`'s options and its long help.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use reauth::gate::duration;

pub use crate::serve::listen::{Listen, socket_mode};

use super::common::CommonArgs;

pub(super) const SERVE_HELP: &str = "\
Endpoints:
  /verify            any method; reads `Authorization: Bearer <ID token>`,
                     else (with --stepup-client-id) the session cookie
  /verify/<path>     the same, for Envoy ext_authz `path_prefix: /verify`
                     (the original path and query follow; never read as overrides)
  /livez             GET: 200 while the process answers
  /readyz            GET: 200 when keys are loaded (and, with --redis, the
                     revocation state is within its staleness bound), else 503
  /healthz           GET: 200 once the issuer's keys are loaded, else 503
  /backchannel-logout  POST: OpenID Connect Back-Channel Logout receiver
  /ssf/events        POST, with --ssf-push-token-file: Shared Signals SETs
                     pushed by the identity provider (RFC 8935; with
                     --upstream, on --admin-bind): 202, or
                     400/401/403 {\"err\": ..., \"description\": ...}
  /metrics           only on --metrics-bind (Prometheus text)
  /reauth/start?rd=PATH     with --stepup-client-id: GET, to the issuer with
                            the demands of the route PATH is
  /reauth/callback          GET: the issuer's redirect; proves the new login,
                            sets the session cookie, 302 to PATH
  /reauth/sign-in?rd=PATH   GET: a plain sign-in, back to PATH
  /reauth/sign-out          POST: removes the session cookie, 303 to /

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
  302  with --stepup-client-id, a browser navigation (GET/HEAD, Accept:
       text/html, no Authorization) refused for its login on a route with
       browser = \"step-up\" (the default then): Location and
       X-Reauth-Redirect: <public-url>/reauth/start?rd=<original path>;
       a request with X-Reauth-Redirect-As: header gets the 401 plus
       X-Reauth-Redirect instead (nginx auth_request allows no 302)
  403  reauthentication_unavailable (the user cannot re-authenticate),
       cross_site_request (a state-changing request with the session
       cookie that is not same-origin by Sec-Fetch-Site or Origin),
       insufficient_scope (access tokens; with a scope challenge),
       no_route, ambiguous_request (the path reads as different routes)
  400  invalid_request (a bad override, or a request body sent to the gate)
  500  server_error (a claim that cannot be sent as a header; the proxy does
       not send the original request the policy needs)
  503  keys_unavailable / revocation_unavailable, with Retry-After (retry)
  /verify answers carry Cache-Control: no-store; non-200 answers name their
  code in X-Reauth-Error (for proxies that drop bodies); error bodies are
  {\"error\": \"<code>\", \"message\": \"...\"}.

With --upstream URL the gate is the front door instead: --bind serves the
app's traffic (and /reauth/), each request decided on its own request line
and sent to URL with the identity headers, or refused here (502/504 when
the app fails); /verify and the probes move to --admin-bind. README \"The
gate in front\".

Stops on SIGTERM or Ctrl-C, finishing requests in flight (--upstream:
within --drain-timeout, upgraded connections included).";

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on, or unix:/PATH for a Unix socket (a proxy on
    /// the same machine: nginx `server unix:/PATH;`), created with
    /// --socket-mode. With --upstream, a TCP address.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR|unix:/PATH")]
    pub bind: Listen,
    /// The file mode of a unix:/PATH socket (octal): who may connect.
    /// Default 660: the gate's user and group (put the proxy's user in it).
    #[arg(long, value_parser = socket_mode, default_value = "660", value_name = "MODE")]
    pub socket_mode: u32,
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
    #[command(flatten)]
    pub stepup: StepUpArgs,
    #[command(flatten)]
    pub front: FrontArgs,
    #[command(flatten)]
    pub signals: SignalArgs,
    /// Whether bearer tokens are accepted (without --config, or as its
    /// default): `allowed` (DPoP-bound tokens still need their proof) or
    /// `required` (only DPoP-bound tokens with a proof, RFC 9449).
    #[arg(long, value_enum, default_value = "allowed", value_name = "POLICY")]
    pub dpop: DpopArg,
    /// DPoP server nonces (RFC 9449 §8): a file of at least 32 secret
    /// random bytes (the same on every instance). Proofs must then carry a
    /// nonce the gate issued (`use_dpop_nonce` and a `DPoP-Nonce` header
    /// otherwise). Default: off.
    #[arg(long, value_name = "FILE")]
    pub dpop_nonce_key_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DpopArg {
    Allowed,
    Required,
}

impl DpopArg {
    pub fn policy(self) -> reauth::DpopPolicy {
        match self {
            Self::Allowed => reauth::DpopPolicy::Allowed,
            Self::Required => reauth::DpopPolicy::Required,
        }
    }
}

/// Revocation from the identity provider: an SSF 1.0 receiver.
#[derive(Args, Debug, Default)]
pub struct SignalArgs {
    /// Apply the identity provider's Shared Signals (CAEP, RISC) events to
    /// the revocation store: the transmitter's issuer URL (its
    /// /.well-known/ssf-configuration is read at start). Needs
    /// --ssf-audience and --ssf-push-token-file (push) or --ssf-poll
    /// (poll). README "Revocation from your identity provider".
    #[arg(long, value_name = "URL", requires = "ssf_audience")]
    pub ssf_transmitter: Option<String>,
    /// The audience the transmitter's SETs name this gate by (the stream's `aud`).
    #[arg(long, value_name = "AUD", requires = "ssf_transmitter")]
    pub ssf_audience: Option<String>,
    /// Push delivery (RFC 8935): serve POST /ssf/events, authorized by the
    /// bearer secret in FILE (at least 16 bytes; the stream's
    /// authorization_header is `Bearer <secret>`).
    #[arg(long, value_name = "FILE", requires = "ssf_transmitter")]
    pub ssf_push_token_file: Option<PathBuf>,
    /// Poll delivery (RFC 8936): the stream's poll endpoint. With a
    /// --redis shared by several gates, one of them polls at a time.
    #[arg(long, value_name = "URL", requires_all = ["ssf_transmitter", "ssf_poll_token_file"])]
    pub ssf_poll: Option<String>,
    /// The bearer token the transmitter's poll endpoint expects (a file).
    #[arg(long, value_name = "FILE", requires = "ssf_poll")]
    pub ssf_poll_token_file: Option<PathBuf>,
    /// The issuer whose users `opaque` and `email` subjects name, when the
    /// gate verifies several and none is the transmitter.
    #[arg(long, value_name = "URL", requires = "ssf_transmitter")]
    pub ssf_subject_issuer: Option<String>,
    /// With several --issuer (or a template): more issuers whose users the
    /// transmitter's events may name (`iss_sub`), besides its own and
    /// --ssf-subject-issuer. Comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "URL,...",
        requires = "ssf_transmitter"
    )]
    pub ssf_allowed_issuers: Vec<String>,
    /// Act on `email` subjects: a JSON file mapping each address to the
    /// user's `sub` (`{"alice@example.com": "user-123", ...}`). Without
    /// it, an event naming a user by email is refused (invalid_request).
    #[arg(long, value_name = "FILE", requires = "ssf_transmitter")]
    pub ssf_email_map: Option<PathBuf>,
    /// The oldest SET accepted (its `iat`); `jti`s are remembered as long.
    #[arg(long, value_parser = duration::parse, default_value = "7d", value_name = "DURATION")]
    pub ssf_max_set_age: Duration,
}

/// The gate in front of the app: `--upstream`.
#[derive(Args, Debug)]
pub struct FrontArgs {
    /// Be the front door: serve the app's traffic on --bind, send each
    /// request the gate allows to URL (http:// or https://HOST:PORT, keeping the
    /// request's path and query) with the identity headers, and answer
    /// refusals itself. /verify, the probes and the back-channel logout
    /// then listen on --admin-bind. README "The gate in front".
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Peers whose Forwarded / X-Forwarded-* headers are believed (a load
    /// balancer in front of the gate): CIDRs or addresses, comma-separated.
    /// Default: none (a client's forwarded headers are replaced).
    #[arg(long, value_name = "CIDR,...", requires = "upstream")]
    pub trusted_proxies: Option<String>,
    /// With --upstream: where /verify, /livez, /readyz, /healthz and
    /// /backchannel-logout listen (keep it off the internet).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub admin_bind: SocketAddr,
    /// With --upstream: the most client connections at once; more wait to
    /// be accepted.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,
    /// With --upstream: the most requests in flight to the upstreams at
    /// once, all threads together (each holds one connection until its
    /// response body ends; idle connections kept: as many); more wait for
    /// one within --upstream-timeout (then 504). 0 (the default): no bound
    /// beyond --max-connections. Bounds the gate's memory under many
    /// clients; slow readers and long responses (SSE, downloads) hold
    /// their slot, so size it above the responses open at once.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub upstream_max_connections: usize,
    /// With --upstream: the longest wait for a connection to the upstream
    /// (then 502).
    #[arg(long, value_parser = duration::parse, default_value = "5s", value_name = "DURATION")]
    pub upstream_connect_timeout: Duration,
    /// With --upstream: the longest wait for the upstream's response
    /// headers (then 504). Bodies stream without a deadline.
    #[arg(long, value_parser = duration::parse, default_value = "60s", value_name = "DURATION")]
    pub upstream_timeout: Duration,
    /// With --upstream: how long an idle connection is kept (client
    /// keep-alive header read, and the upstream pool).
    #[arg(long, value_parser = duration::parse, default_value = "60s", value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// With --upstream: the largest request head (request line and
    /// headers) read from a client.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_header_bytes: usize,
    /// With an https --upstream (or a route's): trust only the CA
    /// certificates in this PEM file, instead of the system's.
    #[arg(long, value_name = "FILE", requires = "upstream")]
    pub upstream_ca: Option<PathBuf>,
    /// With --upstream: terminate TLS on --bind with this certificate chain
    /// (PEM, leaf first); needs --tls-key. Reloaded on SIGHUP (a file that
    /// does not load keeps the certificate in force, and says why).
    #[arg(long, value_name = "FILE", requires_all = ["upstream", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// With --tls-cert: its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// With --upstream: on SIGTERM, how long requests and upgraded
    /// connections in flight may take to finish.
    #[arg(long, value_parser = duration::parse, default_value = "30s", value_name = "DURATION")]
    pub drain_timeout: Duration,
}

/// Browser step-up at the gate: `/reauth/` endpoints and a session cookie.
#[derive(Args, Debug, Default)]
pub struct StepUpArgs {
    /// Send refused browsers to the issuer and back (README "Browser
    /// apps"): the OAuth client id registered at the issuer, with
    /// `<public-url>/reauth/callback` as its redirect URI. The gate then
    /// also reads the ID token from its session cookie. Needs --public-url
    /// and --cookie-key-file, and one --issuer.
    #[arg(long, value_name = "ID")]
    pub stepup_client_id: Option<String>,
    /// A file holding the client's secret (confidential clients; one line).
    /// Without it the client is public (PKCE only).
    #[arg(long, value_name = "FILE", requires = "stepup_client_id")]
    pub stepup_client_secret_file: Option<PathBuf>,
    /// The app's URL as browsers and clients see it (scheme, host, port):
    /// where the proxy routes `/reauth/` to the gate (https in production:
    /// the session cookie is then `__Host-reauth_id_token`, Secure), and
    /// the base of DPoP proofs' `htu` (without it: the forwarded scheme
    /// and host).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// A file of at least 32 secret random bytes sealing pending step-ups
    /// (the same on every instance): `head -c 32 /dev/urandom > key`.
    /// Read as raw bytes. Give it twice to rotate: the first seals, both
    /// open (README "Any app behind the gate": two rolling restarts).
    #[arg(long, value_name = "FILE", requires = "stepup_client_id")]
    pub cookie_key_file: Vec<PathBuf>,
}
