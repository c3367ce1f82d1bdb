//! What a `sub`, `sid` or `jti` may be when it is revoked or forwarded:
//! one rule for every id, wherever it is written and wherever it is read
//! back (the revocation store's log and snapshot), and for the claims that
//! carry it. Pure.

use crate::error::IdError;

/// Longest revocation id, in bytes (1,024). Not configurable on purpose:
/// every writer (`reauth revoke`, each gate, back-channel logout) and every
/// reader of a shared store must agree on it, whatever their settings.
/// OIDC Core §2 caps `sub` at 255 ASCII characters; this leaves room.
pub const MAX_ID_BYTES: usize = 1024;

/// The id rule: 1 to [`MAX_ID_BYTES`] bytes, no control character
/// (Unicode category Cc: C0, DEL and C1, so no CR, LF or TAB).
pub fn check_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_BYTES {
        return Err(IdError::TooLong {
            len: id.len(),
            max: MAX_ID_BYTES,
        });
    }
    match id.char_indices().find(|(_, c)| c.is_control()) {
        Some((at, c)) => Err(IdError::ControlCharacter {
            code: u32::from(c),
            at,
        }),
        None => Ok(()),
    }
}
