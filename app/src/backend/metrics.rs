//! What Kiln counts for Prometheus (`GET /metrics`): requests, builds, the queue, the
//! launch-list cache. Counters and histograms move as things happen; the figures that are
//! states (builds by state, the queue's length, the pool, whether this replica leads) are
//! read when scraped (see the server's `metrics` module), so every replica reports the
//! database's truth and its own process's.
//!
//! Label values are Kiln's own words (route templates, methods, states): [`label`] keeps
//! them to a safe alphabet, since the text format does not escape them.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Labels: (name, value) pairs in a fixed order.
pub type Labels = Vec<(&'static str, String)>;

/// Request latencies: 1 ms to ~16 s.
const REQUEST_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 4.0, 16.0,
];
/// Build waits and durations: 1 s to 2 h.
pub const BUILD_BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 7200.0,
];

#[derive(Clone)]
struct Buckets(&'static [f64]);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// Every metric of a process. One per process, in the app state.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub http_requests: Family<Labels, Counter>,
    http_duration: Family<Labels, Histogram, Buckets>,
    pub log_streams: Gauge,
    pub builds: Family<Labels, Gauge>,
    pub queue_length: Gauge,
    pub leader: Gauge,
    pub db_connections: Family<Labels, Gauge>,
    pub cache_entries: Gauge,
    pub cache_bytes: Gauge,
    pub cache_capacity_bytes: Gauge<u64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Metrics {
            registry: Mutex::new(Registry::with_prefix("kiln")),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(Buckets(&REQUEST_BUCKETS)),
            log_streams: Gauge::default(),
            builds: Family::default(),
            queue_length: Gauge::default(),
            leader: Gauge::default(),
            db_connections: Family::default(),
            cache_entries: Gauge::default(),
            cache_bytes: Gauge::default(),
            cache_capacity_bytes: Gauge::default(),
        };
        metrics.register();
        metrics
    }
}

impl Metrics {
    fn register(&self) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        r.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            self.http_requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by route template and method",
            Unit::Seconds,
            self.http_duration.clone(),
        );
        r.register(
            "log_streams_open",
            "Build log streams open on this replica",
            self.log_streams.clone(),
        );
        r.register(
            "builds",
            "Builds in the database, by state and failure reason",
            self.builds.clone(),
        );
        r.register(
            "build_queue_length",
            "Builds waiting in the queue",
            self.queue_length.clone(),
        );
        r.register(
            "leader",
            "1 while this replica drives the build queue, else 0",
            self.leader.clone(),
        );
        r.register(
            "db_connections",
            "The database pool's connections, by state (idle, in use) and its maximum",
            self.db_connections.clone(),
        );
        r.register(
            "launch_cache_entries",
            "Launch lists in the cache",
            self.cache_entries.clone(),
        );
        r.register_with_unit(
            "launch_cache_size",
            "Estimated size of the launch lists in the cache",
            Unit::Bytes,
            self.cache_bytes.clone(),
        );
        r.register_with_unit(
            "launch_cache_capacity",
            "The most the launch-list cache holds",
            Unit::Bytes,
            self.cache_capacity_bytes.clone(),
        );
    }

    /// Reports the build queue's waits and build durations (observed by the queue while this
    /// replica leads).
    pub fn watch_builds(&self, queue_wait: Histogram, build_duration: Histogram) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        r.register_with_unit(
            "build_queue_wait",
            "Time a build waited in the queue before it started (on the leader)",
            Unit::Seconds,
            queue_wait,
        );
        r.register_with_unit(
            "build_duration",
            "Time from a build's start to its end (on the leader)",
            Unit::Seconds,
            build_duration,
        );
    }

    /// Reports the launch-list cache's hits and misses (its counters, counted by the cache).
    pub fn watch_launch_cache(&self, hits: Counter, misses: Counter) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        r.register(
            "launch_cache_hits",
            "Launch lists answered from the cache",
            hits,
        );
        r.register(
            "launch_cache_misses",
            "Launch lists computed because the cache had no current answer",
            misses,
        );
    }

    /// Reads the figures that are states: builds by state and reason, the queue's length,
    /// the database pool, the launch-list cache. Called when scraped.
    pub async fn read_states(&self, db: &super::Db) -> super::Result<()> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT state, reason, COUNT(*) FROM builds GROUP BY state, reason ORDER BY state, reason",
        )
        .fetch_all(&db.pool)
        .await?;
        self.builds.clear();
        for state in ["queued", "running", "succeeded", "failed", "cancelled"] {
            // Every state is reported, at 0 too: a dashboard's series never vanish.
            self.builds.get_or_create(&state_labels(state, "")).set(0);
        }
        let mut queued = 0;
        for (state, reason, count) in rows {
            if state == "queued" {
                queued += count;
            }
            self.builds
                .get_or_create(&state_labels(&state, &reason))
                .set(count);
        }
        self.queue_length.set(queued);
        let (size, idle) = (db.pool.size() as i64, db.pool.num_idle() as i64);
        let max = i64::from(db.pool.options().get_max_connections());
        for (state, value) in [("idle", idle), ("used", size - idle), ("max", max)] {
            self.db_connections
                .get_or_create(&vec![("state", state.to_owned())])
                .set(value);
        }
        let (entries, bytes) = db.launches.size();
        self.cache_entries.set(entries as i64);
        self.cache_bytes.set(bytes as i64);
        self.cache_capacity_bytes.set(db.launches.capacity());
        Ok(())
    }

    /// Counts an answered request. `route` is the matched route's template (never the
    /// path as sent: ids and names would make a series per value).
    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let method = label(known_method(method));
        let route = label(route);
        self.http_requests
            .get_or_create(&vec![
                ("route", route.clone()),
                ("method", method.clone()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&vec![("route", route), ("method", method)])
            .observe(seconds);
    }

    /// The text exposition (OpenMetrics 1.0, which Prometheus reads).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        encode(&mut out, &registry).expect("writing to a String does not fail");
        out
    }
}

fn state_labels(state: &str, reason: &str) -> Labels {
    vec![("state", label(state)), ("reason", label(reason))]
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A method as a label: the standard ones, anything else as `other` (a client may send
/// any token as a method; each would become a series).
fn known_method(method: &str) -> &str {
    match method {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "other",
    }
}

/// A label value kept to letters, digits and `_./{}:*-`; anything else becomes `_`.
pub fn label(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '.' | '/' | '{' | '}' | ':' | '*' | '-' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_counted_by_its_route_template_and_odd_methods_are_other() {
        let m = Metrics::default();
        m.observe_request("/api/v1/builds/{id}", "GET", 200, 0.003);
        m.observe_request("/api/v1/builds/{id}", "GET", 200, 0.004);
        m.observe_request("/api/v1/builds/{id}", "BREW\"\n", 405, 0.001);
        let text = m.render();
        assert!(
            text.contains(
                r#"kiln_http_requests_total{route="/api/v1/builds/{id}",method="GET",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"method="other",status="405"} 1"#), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn label_values_cannot_break_the_text_format() {
        assert_eq!(label("a\"b\\c\nd e"), "a_b_c_d_e");
        assert_eq!(label("/groups/{group}/images"), "/groups/{group}/images");
    }
}
