//! `reauth verify`: one token, one JSON line, an exit status.

use std::io::Read;

use reauth::VerifyError;
use serde_json::{Value, json};

use crate::args::VerifyArgs;
use crate::error::{CliError, failure};

/// 0 accepted, 1 rejected (the token's fault), 2 could not decide.
pub const ACCEPTED: i32 = 0;
pub const REJECTED: i32 = 1;
pub const UNDECIDED: i32 = 2;

pub async fn run(args: VerifyArgs) -> (Value, i32) {
    let token = match read_token(&args.token, args.common.max_token_bytes) {
        Ok(t) => t,
        Err(msg) => return (CliError::Config(msg).to_json(), UNDECIDED),
    };
    let verifiers = match args.common.verifiers().await {
        Ok(v) => v,
        Err(e) => return (e.to_json(), UNDECIDED),
    };
    match verifiers
        .verify_as::<reauth::ClaimsMap>(&token, &args.common.requirement())
        .await
    {
        Ok(ok) => {
            let mut out = json!({
                "ok": true,
                "issuer": ok.claims.iss,
                "sub": ok.claims.sub,
                "auth_time": ok.claims.auth_time,
                "reauthentication": ok.freshness.as_str(),
                "claims": ok.extra,
            });
            if args.common.token_kind == crate::args::Kind::Access {
                out["client_id"] = json!(ok.claims.client_id);
                out["scope"] = json!(ok.claims.scope);
            }
            (out, ACCEPTED)
        }
        Err(e @ VerifyError::Rejected(_)) => (failure(e.code(), &e.message()), REJECTED),
        Err(e) => (failure(e.code(), &e.to_string()), UNDECIDED),
    }
}

/// The argument, or standard input for `-` (read up to a bound, trimmed),
/// without a leading `Bearer ` (any case): a pasted header value works.
fn read_token(arg: &str, max_token_bytes: usize) -> Result<String, String> {
    if arg != "-" {
        return Ok(strip_bearer(arg).to_owned());
    }
    // Read one byte past the cap (plus room for whitespace) so an oversize
    // token is still judged `malformed_token`, without reading unbounded input.
    let limit = max_token_bytes.saturating_add(64 * 1024) as u64;
    let mut buf = Vec::new();
    std::io::stdin()
        .take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading the token from standard input: {e}"))?;
    String::from_utf8(buf)
        .map(|s| strip_bearer(&s).to_owned())
        .map_err(|_| "the token on standard input is not UTF-8".to_owned())
}

fn strip_bearer(s: &str) -> &str {
    // The same parsing as an `Authorization` header (RFC 6750 §2.1).
    let s = s.trim();
    reauth::TokenSource::AuthorizationBearer
        .extract(|_| Some(s))
        .unwrap_or(s)
}
