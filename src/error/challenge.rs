//! `WWW-Authenticate` rendering: RFC 6750 §3 (Bearer), RFC 9449 §7.1
//! (DPoP, with `algs`), RFC 9470 §3 (`insufficient_user_authentication`
//! with `max_age` / `acr_values`) and RFC 9728 §5.1 (`resource_metadata`).

use std::fmt::Write;

/// The parameters of one `Bearer` challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `realm` (RFC 6750 §3), when configured.
    pub realm: Option<String>,
    /// `error` code, e.g. `invalid_token`; absent when no token was sent
    /// (RFC 6750 §3.1: "SHOULD NOT include an error code").
    pub error: Option<&'static str>,
    /// `error_description`, human-readable.
    pub error_description: Option<String>,
    /// RFC 9470 §3 `max_age`, in seconds.
    pub max_age: Option<u64>,
    /// RFC 9470 §3 `acr_values`, space-separated on the wire.
    pub acr_values: Vec<String>,
    /// RFC 6750 §3: the scope needed (with `insufficient_scope`).
    pub scope: Vec<String>,
    /// RFC 9449 §7.1: when set, the challenge is in the `DPoP` scheme with
    /// these proof algorithms (`algs`, space-separated).
    pub dpop_algs: Option<String>,
    /// RFC 9728 §5.1: the URL of the protected resource's metadata.
    pub resource_metadata: Option<String>,
}

impl BearerChallenge {
    /// The challenge for a request that carried no token.
    pub fn no_token() -> Self {
        Self::default()
    }

    /// Renders the header value, e.g.
    /// `Bearer error="insufficient_user_authentication", error_description="...", max_age="300"`.
    pub fn render(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(realm) = &self.realm {
            params.push(("realm", quoted_safe(realm)));
        }
        if let Some(error) = self.error {
            params.push(("error", error.to_owned()));
        }
        if let Some(desc) = &self.error_description {
            params.push(("error_description", quoted_safe(desc)));
        }
        if !self.acr_values.is_empty() {
            params.push(("acr_values", quoted_safe(&self.acr_values.join(" "))));
        }
        if !self.scope.is_empty() {
            params.push(("scope", quoted_safe(&self.scope.join(" "))));
        }
        if let Some(max_age) = self.max_age {
            params.push(("max_age", max_age.to_string()));
        }
        if let Some(algs) = &self.dpop_algs {
            params.push(("algs", quoted_safe(algs)));
        }
        if let Some(url) = &self.resource_metadata {
            params.push(("resource_metadata", quoted_safe(url)));
        }
        let mut out = String::from(if self.dpop_algs.is_some() {
            "DPoP"
        } else {
            "Bearer"
        });
        for (i, (name, value)) in params.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            let _ = write!(out, "{sep}{name}=\"{value}\"");
        }
        out
    }
}

/// RFC 6750 §3: `error_description` and friends "MUST NOT include characters
/// outside the set %x20-21 / %x23-5B / %x5D-7E" — no `"`, no `\`, printable
/// ASCII only. Anything else becomes `?`, and the value is cut at 200 bytes.
fn quoted_safe(value: &str) -> String {
    value
        .chars()
        .take(200)
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_is_bare_bearer() {
        assert_eq!(BearerChallenge::no_token().render(), "Bearer");
    }

    #[test]
    fn rfc9470_shape() {
        let c = BearerChallenge {
            error: Some("insufficient_user_authentication"),
            error_description: Some("login is 3600 s old".into()),
            max_age: Some(300),
            ..Default::default()
        };
        assert_eq!(
            c.render(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"login is 3600 s old\", max_age=\"300\""
        );
    }

    #[test]
    fn description_cannot_break_out_of_quotes() {
        let c = BearerChallenge {
            error: Some("invalid_token"),
            error_description: Some("a\"b\\c\r\nd\u{e9}".into()),
            acr_values: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(
            c.render(),
            "Bearer error=\"invalid_token\", error_description=\"a'b'c??d?\", acr_values=\"a b\""
        );
    }
}
