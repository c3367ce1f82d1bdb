//! `reauth revoke`: write revocations to the shared Redis store, one or a
//! file of them, without loading the store's state.

use std::io::{BufRead, BufReader};

use reauth::revocation::{IdListLimits, Namespace, RedisStoreConfig, RedisWriter, parse_id_list};
use serde_json::{Value, json};

use crate::args::RevokeArgs;
use crate::verify::{UNDECIDED, failure};

/// Slack added to the retention, like the verifiers' default leeway.
const LEEWAY_SECS: i64 = 30;

/// Progress goes to stderr every this many ids, for long files.
const PROGRESS_EVERY: usize = 100_000;

fn read_ids(path: &str, max_ids: usize) -> Result<Vec<String>, Value> {
    let input: Box<dyn BufRead> = if path == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| failure("config_error", &format!("cannot open {path}: {e}")))?;
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
        let mut out = failure(
            "invalid_request",
            &format!("{path}: {e}; nothing was written"),
        );
        out["bad_lines"] = json!(e.bad_lines);
        out
    })
}

pub async fn run(args: RevokeArgs) -> (Value, i32) {
    let now = chrono::Utc::now().timestamp();
    let cutoff = args.before.unwrap_or(now);
    let by_user = args.user.is_some() || args.user_file.is_some();
    if args.before.is_some() && !by_user {
        return (
            failure("config_error", "--before goes with --user or --user-file"),
            UNDECIDED,
        );
    }
    // A cut-off in the future would revoke logins that have not happened
    // yet (the user locked out until then): refused.
    if cutoff > now.saturating_add(LEEWAY_SECS) {
        let e = reauth::RevokeError::CutoffInFuture { cutoff, now };
        return (failure("config_error", &e.to_string()), UNDECIDED);
    }
    // Validate the whole file before connecting, let alone writing.
    let ids = match (
        &args.user,
        &args.session,
        &args.user_file,
        &args.session_file,
    ) {
        (Some(one), ..) | (_, Some(one), ..) => vec![one.clone()],
        (.., Some(path), _) | (.., Some(path)) => match read_ids(path, args.max_ids) {
            Ok(ids) => ids,
            Err(out) => return (out, UNDECIDED),
        },
        _ => {
            return (
                failure(
                    "config_error",
                    "--user, --session, --user-file or --session-file is required",
                ),
                UNDECIDED,
            );
        }
    };
    let mut cfg = RedisStoreConfig::new(args.redis.clone());
    cfg.key_prefix = args.redis_prefix.clone();
    let writer = match RedisWriter::connect(&cfg).await {
        Ok(w) => w,
        Err(e) => return (failure("revocation_unavailable", &e.to_string()), UNDECIDED),
    };
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
    match result {
        Ok(count) => {
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
            (out, 0)
        }
        Err(e) => (failure("revocation_unavailable", &e.to_string()), UNDECIDED),
    }
}
