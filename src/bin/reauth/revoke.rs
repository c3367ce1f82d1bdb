//! `reauth revoke`: write a revocation to the shared Redis store.

use reauth::revocation::{RedisStore, RedisStoreConfig, RevocationStore};
use serde_json::{Value, json};

use crate::args::RevokeArgs;
use crate::verify::{UNDECIDED, failure};

/// Slack added to the retention, like the verifiers' default leeway.
const LEEWAY_SECS: i64 = 30;

pub async fn run(args: RevokeArgs) -> (Value, i32) {
    let mut cfg = RedisStoreConfig::new(args.redis.clone());
    cfg.key_prefix = args.redis_prefix.clone();
    cfg.pubsub = false;
    let store = match RedisStore::connect(cfg).await {
        Ok(s) => s,
        Err(e) => return (failure("revocation_unavailable", &e.to_string()), UNDECIDED),
    };
    let now = chrono::Utc::now().timestamp();
    let retention = i64::try_from(args.retention.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_add(LEEWAY_SECS);
    let issuer = args.issuer.as_str();
    let (result, out) = match (&args.user, &args.session) {
        (Some(sub), _) => {
            let cutoff = args.before.unwrap_or(now);
            // A cut-off in the future would revoke logins that have not
            // happened yet (the user locked out until then): refused.
            if cutoff > now.saturating_add(LEEWAY_SECS) {
                let e = reauth::RevokeError::CutoffInFuture { cutoff, now };
                return (failure("config_error", &e.to_string()), UNDECIDED);
            }
            let out = json!({"ok": true, "revoked": "user", "issuer": issuer, "sub": sub, "before": cutoff});
            let keep = cutoff.saturating_add(retention);
            (store.revoke_user(issuer, sub, cutoff, keep, now).await, out)
        }
        (None, Some(sid)) => {
            let out = json!({"ok": true, "revoked": "session", "issuer": issuer, "sid": sid});
            let keep = now.saturating_add(retention);
            (store.revoke_session(issuer, sid, keep, now).await, out)
        }
        (None, None) => {
            return (
                failure("config_error", "--user or --session is required"),
                UNDECIDED,
            );
        }
    };
    match result {
        Ok(()) => (out, 0),
        Err(e) => (failure("revocation_unavailable", &e.to_string()), UNDECIDED),
    }
}
