//! Signing for the test issuer: compact JWS of any header and payload, and
//! random suffixes for ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::testing::keys::TestKey;

pub(crate) fn rand_suffix() -> String {
    let mut b = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A compact JWS of `payload` by `key`: header `alg`, `typ: JWT` and `kid`,
/// changed by `header` ([`Value::Null`] removes a parameter).
pub(crate) fn sign_jws(
    key: &TestKey,
    alg: Algorithm,
    header: &Map<String, Value>,
    payload: &str,
) -> String {
    let mut h = Map::new();
    h.insert("alg".into(), json!(format!("{alg:?}")));
    h.insert("typ".into(), json!("JWT"));
    h.insert("kid".into(), json!(key.kid()));
    for (k, v) in header {
        if v.is_null() {
            h.remove(k);
        } else {
            h.insert(k.clone(), v.clone());
        }
    }
    sign_raw(key, alg, &Value::Object(h).to_string(), payload)
}

pub(crate) fn sign_raw(key: &TestKey, alg: Algorithm, header: &str, payload: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = key.sign(alg, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}
