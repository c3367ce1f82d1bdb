//! `--tls-cert` / `--tls-key`: TLS on the front door (rustls, aws-lc-rs),
//! HTTP/2 and HTTP/1.1 by ALPN, the certificate reloaded on SIGHUP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// The certificate in force, and where it is read from.
pub struct Tls {
    current: ArcSwap<ServerConfig>,
    cert: PathBuf,
    key: PathBuf,
}

/// Reads the chain and key and builds the server configuration; `Err`
/// says which file and why.
fn load(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate in the file",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl Tls {
    /// Loads the certificate now (a bad file stops the gate at start-up).
    pub fn new(cert: &Path, key: &Path) -> Result<Self, String> {
        Ok(Self {
            current: ArcSwap::from_pointee(load(cert, key)?),
            cert: cert.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The acceptor for the next connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Reads the files again; a failure keeps the certificate in force.
    pub fn reload(&self) {
        match load(&self.cert, &self.key) {
            Ok(config) => {
                self.current.store(Arc::new(config));
                tracing::info!(cert = %self.cert.display(), "reauth: TLS certificate reloaded");
            }
            Err(e) => tracing::error!("reauth: {e}; keeping the TLS certificate in force"),
        }
    }
}
