//! The names of our keys, all under the `{prefix}` hash tag, and the one
//! way a Redis failure becomes a [`StoreError`].

use crate::error::StoreError;

/// The names of our keys, all under the `{prefix}` hash tag.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) prefix: String,
    pub(crate) users: String,
    pub(crate) users_exp: String,
    pub(crate) sessions: String,
    pub(crate) log: String,
    pub(crate) seq: String,
    pub(crate) retention: String,
    pub(crate) issuers: String,
    pub(crate) sweep: String,
    /// `{p}:b:`; bucket n of kind k (`u`|`s`) is `{p}:b:{k}:{n}`.
    pub(crate) bucket_prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        let k = |name: &str| format!("{{{prefix}}}:{name}");
        Self {
            prefix: prefix.to_owned(),
            users: k("users"),
            users_exp: k("users:exp"),
            sessions: k("sessions"),
            log: k("log"),
            seq: k("seq"),
            retention: k("retention"),
            issuers: k("issuers"),
            sweep: k("sweep"),
            bucket_prefix: k("b:"),
        }
    }

    pub(crate) fn jti(&self, scoped: &str) -> String {
        format!("{{{}}}:jti:{scoped}", self.prefix)
    }

    /// `{p}:lease:{name}`: who does a shared job now.
    pub(crate) fn lease(&self, name: &str) -> String {
        format!("{{{}}}:lease:{name}", self.prefix)
    }
}

pub(crate) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}
