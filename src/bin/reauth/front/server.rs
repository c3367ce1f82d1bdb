//! The front door's listener: accept, a bound on connections, HTTP/1.1 and
//! HTTP/2 by hyper, and the drain on SIGTERM (requests and upgraded
//! connections in flight, up to `--drain-timeout`).

use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::config::Front;
use super::proxy::handle;

/// Serves `listener` until `stop` resolves, then drains.
pub async fn run(
    listener: std::net::TcpListener,
    front: Arc<Front>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(front.idle_timeout)
        .max_buf_size(front.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(front.max_header_bytes).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    if let Some(tls) = front.tls.clone() {
        reload_on_sighup(tls);
    }
    let limit = front.limit.clone();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: say so, go on.
                    tracing::warn!(error = %e, "reauth: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let front = front.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match front.tls.clone() {
                None => {
                    let service = service_fn(move |req| handle(front.clone(), peer, "http", req));
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(error = %e, "reauth: client connection ended");
                    }
                }
                Some(tls) => {
                    // The handshake, bounded like a request head.
                    let accepted =
                        tokio::time::timeout(front.idle_timeout, tls.acceptor().accept(stream))
                            .await;
                    let stream = match accepted {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "reauth: TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let service = service_fn(move |req| handle(front.clone(), peer, "https", req));
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(error = %e, "reauth: client connection ended");
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("reauth: stopping the front door; draining requests in flight");
    let deadline = tokio::time::Instant::now() + front.drain_timeout;
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(drain_timeout = ?front.drain_timeout, "reauth: requests still in flight at the drain timeout");
    }
    front.tunnels.close();
    if tokio::time::timeout_at(deadline, front.tunnels.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = front.tunnels.len(),
            "reauth: upgraded connections still open at the drain timeout"
        );
    }
    Ok(())
}

/// SIGHUP reloads the certificate (the policy file reloads on the same
/// signal, elsewhere).
fn reload_on_sighup(tls: Arc<super::tls::Tls>) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let tls = tls.clone();
                    let _ = tokio::task::spawn_blocking(move || tls.reload()).await;
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "reauth: SIGHUP cannot reload the TLS certificate"),
    }
}
