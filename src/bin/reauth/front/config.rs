//! What the front door runs with, checked at start-up.

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
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
    pub(super) client: Client<HttpConnector, hyper::body::Incoming>,
    pub(super) upstream_timeout: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) max_header_bytes: usize,
    pub(super) max_connections: usize,
    pub(super) drain_timeout: Duration,
    /// Upgraded connections (WebSocket) still open: drained on SIGTERM.
    pub(super) tunnels: tokio_util::task::TaskTracker,
    /// `--tls-cert`/`--tls-key`.
    pub(super) tls: Option<Arc<super::tls::Tls>>,
}

impl Front {
    /// The front door for `gate`, from the command line; `Err` names the
    /// flag to fix.
    pub fn new(args: &ServeArgs, upstream: &str, gate: Arc<Gate>) -> Result<Self, String> {
        let f = &args.front;
        let uri: Uri = upstream
            .parse()
            .map_err(|e| format!("--upstream {upstream:?}: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "--upstream {upstream:?}: https upstreams are not supported yet; reach the \
                     app over http on a private network or loopback"
                ));
            }
            _ => return Err(format!("--upstream {upstream:?}: an http:// URL")),
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
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(f.idle_timeout)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        Ok(Self {
            gate,
            upstream: uri,
            trusted,
            client,
            upstream_timeout: f.upstream_timeout,
            idle_timeout: f.idle_timeout,
            max_header_bytes: f.max_header_bytes,
            max_connections: f.max_connections,
            drain_timeout: f.drain_timeout,
            tunnels: tokio_util::task::TaskTracker::new(),
            tls,
        })
    }
}
