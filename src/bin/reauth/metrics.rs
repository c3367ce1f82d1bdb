//! The gate's Prometheus metrics (`--metrics-bind`), on their own listener
//! so they are never reachable through the proxy.
//!
//! Label values are bounded: route names come from the policy file (plus
//! `_default`, `_unmatched`, `_none`), codes from the fixed set of answers.
//! Never a path, a subject or a token.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use reauth::Verifiers;
use reauth::signals::Receiver;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    route: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    /// `2xx`...`5xx`, or `bad_gateway` / `gateway_timeout` (no answer).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

/// What the handlers record. Cheap to share; recording is lock-free.
#[derive(Debug)]
pub struct Metrics {
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    reloads: Family<ReloadLabels, Counter>,
    upstream: Family<UpstreamLabels, Counter>,
    upstream_latency: Histogram,
    registry: Registry,
}

impl Metrics {
    pub fn new(verifier: Verifiers, signals: Option<Receiver>) -> Arc<Self> {
        let decisions = Family::<DecisionLabels, Counter>::default();
        // 50 µs to ~1.6 s: a memo hit is tens of µs, a JWKS fetch seconds.
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        let reloads = Family::<ReloadLabels, Counter>::default();
        let mut registry = Registry::with_prefix("reauth");
        registry.register(
            "decisions",
            "Answers of /verify by route name and result code",
            decisions.clone(),
        );
        registry.register(
            "decision_duration_seconds",
            "Time to answer /verify",
            latency.clone(),
        );
        registry.register(
            "config_reloads",
            "Policy file reloads (SIGHUP) by result",
            reloads.clone(),
        );
        let upstream = Family::<UpstreamLabels, Counter>::default();
        let upstream_latency = Histogram::new(exponential_buckets(0.000_1, 2.0, 18));
        registry.register(
            "upstream_responses",
            "With --upstream: the app's answers by status class, or why there was none",
            upstream.clone(),
        );
        registry.register(
            "upstream_duration_seconds",
            "With --upstream: time until the app's response headers",
            upstream_latency.clone(),
        );
        registry.register_collector(Box::new(VerifierCollector(verifier)));
        if let Some(receiver) = signals {
            registry.register_collector(Box::new(SignalsCollector(receiver)));
        }
        Arc::new(Self {
            decisions,
            latency,
            reloads,
            upstream,
            upstream_latency,
            registry,
        })
    }

    pub fn decision(&self, route: &str, code: &'static str, elapsed: Duration) {
        self.decisions
            .get_or_create(&DecisionLabels {
                route: route.to_owned(),
                code,
            })
            .inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// An upstream exchange (`--upstream`): its status, or why there was
    /// none, and the time until its headers.
    pub fn upstream(&self, status: Option<u16>, failure: Option<&'static str>, elapsed: Duration) {
        let outcome = match (status, failure) {
            (_, Some(why)) => why,
            (Some(s), None) => match s / 100 {
                1 => "1xx",
                2 => "2xx",
                3 => "3xx",
                4 => "4xx",
                _ => "5xx",
            },
            (None, None) => return,
        };
        self.upstream
            .get_or_create(&UpstreamLabels { outcome })
            .inc();
        self.upstream_latency.observe(elapsed.as_secs_f64());
    }

    /// A reload: on success the decision series start over, so the routes
    /// of older files do not stay as series for the process's life.
    pub fn reload(&self, ok: bool) {
        if ok {
            self.decisions.clear();
        }
        let result = if ok { "ok" } else { "error" };
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// The verifier's own counters, read at scrape time.
#[derive(Debug)]
struct VerifierCollector(Verifiers);

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(enc.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    g.encode(enc.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for VerifierCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let s = self.0.stats();
        counter(
            &mut enc,
            "jwks_fetches",
            "JWKS fetches attempted",
            s.jwks_fetches,
        )?;
        counter(
            &mut enc,
            "jwks_fetch_failures",
            "JWKS fetches that failed (the last good keys are kept)",
            s.jwks_fetch_failures,
        )?;
        if let Some(at) = s.keys_fetched_at {
            let now = chrono::Utc::now().timestamp();
            gauge(
                &mut enc,
                "jwks_age_seconds",
                "Seconds since the keys in use were fetched",
                now.saturating_sub(at).max(0) as f64,
            )?;
        }
        counter(
            &mut enc,
            "memo_hits",
            "Verifications answered from the memo of verified tokens",
            s.memo_hits,
        )?;
        counter(
            &mut enc,
            "memo_misses",
            "Verifications that checked the signature in full",
            s.memo_misses,
        )?;
        if let Some(r) = s.revocation {
            gauge(
                &mut enc,
                "revocation_sync_lag_seconds",
                "Seconds since the revocation state was last confirmed current",
                r.staleness.as_secs_f64(),
            )?;
            gauge(
                &mut enc,
                "revocation_sync_max_lag_seconds",
                "Lag beyond which verification answers 503 revocation_unavailable",
                r.max_staleness.as_secs_f64(),
            )?;
            counter(
                &mut enc,
                "revocation_log_entries_applied",
                "Revocation log entries applied",
                r.applied,
            )?;
            counter(
                &mut enc,
                "revocation_snapshots_loaded",
                "Revocation snapshots loaded",
                r.snapshots,
            )?;
            counter(
                &mut enc,
                "revocation_entries_skipped",
                "Unreadable revocation log entries and snapshot records passed over",
                r.skipped,
            )?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SetLabels {
    /// The event's short name (a fixed set), or `unknown`.
    event: &'static str,
    /// `applied`, `recorded`, `ignored`, an RFC 8935 code, `unavailable`.
    outcome: &'static str,
}

/// The Shared Signals receiver's counters, read at scrape time.
#[derive(Debug)]
struct SignalsCollector(Receiver);

impl Collector for SignalsCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let s = self.0.stats();
        let mut family = enc.encode_descriptor(
            "ssf_sets",
            "Security Event Tokens received from the identity provider, by event and outcome",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for ((event, outcome), n) in &s.sets {
            let c = ConstCounter::new(*n);
            c.encode(family.encode_family(&SetLabels { event, outcome })?)?;
        }
        let now = chrono::Utc::now().timestamp();
        if let Some(at) = s.last_event_at {
            gauge(
                &mut enc,
                "ssf_last_event_age_seconds",
                "Seconds since the last security event was accepted",
                now.saturating_sub(at).max(0) as f64,
            )?;
        }
        counter(
            &mut enc,
            "ssf_poll_failures",
            "Poll requests to the transmitter that failed (--ssf-poll)",
            s.poll_failures,
        )?;
        if let Some(at) = s.last_poll_at {
            gauge(
                &mut enc,
                "ssf_last_poll_age_seconds",
                "Seconds since a poll request to the transmitter last succeeded",
                now.saturating_sub(at).max(0) as f64,
            )?;
        }
        Ok(())
    }
}

async fn scrape(metrics: web::Data<Arc<Metrics>>) -> HttpResponse {
    match metrics.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(body),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// `GET /metrics` on `bind`, one worker, no signal handling of its own
/// (the gate's server stops the process).
pub fn server(
    metrics: Arc<Metrics>,
    bind: std::net::SocketAddr,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(metrics);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .bind(bind)?
    .run())
}
