//! What the front door runs with, checked at start-up.

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use reauth::gate::front::TrustedProxies;

use crate::args::ServeArgs;
use crate::state::Gate;

/// The front door's state, shared by every connection.
pub struct Front {
    pub(super) gate: Arc<Gate>,
    /// `http://host:port` of the upstream.
    pub(super) upstream: Uri,
    pub(super) trusted: TrustedProxies,
    pub(super) client: Client<HttpsConnector<HttpConnector>, hyper::body::Incoming>,
    pub(super) upstream_timeout: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) max_header_bytes: usize,
    /// `--max-connections`, shared by every thread of the front door.
    pub(super) limit: Arc<tokio::sync::Semaphore>,
    /// `--upstream-max-connections`, shared by every thread: a permit per
    /// request in flight to an upstream, held until its response body ends
    /// (`None`: no bound).
    pub(super) upstream_slots: Option<Arc<tokio::sync::Semaphore>>,
    pub(super) drain_timeout: Duration,
    /// Upgraded connections (WebSocket) still open: drained on SIGTERM.
    pub(super) tunnels: tokio_util::task::TaskTracker,
    /// `--tls-cert`/`--tls-key`.
    pub(super) tls: Option<Arc<super::tls::Tls>>,
}

impl Front {
    /// The front door for `gate`, from the command line; `Err` names the
    /// flag to fix.
    ///
    /// `limits` bound the client connections and the requests in flight
    /// to the upstreams, of every thread together; `threads` share the
    /// idle connections.
    pub fn new(
        args: &ServeArgs,
        upstream: &str,
        gate: Arc<Gate>,
        limits: &Limits,
    ) -> Result<Self, String> {
        let f = &args.front;
        let uri: Uri = upstream
            .parse()
            .map_err(|e| format!("--upstream {upstream:?}: {e}"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(format!(
                    "--upstream {upstream:?}: an http:// or https:// URL"
                ));
            }
        }
        if uri.authority().is_none() || uri.path() != "/" || uri.query().is_some() {
            return Err(format!(
                "--upstream {upstream:?}: scheme, host and port only (the request's own path \
                 and query are kept)"
            ));
        }
        let trusted = TrustedProxies::parse(f.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|e| format!("--trusted-proxies: {e}"))?;
        if f.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        if f.max_header_bytes < 1024 {
            return Err("--max-header-bytes must be at least 1024".into());
        }
        let tls = match (&f.tls_cert, &f.tls_key) {
            (Some(cert), Some(key)) => Some(Arc::new(super::tls::Tls::new(cert, key)?)),
            _ => None,
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(f.upstream_connect_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(upstream_tls(f.upstream_ca.as_deref())?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let mut client = Client::builder(TokioExecutor::new());
        client
            .pool_idle_timeout(f.idle_timeout)
            .pool_timer(hyper_util::rt::TokioTimer::new());
        if f.upstream_max_connections > 0 {
            client.pool_max_idle_per_host(f.upstream_max_connections.div_ceil(limits.threads));
        }
        let client = client.build(connector);
        Ok(Self {
            gate,
            upstream: uri,
            trusted,
            client,
            upstream_timeout: f.upstream_timeout,
            idle_timeout: f.idle_timeout,
            max_header_bytes: f.max_header_bytes,
            limit: limits.clients.clone(),
            upstream_slots: limits.upstream.clone(),
            drain_timeout: f.drain_timeout,
            tunnels: tokio_util::task::TaskTracker::new(),
            tls,
        })
    }
}

/// What every thread of the front door shares.
pub struct Limits {
    /// `--max-connections`.
    pub clients: Arc<tokio::sync::Semaphore>,
    /// `--upstream-max-connections` (`None`: 0, no bound).
    pub upstream: Option<Arc<tokio::sync::Semaphore>>,
    /// How many threads (runtimes) serve the front door.
    pub threads: usize,
}

impl Limits {
    /// The limits of the command line, for `threads` threads (a count
    /// above what a semaphore holds is as good as no bound, and clamped).
    pub fn new(args: &ServeArgs, threads: usize) -> Self {
        let permits = |n: usize| n.min(tokio::sync::Semaphore::MAX_PERMITS);
        Self {
            clients: Arc::new(tokio::sync::Semaphore::new(permits(
                args.front.max_connections,
            ))),
            upstream: (args.front.upstream_max_connections > 0).then(|| {
                Arc::new(tokio::sync::Semaphore::new(permits(
                    args.front.upstream_max_connections,
                )))
            }),
            threads: threads.max(1),
        }
    }
}

/// The TLS client configuration for https upstreams: the roots of
/// `--upstream-ca`, else the system's (none found is an error now, not a
/// 502 on every request later).
fn upstream_tls(
    ca: Option<&std::path::Path>,
) -> Result<tokio_rustls::rustls::ClientConfig, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = match ca {
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| format!("--upstream-ca {}: {e}", path.display()))?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(match ca {
            Some(path) => format!(
                "--upstream-ca {}: no CA certificate in the file",
                path.display()
            ),
            None => "no system CA certificates for https upstreams: install ca-certificates, or \
                     give --upstream-ca"
                .to_owned(),
        });
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    Ok(
        tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
