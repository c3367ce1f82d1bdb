//! `reauth revoke`: write revocations to the shared Redis store, one or a
//! file of them, without loading the store's state.

use std::io::{BufRead, BufReader};

use reauth::revocation::{IdListLimits, Namespace, RedisStoreConfig, RedisWriter, parse_id_list};
use serde_json::{Value, json};

use crate::args::RevokeArgs;
use crate::error::CliError;
use crate::verify::UNDECIDED;

/// Slack added to the retention, like the verifiers' default leeway.
const LEEWAY_SECS: i64 = 30;

/// Progress goes to stderr every this many ids, for long files.
const PROGRESS_EVERY: usize = 100_000;

fn read_ids(path: &str, max_ids: usize) -> Result<Vec<String>, CliError> {
    let input: Box<dyn BufRead> = if path == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::Config(format!("cannot open {path}: {e}")))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    let limits = IdListLimits {
        max_ids,
        ..IdListLimits::default()
    };
    parse_id_list(input, limits).map_err(|e| {
        for (line, why) in &e.errors {
            eprintln!("{path}:{line}: {why}");
        }
        CliError::InvalidIds {
            message: format!("{path}: {e}; nothing was written"),
            bad_lines: Some(e.bad_lines),
        }
    })
}

/// Issuers listed in the refusal.
const LIST_ISSUERS: usize = 20;

/// An entry is namespaced by the issuer exactly as written: one no gate has
/// recorded (`http://host/` for `http://host`, `localhost` for
/// `127.0.0.1`) would be enforced by none, so it is refused, naming the
/// issuers that are recorded, unless `--allow-unknown-issuer`.
async fn issuer_is_served(writer: &RedisWriter, args: &RevokeArgs) -> Result<(), CliError> {
    if args.allow_unknown_issuer {
        return Ok(());
    }
    let found = writer
        .registered_issuers(&args.issuer, LIST_ISSUERS)
        .await
        .map_err(|e| CliError::RevocationUnavailable(e.to_string()))?;
    if found.known {
        return Ok(());
    }
    let message = if found.total == 0 {
        format!(
            "no gate has recorded an issuer in this store (prefix {:?}): check --redis and \
             --redis-prefix against the gates'; for a store no gate has used yet, pass \
             --allow-unknown-issuer. Nothing was written",
            args.redis_prefix
        )
    } else {
        let near = found
            .some
            .iter()
            .find(|i| same_but_for_slash(i, &args.issuer))
            .map(|i| format!(" Did you mean {i:?}?"))
            .unwrap_or_default();
        format!(
            "no gate serves issuer {:?}, so none would enforce this revocation.{near} \
             Recorded issuers ({} in all): {}. --issuer must be exactly the gates' --issuer \
             (the token's `iss`); --allow-unknown-issuer writes anyway. Nothing was written",
            args.issuer,
            found.total,
            found.some.join(", ")
        )
    };
    Err(CliError::UnknownIssuer {
        message,
        recorded: found.some,
    })
}

fn same_but_for_slash(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

pub async fn run(args: RevokeArgs) -> (Value, i32) {
    match revoke(&args).await {
        Ok(out) => (out, 0),
        Err(e) => (e.to_json(), UNDECIDED),
    }
}

/// Validates everything, then writes; the JSON line of what was written.
async fn revoke(args: &RevokeArgs) -> Result<Value, CliError> {
    let now = chrono::Utc::now().timestamp();
    let by_user = args.user.is_some() || args.user_file.is_some();
    let cutoff = cutoff(args, by_user, now)?;
    // Validate the whole file before connecting, let alone writing.
    let ids = ids(args)?;
    let mut cfg = RedisStoreConfig::new(args.redis.clone());
    cfg.key_prefix = args.redis_prefix.clone();
    let writer = RedisWriter::connect(&cfg)
        .await
        .map_err(|e| CliError::RevocationUnavailable(e.to_string()))?;
    issuer_is_served(&writer, args).await?;
    let ns = Namespace::new(&args.issuer);
    let retention = i64::try_from(args.retention.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_add(LEEWAY_SECS);
    let total = ids.len();
    let progress = |done: usize| {
        if total > PROGRESS_EVERY
            && (done % PROGRESS_EVERY < reauth::revocation::BULK_CHUNK || done == total)
        {
            eprintln!("reauth revoke: {done}/{total} written");
        }
    };
    let result = if by_user {
        let keep = cutoff.saturating_add(retention);
        writer
            .revoke_users(&ns, &ids, cutoff, keep, now, progress)
            .await
    } else {
        let keep = now.saturating_add(retention);
        writer.revoke_sessions(&ns, &ids, keep, now, progress).await
    };
    let count = result.map_err(|e| CliError::RevocationUnavailable(e.to_string()))?;
    let mut out = json!({
        "ok": true,
        "revoked": if by_user { "user" } else { "session" },
        "issuer": args.issuer,
        "count": count,
    });
    if by_user {
        out["before"] = json!(cutoff);
    }
    match (&args.user, &args.session) {
        (Some(sub), _) => out["sub"] = json!(sub),
        (_, Some(sid)) => out["sid"] = json!(sid),
        _ => {}
    }
    Ok(out)
}

/// The cut-off of a user's logins: `--before`, or now.
fn cutoff(args: &RevokeArgs, by_user: bool, now: i64) -> Result<i64, CliError> {
    let cutoff = args.before.unwrap_or(now);
    if args.before.is_some() && !by_user {
        return Err(CliError::Config(
            "--before goes with --user or --user-file".to_owned(),
        ));
    }
    // A cut-off in the future would revoke logins that have not happened
    // yet (the user locked out until then): refused.
    if cutoff > now.saturating_add(LEEWAY_SECS) {
        let e = reauth::RevokeError::CutoffInFuture { cutoff, now };
        return Err(CliError::Config(e.to_string()));
    }
    Ok(cutoff)
}

/// The ids to revoke, every one checked: `--user` or `--session`, or the
/// whole of `--user-file` or `--session-file`.
fn ids(args: &RevokeArgs) -> Result<Vec<String>, CliError> {
    match (
        &args.user,
        &args.session,
        &args.user_file,
        &args.session_file,
    ) {
        (Some(one), ..) | (_, Some(one), ..) => match reauth::revocation::check_id(one) {
            Ok(()) => Ok(vec![one.clone()]),
            Err(e) => {
                let what = if args.user.is_some() {
                    "--user"
                } else {
                    "--session"
                };
                Err(CliError::InvalidIds {
                    message: format!("{what}: {e}; nothing was written"),
                    bad_lines: None,
                })
            }
        },
        (.., Some(path), _) | (.., Some(path)) => read_ids(path, args.max_ids),
        _ => Err(CliError::Config(
            "--user, --session, --user-file or --session-file is required".to_owned(),
        )),
    }
}
