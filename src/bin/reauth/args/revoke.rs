//! `reauth revoke`'s options.

use std::time::Duration;

use clap::Args;
use reauth::gate::duration;

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
