//! Prometheus metrics (prometheus-client: one registry per server, no
//! global state): requests and their latency by route, decisions by
//! outcome, webhook deliveries, queues, and the snapshot cache.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
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
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    deliveries: Family<OutcomeLabels, Counter>,
    delivery_latency: Histogram,
    queue_depth: Family<QueueLabels, Gauge>,
    cache: Family<CacheLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("roster");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5,
            ])
        });
        let decisions = Family::<DecisionLabels, Counter>::default();
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
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time spent serving requests, by route",
            latency.clone(),
        );
        registry.register(
            "decisions",
            "Authorization decisions by outcome",
            decisions.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            decisions,
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
        let route = route.to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    pub fn record_decision(&self, allowed: bool) {
        let decision = if allowed { "allow" } else { "deny" };
        self.decisions
            .get_or_create(&DecisionLabels { decision })
            .inc();
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
