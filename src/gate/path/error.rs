//! Why a path is refused, and the limits a policy sets on paths.

use std::fmt;

/// Why a request's path is refused before any route is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Longer than the policy's `max_uri_bytes`.
    TooLong,
    /// More segments than the policy's `max_segments`.
    TooManySegments,
    /// Not origin-form (`/...`): absolute-form, `*`, or empty.
    NotOriginForm,
    /// A raw byte that cannot be in a request target (space, control,
    /// non-ASCII).
    InvalidByte,
    /// `%` not followed by two hex digits.
    BadPercentEncoding,
    /// Decodes to something that is not UTF-8 or holds a control character
    /// (`%00`, `%0a`, ...).
    BadDecodedByte,
    /// `..` above the root: servers disagree on what it means.
    AboveRoot,
    /// Decodes to non-ASCII text, which servers may fold (Unicode case,
    /// NFKC) onto an ASCII route; allowed with `[limits] allow_non_ascii`.
    NonAscii,
    /// Decodes (once, or a second time: `%253F`) to `?` or `#` inside a
    /// segment (`/admin%3F/x`): a server or framework that decodes before
    /// splitting off the query reads the path as ending there, as with a
    /// raw `#` ([`PathError::InvalidByte`]).
    EncodedDelimiter,
}

impl PathError {
    /// A short reason, for logs and the 403's message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "the original URI is longer than max_uri_bytes",
            Self::TooManySegments => "the original path has more segments than max_segments",
            Self::NotOriginForm => "the original URI is not a path starting with /",
            Self::InvalidByte => "the original URI holds a byte that is not allowed in a URI",
            Self::BadPercentEncoding => "the original path has a malformed percent-encoding",
            Self::BadDecodedByte => {
                "the original path decodes to a control character or invalid UTF-8"
            }
            Self::AboveRoot => "the original path goes above the root with ..",
            Self::NonAscii => {
                "the original path decodes to non-ASCII text (allow it with [limits] allow_non_ascii)"
            }
            Self::EncodedDelimiter => {
                "the original path holds an encoded ? or # (%3F, %23, or encoded twice), which \
                 servers read as the end of the path or as part of a segment"
            }
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on a request path, from the policy's `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathLimits {
    /// Longest original URI accepted, in bytes (default 8 KiB).
    pub max_uri_bytes: usize,
    /// Most segments in a path (default 128).
    pub max_segments: usize,
    /// Accept paths that decode to non-ASCII text (default false: servers
    /// that fold Unicode could read `/%C5%BFecret` as `/secret`).
    pub allow_non_ascii: bool,
}

impl Default for PathLimits {
    fn default() -> Self {
        Self {
            max_uri_bytes: 8 * 1024,
            max_segments: 128,
            allow_non_ascii: false,
        }
    }
}
