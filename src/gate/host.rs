//! The original request's host and the `hosts` of a route.
//!
//! A host is compared lower-case, without its port and without one
//! trailing dot. A pattern is a host name (`app.example.com`) or
//! `*.example.com`: one or more labels before `.example.com`, never
//! `example.com` itself.

/// A `hosts` entry of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host.
    Exact(String),
    /// `*.suffix`: any host ending in `.suffix` (the dot included).
    Subdomains(String),
}

impl HostPattern {
    /// Parses a `hosts` entry.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (wild, name) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let host = normalize(name)
            .filter(|h| h == name.to_ascii_lowercase().trim_end_matches('.'))
            .ok_or_else(|| {
                "a host name (app.example.com) or *.example.com, without port or path".to_owned()
            })?;
        Ok(if wild {
            Self::Subdomains(host)
        } else {
            Self::Exact(host)
        })
    }

    /// Whether a normalised host (lower-case, no port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(h) => h == host,
            Self::Subdomains(suffix) => {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
        }
    }

    /// Whether every host `other` matches, `self` matches too.
    pub fn covers(&self, other: &HostPattern) -> bool {
        match other {
            Self::Exact(h) => self.matches(h),
            Self::Subdomains(s) => match self {
                Self::Exact(_) => false,
                Self::Subdomains(mine) => s == mine || self.matches(s),
            },
        }
    }
}

/// A `Host` (or forwarded host) value as compared: lower-case, no port, no
/// trailing dot. `None` when it is not a plausible host (then the request
/// is refused, never matched by a guess).
pub fn normalize(value: &str) -> Option<String> {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix('[') {
        // [IPv6]:port
        let end = rest.find(']')?;
        let (addr, after) = (&rest[..end], &rest[end + 1..]);
        if !(after.is_empty() || port(after.strip_prefix(':')?)) {
            return None;
        }
        let ok = !addr.is_empty()
            && addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return ok.then(|| format!("[{}]", addr.to_ascii_lowercase()));
    }
    let name = match v.rsplit_once(':') {
        Some((name, p)) if port(p) => name,
        Some(_) => return None,
        None => v,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then(|| name.to_ascii_lowercase())
}

fn port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            normalize("App.Example.COM.:8443").as_deref(),
            Some("app.example.com")
        );
        assert_eq!(normalize("[::1]:80").as_deref(), Some("[::1]"));
        for bad in ["", "a b", "a/b", "a:x", "a..b", "[::1", "évil.com"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        let w = HostPattern::parse("*.example.com").unwrap();
        assert!(w.matches("a.example.com") && w.matches("a.b.example.com"));
        assert!(!w.matches("example.com") && !w.matches("evilexample.com"));
        assert!(w.covers(&HostPattern::parse("x.example.com").unwrap()));
        assert!(w.covers(&HostPattern::parse("*.a.example.com").unwrap()));
        assert!(!HostPattern::parse("x.example.com").unwrap().covers(&w));
        for bad in ["a:80", "*", "*.", "https://a", "a/b"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
