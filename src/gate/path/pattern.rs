//! A route's `path` pattern, matched against a reading's segments.

use std::fmt;

/// One segment of a route's `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(String),
    /// `*`: exactly one segment, whatever it is.
    Any,
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(l) => f.write_str(l),
            Self::Any => f.write_str("*"),
        }
    }
}

/// A route's `path`: `/a/b` (exactly), `/a/*/c` (`*` is one segment),
/// `/a/**` (`/a` and everything below it). Literals are compared like
/// request segments: decoded, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segs: Vec<Seg>,
    /// Ends in `/**`.
    rest: bool,
}

impl PathPattern {
    /// Parses a route's `path`, or says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, String> {
        if !s.starts_with('/') {
            return Err("a path starts with /".into());
        }
        if s.len() > 1 && s.ends_with('/') {
            return Err(
                "a trailing / is ignored in matching (/a/ is /a); write the path without it, \
                 or /a/** for everything below"
                    .into(),
            );
        }
        let mut segs = Vec::new();
        let mut rest = false;
        let parts: Vec<&str> = if s == "/" {
            Vec::new()
        } else {
            s[1..].split('/').collect()
        };
        for (i, p) in parts.iter().enumerate() {
            match *p {
                "" => return Err("an empty segment (//) never matches: remove it".into()),
                "." | ".." => return Err("dot segments are resolved before matching".into()),
                "**" if i + 1 == parts.len() => rest = true,
                "**" => return Err("** is only allowed as the last segment".into()),
                "*" => segs.push(Seg::Any),
                lit => {
                    if lit.contains('*') {
                        return Err(format!(
                            "{lit:?}: * matches a whole segment; partial wildcards are not supported"
                        ));
                    }
                    if lit.contains(['%', '?', '#', ';', '\\'])
                        || lit.bytes().any(|b| !(0x21..0x7f).contains(&b))
                    {
                        return Err(format!(
                            "{lit:?}: write segments decoded, without %, ?, #, ; or \\, spaces or \
                             non-ASCII"
                        ));
                    }
                    segs.push(Seg::Literal(lit.to_ascii_lowercase()));
                }
            }
        }
        Ok(Self { segs, rest })
    }

    /// Whether request segments ([`plain`](super::plain) or one of the [`readings`](super::readings))
    /// match; letters are compared without regard to ASCII case.
    pub fn matches<S: AsRef<str>>(&self, path: &[S]) -> bool {
        if self.rest {
            if path.len() < self.segs.len() {
                return false;
            }
        } else if path.len() != self.segs.len() {
            return false;
        }
        self.segs.iter().zip(path).all(|(s, p)| match s {
            Seg::Any => true,
            Seg::Literal(l) => l.eq_ignore_ascii_case(p.as_ref()),
        })
    }

    /// Ends in a one-segment `*` (`/admin/*`): then the bare prefix
    /// (`/admin`) and deeper paths (`/admin/a/b`) are not matched.
    pub(crate) fn ends_in_one_segment(&self) -> bool {
        !self.rest && matches!(self.segs.last(), Some(Seg::Any))
    }

    /// The first segment, when it is a literal.
    pub(crate) fn first_literal(&self) -> Option<&str> {
        match self.segs.first() {
            Some(Seg::Literal(l)) => Some(l),
            _ => None,
        }
    }

    /// Segments: the fixed ones (without a final `**`).
    pub(crate) fn len(&self) -> usize {
        self.segs.len()
    }

    /// Ends in `/**`.
    pub(crate) fn is_rest(&self) -> bool {
        self.rest
    }

    /// A path of the first `n` segments (at most), each `*` written `fill`.
    pub(crate) fn example(&self, n: usize, fill: &str) -> Vec<String> {
        self.segs
            .iter()
            .take(n)
            .map(|s| match s {
                Seg::Literal(l) => l.clone(),
                Seg::Any => fill.to_owned(),
            })
            .collect()
    }

    /// Whether the first `n` segments of both are the same (a `*` is the
    /// same only as a `*`).
    pub(crate) fn same_start(&self, other: &PathPattern, n: usize) -> bool {
        self.segs.len() >= n && other.segs.len() >= n && self.segs[..n] == other.segs[..n]
    }

    /// The pattern of the first `n` fixed segments, as written (`/` for none).
    pub(crate) fn prefix(&self, n: usize) -> String {
        let p: String = self.segs.iter().take(n).map(|s| format!("/{s}")).collect();
        if p.is_empty() { "/".to_owned() } else { p }
    }

    /// Whether every path `other` matches is matched by `self` too.
    pub fn covers(&self, other: &PathPattern) -> bool {
        let seg_covers = |a: &Seg, b: &Seg| match (a, b) {
            (Seg::Any, _) => true,
            (Seg::Literal(x), Seg::Literal(y)) => x == y,
            (Seg::Literal(_), Seg::Any) => false,
        };
        if self.rest {
            other.segs.len() >= self.segs.len()
                && self
                    .segs
                    .iter()
                    .zip(&other.segs)
                    .all(|(a, b)| seg_covers(a, b))
        } else {
            !other.rest
                && other.segs.len() == self.segs.len()
                && self
                    .segs
                    .iter()
                    .zip(&other.segs)
                    .all(|(a, b)| seg_covers(a, b))
        }
    }
}

impl fmt::Display for PathPattern {
    /// As written, letters lower-cased.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segs.is_empty() && !self.rest {
            return f.write_str("/");
        }
        for s in &self.segs {
            write!(f, "/{s}")?;
        }
        if self.rest {
            f.write_str("/**")?;
        }
        Ok(())
    }
}
