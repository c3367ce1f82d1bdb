//! `--bind ADDR` or `--bind unix:/PATH`: where the gate listens. A Unix
//! socket saves a proxy on the same machine the TCP work per `/verify`
//! (nginx: `server unix:/PATH;`), and its file mode says who may connect.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where `--bind` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket file (`unix:/PATH`).
    Unix(PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(format!(
                    "unix:{path}: an absolute path (unix:/run/reauth/gate.sock)"
                ));
            }
            // sockaddr_un holds 108 bytes with the terminating NUL.
            if path.len() > 107 {
                return Err(format!("unix:{path}: longer than 107 bytes"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        s.parse::<SocketAddr>()
            .map(Self::Tcp)
            .map_err(|_| format!("{s:?}: an address (127.0.0.1:8080) or unix:/PATH"))
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(a) => a.fmt(f),
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Parses `--socket-mode` (octal, e.g. `660`): at most `0o777`.
pub fn socket_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{s:?}: an octal file mode such as 660"))
}

/// Makes room for a Unix socket at `path`: a leftover socket file that
/// nobody answers on is removed (a gate that did not stop cleanly); a
/// socket another process answers on, or any other file, is an error.
pub fn prepare_unix(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another process answers on this socket",
                ));
            }
            std::fs::remove_file(path)
        }
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        )),
    }
}
