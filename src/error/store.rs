//! The revocation store's errors: an id that breaks the id rule, a store
//! that cannot be reached.

/// Why an id cannot be revoked (or read back from a shared store).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("the id is empty")]
    Empty,
    /// The id is longer than [`MAX_ID_BYTES`](crate::revocation::MAX_ID_BYTES).
    #[error("the id is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The id holds a control character (CR, LF, TAB, NUL, DEL, C1...).
    #[error("the id holds a control character (U+{code:04X}) at byte {at}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        at: usize,
    },
}

/// The shared revocation state could not be consulted (or written).
/// Verification answers `revocation_unavailable` (503): fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation store unavailable: {0}")]
pub struct StoreError(pub String);
