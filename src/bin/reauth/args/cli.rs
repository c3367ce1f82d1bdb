//! The command, its subcommands and the options they share.

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::common::CommonArgs;
use super::dev_issuer::{DEV_ISSUER_HELP, DevIssuerArgs};
use super::revoke::RevokeArgs;
use super::serve::{SERVE_HELP, ServeArgs};

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
    /// Run the gate: forward-auth (nginx auth_request, Traefik ForwardAuth,
    /// Envoy ext_authz), or in front of the app with --upstream.
    #[command(after_long_help = SERVE_HELP)]
    Serve(Box<ServeArgs>),
    /// Revoke a user's logins or a session in the shared Redis store.
    Revoke(RevokeArgs),
    /// The identity provider's Shared Signals stream: create, get,
    /// status, verify, delete (SSF 1.0).
    Signals(super::signals::SignalsArgs),
    /// Run a local OpenID issuer FOR TESTING ONLY (loopback), and mint its
    /// tokens: try the gate and step-up before wiring a real provider.
    #[command(after_long_help = DEV_ISSUER_HELP)]
    DevIssuer(DevIssuerArgs),
}

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
