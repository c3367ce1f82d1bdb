//! Reading TOML values for the policy parser: each mistake is recorded at
//! its line and column, and the reader goes on to find the next one.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::model::{MAX_LIST_ITEMS, PolicyError};
use crate::jwt::token_kind::TokenKind;

pub(super) struct Parser<'t> {
    pub(super) text: &'t str,
    /// The gate's token kind, when known.
    pub(super) kind: Option<TokenKind>,
    pub(super) errors: Vec<PolicyError>,
}

pub(super) type Item<'i> = Spanned<DeValue<'i>>;

pub(super) const TOP_KEYS: &[&str] = &["unmatched", "defaults", "limits", "route"];
pub(super) const REQUIREMENT_KEYS: &[&str] = &[
    "max_age",
    "acr_values",
    "amr",
    "scopes",
    "when_cannot_reauthenticate",
    "dpop",
];
pub(super) const ROUTE_KEYS: &[&str] = &[
    "name", "methods", "hosts", "path", "public", "browser", "upstream",
];
/// `[defaults]`'s keys besides a requirement's.
pub(super) const DEFAULTS_KEYS: &[&str] = &["browser"];
pub(super) const LIMIT_KEYS: &[&str] = &["max_uri_bytes", "max_segments", "allow_non_ascii"];

impl Parser<'_> {
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        self.errors.push(PolicyError {
            line,
            column,
            message: message.into(),
        });
    }

    pub(super) fn unknown_keys(&mut self, t: &DeTable<'_>, allowed: &[&str], place: &str) {
        for (k, _) in t.iter() {
            let name: &str = k.get_ref();
            if !allowed.contains(&name) {
                self.error(
                    k.span(),
                    format!(
                        "unknown key {name:?} {place} (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    pub(super) fn table<'a, 'i>(&mut self, v: &'a Item<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.error(v.span(), format!("{what} is a table"));
                None
            }
        }
    }

    pub(super) fn string<'a>(&mut self, v: &'a Item<'_>, what: &str) -> Option<&'a str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.error(v.span(), format!("{what} is a string"));
                None
            }
        }
    }

    pub(super) fn strings<'a>(
        &mut self,
        v: &'a Item<'_>,
        what: &str,
    ) -> Option<Vec<(&'a str, Range<usize>)>> {
        match v.get_ref() {
            DeValue::Array(items) if items.len() > MAX_LIST_ITEMS => {
                self.error(
                    v.span(),
                    format!("{what} has more than {MAX_LIST_ITEMS} entries"),
                );
                None
            }
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for i in items.iter() {
                    match i.get_ref() {
                        DeValue::String(s) if !s.is_empty() => out.push((s.as_ref(), i.span())),
                        _ => self.error(i.span(), format!("{what} holds non-empty strings")),
                    }
                }
                Some(out)
            }
            _ => {
                self.error(v.span(), format!("{what} is a list: [\"...\", ...]"));
                None
            }
        }
    }

    pub(super) fn integer(
        &mut self,
        v: &Item<'_>,
        what: &str,
        min: usize,
        max: usize,
    ) -> Option<usize> {
        let n = match v.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', "").parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    v.span(),
                    format!("{what} is a whole number from {min} to {max}"),
                );
                None
            }
        }
    }
}

pub(super) fn find<'a, 'i>(
    t: &'a DeTable<'i>,
    key: &str,
) -> Option<(&'a Spanned<std::borrow::Cow<'i, str>>, &'a Item<'i>)> {
    t.iter().find(|(k, _)| k.get_ref().as_ref() == key)
}
