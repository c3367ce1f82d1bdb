//! `reauth serve`'s options and its long help.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::common::CommonArgs;

pub(super) const SERVE_HELP: &str = "\
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
