//! The URL rule for issuers and templates: HTTPS, or plain HTTP on loopback.

use url::{Host, Url};

use crate::error::ConfigError;

/// HTTPS is required; plain http only for loopback hosts (`127.0.0.0/8`,
/// `::1`, `localhost`), for development.
pub(crate) fn check_url(what: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|_| ConfigError::InvalidUrl {
        what,
        url: raw.to_owned(),
    })?;
    let insecure = || ConfigError::InsecureUrl {
        what,
        url: raw.to_owned(),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(insecure()),
        _ => {
            return Err(ConfigError::InvalidUrl {
                what,
                url: raw.to_owned(),
            });
        }
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidUrl {
            what,
            url: raw.to_owned(),
        });
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
