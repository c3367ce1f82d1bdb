//! The HTTP stack's floor for `scripts/bench_inline.sh`: the front door's
//! hyper server (HTTP/1.1 only here; the front door's `auto` builder
//! sniffs for HTTP/2 once per connection) and pooled hyper-util client on
//! one current-thread runtime with jemalloc (as `reauth serve --upstream
//! --workers 1`), and nothing else: no decision, no header rewrite, no
//! timeouts, no log, no metrics.
//! What it costs against nginx is the stack's; what `reauth serve
//! --upstream` costs above it is reauth's. Never a product: it forwards
//! anything to anyone. Loopback only.
//!
//! Usage: bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT

use std::convert::Infallible;

use http::Uri;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

type Body = BoxBody<bytes::Bytes, hyper::Error>;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT");
        std::process::exit(2);
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(listen, upstream))
}

async fn serve(listen: String, upstream: String) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Incoming> = Client::builder(TokioExecutor::new()).build(connector);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: http::Request<Incoming>| {
                let client = client.clone();
                let target = format!(
                    "http://{upstream}{}",
                    req.uri().path_and_query().map_or("/", |p| p.as_str())
                );
                async move {
                    let Ok(uri) = target.parse::<Uri>() else {
                        return Ok(status(http::StatusCode::BAD_REQUEST));
                    };
                    *req.uri_mut() = uri;
                    Ok::<_, Infallible>(match client.request(req).await {
                        Ok(res) => res.map(|b| b.boxed()),
                        Err(_) => status(http::StatusCode::BAD_GATEWAY),
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// An empty answer with `code`.
fn status(code: http::StatusCode) -> http::Response<Body> {
    let mut res = http::Response::new(
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed(),
    );
    *res.status_mut() = code;
    res
}
