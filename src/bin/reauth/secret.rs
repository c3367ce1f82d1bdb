//! Secret files (a cookie key, a client secret, a Shared Signals token):
//! read whole, bounded, with a warning when every user may read them.

use std::path::Path;

/// The largest secret file read (a key or a token is small).
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A secret file's bytes, as they are (a key from `head -c 32
/// /dev/urandom` may well end in a newline byte). `flag` names the option
/// in messages.
pub fn read(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    let fail = |reason: String| format!("{flag} {}: {reason}", path.display());
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_SECRET_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_SECRET_FILE_BYTES} bytes")));
    }
    // Bounded by the read itself (a FIFO or a device has no length).
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(|e| fail(e.to_string()))?,
            MAX_SECRET_FILE_BYTES + 1,
        ),
        &mut bytes,
    )
    .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_SECRET_FILE_BYTES} bytes")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o004 != 0 {
            tracing::warn!(
                file = %path.display(),
                "reauth: {flag} is readable by every user of this machine: chmod o-r it"
            );
        }
    }
    Ok(bytes)
}

/// A token file: one line of text, surrounding whitespace (the file's
/// newline) removed; empty is an error.
pub fn token(flag: &str, path: &Path) -> Result<String, String> {
    let bytes = read(flag, path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{flag} {}: not UTF-8 text", path.display()))?;
    let token = text.trim();
    if token.is_empty() || token.contains(['\n', '\r']) {
        return Err(format!(
            "{flag} {}: must hold one non-empty line",
            path.display()
        ));
    }
    Ok(token.to_owned())
}
