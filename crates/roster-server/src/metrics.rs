//! Prometheus metrics (prometheus-client: one registry per server, no
//! global state): requests and their latency by route, decisions by
//! outcome, webhook deliveries, queues, and the snapshot cache. What every
//! request touches (request counts and latency, decision counts) is kept
//! in atomics, with no lock and no allocation once a route has been seen.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabel, EncodeLabelSet, LabelSetEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// A request's labels, borrowed from its [`RequestStat`].
struct RequestLabels<'a> {
    method: &'static str,
    route: &'a str,
    status: u16,
}

impl EncodeLabelSet for RequestLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("method", self.method).encode(encoder.encode_label())?;
        ("route", self.route).encode(encoder.encode_label())?;
        ("status", self.status).encode(encoder.encode_label())
    }
}

/// Upper bounds of the request latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Distinct (method, route, status) kept apart; any beyond share one
/// `other` entry. Routes are matched templates and statuses Roster's own,
/// so a few hundred are ever used.
const REQUEST_SLOTS: usize = 2048;

/// One (method, route, status): a count and a latency histogram.
#[derive(Debug)]
struct RequestStat {
    method: &'static str,
    route: Box<str>,
    status: u16,
    count: AtomicU64,
    nanos: AtomicU64,
    /// Per bucket, not cumulative; the last counts what is above them all.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
}

impl RequestStat {
    fn new(method: &'static str, route: &str, status: u16) -> Self {
        RequestStat {
            method,
            route: route.into(),
            status,
            count: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn is(&self, method: &str, route: &str, status: u16) -> bool {
        self.status == status && self.method == method && &*self.route == route
    }

    fn observe(&self, seconds: f64) {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn labels(&self) -> RequestLabels<'_> {
        RequestLabels {
            method: self.method,
            route: &self.route,
            status: self.status,
        }
    }
}

/// Requests by method, route and status, in a fixed table whose slots are
/// claimed once each (open addressing over `OnceLock`s): recording a request
/// reads a few slots and bumps atomics.
#[derive(Debug)]
struct RequestStats {
    slots: Box<[OnceLock<RequestStat>]>,
    other: RequestStat,
}

impl Default for RequestStats {
    fn default() -> Self {
        RequestStats {
            slots: (0..REQUEST_SLOTS).map(|_| OnceLock::new()).collect(),
            other: RequestStat::new("other", "other", 0),
        }
    }
}

impl RequestStats {
    fn stat(&self, method: &'static str, route: &str, status: u16) -> &RequestStat {
        let start = rustc_hash::FxBuildHasher.hash_one((method, route, status)) as usize;
        for i in 0..REQUEST_SLOTS {
            let slot = &self.slots[(start + i) % REQUEST_SLOTS];
            let stat = match slot.get() {
                Some(stat) => stat,
                None => slot.get_or_init(|| RequestStat::new(method, route, status)),
            };
            if stat.is(method, route, status) {
                return stat;
            }
        }
        &self.other
    }

    fn used(&self) -> impl Iterator<Item = &RequestStat> {
        self.slots
            .iter()
            .filter_map(OnceLock::get)
            .chain(Some(&self.other).filter(|o| o.count.load(Ordering::Relaxed) > 0))
    }
}

impl Collector for RequestStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut counts = encoder.encode_descriptor(
            "http_requests",
            "HTTP requests by route and status",
            None,
            MetricType::Counter,
        )?;
        for stat in self.used() {
            counts
                .encode_family(&stat.labels())?
                .encode_counter::<NoLabelSet, _, u64>(&stat.count.load(Ordering::Relaxed), None)?;
        }
        let mut latency = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "Time spent serving requests, by route and status",
            None,
            MetricType::Histogram,
        )?;
        for stat in self.used() {
            let mut cumulative = 0;
            let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                .iter()
                .chain(Some(&f64::MAX))
                .zip(&stat.buckets)
                .map(|(bound, n)| {
                    cumulative += n.load(Ordering::Relaxed);
                    (*bound, cumulative)
                })
                .collect();
            latency
                .encode_family(&stat.labels())?
                .encode_histogram::<NoLabelSet>(
                    stat.nanos.load(Ordering::Relaxed) as f64 / 1e9,
                    cumulative,
                    &buckets,
                    None,
                )?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    what: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Arc<RequestStats>,
    /// The `allow` and `deny` counters, resolved once.
    allowed: Counter,
    denied: Counter,
    deliveries: Family<OutcomeLabels, Counter>,
    delivery_latency: Histogram,
    queue_depth: Family<QueueLabels, Gauge>,
    cache: Family<CacheLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("roster");
        let requests = Arc::new(RequestStats::default());
        let decisions = Family::<DecisionLabels, Counter>::default();
        let allowed = decisions
            .get_or_create(&DecisionLabels { decision: "allow" })
            .clone();
        let denied = decisions
            .get_or_create(&DecisionLabels { decision: "deny" })
            .clone();
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        let delivery_latency = Histogram::new([
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed, dead)",
            deliveries.clone(),
        );
        registry.register(
            "webhook_delivery_duration_seconds",
            "Time from sending a webhook to its answer",
            delivery_latency.clone(),
        );
        registry.register(
            "queue_depth",
            "Messages waiting to go out, by queue (webhooks, email)",
            queue_depth.clone(),
        );
        let cache = Family::<CacheLabels, Gauge>::default();
        registry.register(
            "snapshot_cache",
            "The organization snapshot cache since start: hits, misses, loads, evictions; and now: snapshots, bytes",
            cache.clone(),
        );
        registry.register_collector(Box::new(requests.clone()));
        registry.register(
            "decisions",
            "Authorization decisions by outcome",
            decisions.clone(),
        );
        Metrics {
            registry,
            requests,
            allowed,
            denied,
            deliveries,
            delivery_latency,
            queue_depth,
            cache,
        }
    }
}

impl Metrics {
    /// `route` is the matched route template (or `unmatched`), so labels
    /// stay bounded whatever paths clients send.
    pub fn record_request(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.requests.stat(method, route, status).observe(seconds);
    }

    pub fn record_decision(&self, allowed: bool) {
        if allowed {
            self.allowed.inc();
        } else {
            self.denied.inc();
        }
    }

    pub fn record_webhook_delivery(&self, outcome: &'static str, seconds: f64) {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.delivery_latency.observe(seconds);
    }

    pub fn set_queue_depth(&self, queue: &'static str, depth: i64) {
        self.queue_depth
            .get_or_create(&QueueLabels { queue })
            .set(depth);
    }

    pub fn set_cache(&self, stats: roster_store::CacheStats) {
        for (what, value) in [
            ("hits", stats.hits),
            ("misses", stats.misses),
            ("loads", stats.loads),
            ("evictions", stats.evictions),
            ("snapshots", stats.snapshots),
            ("bytes", stats.bytes),
        ] {
            self.cache
                .get_or_create(&CacheLabels { what })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
    }

    /// The text exposition format (0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            tracing::warn!("could not encode the metrics");
        }
        out
    }
}
