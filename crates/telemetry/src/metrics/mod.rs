//! Prometheus metrics: the Python gateway's names and labels, so that existing dashboards
//! and alerts keep working (`mcp_auth_requests_total`, `mcp_tool_executions_total`,
//! `mcp_tool_discovery_total`, `mcp_health_checks_total` and their `_duration_seconds`
//! histograms), and what a proxy operator needs besides (`mcpgw_*`: requests by route and
//! status, upstream latency against the gateway's own overhead, open streams, stdio
//! processes, key refreshes, access decisions, the audit writer's queue).
//!
//! One process-wide [`Metrics`] ([`metrics()`]): recording is an atomic add after a label
//! lookup, never a wait. Every label a client influences (method, tool, client name and
//! version) goes through a [`Bounded`], so no request can grow the exposition without end;
//! server labels are registered servers' paths (or `_unknown`, `mcp`), issuers configured
//! ones: callers never pass what a request made up.

mod exposition;
mod guards;
mod labels;
pub mod otlp;
mod registrar;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use registrar::{Kind, Registrar};

pub use guards::{OpenStream, RunningProcess};
pub use labels::{
    AuthLabels, Bounded, DecisionLabels, DiscoveryLabels, FlowLabels, HealthLabels, HttpLabels,
    JwksLabels, LimitLabels, MAX_LABEL_CHARS, MAX_VALUES_PER_LABEL, OTHER, RouteLabels,
    ServerLabels, ToolLabels, UNSET, WriterLabels, flag,
};

/// The Python gateway's buckets for every `*_duration_seconds` histogram (seconds).
pub const DURATION_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Buckets of the gateway's own overhead: microseconds matter there.
pub const OVERHEAD_BUCKETS: [f64; 12] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
];

/// A histogram family built with fixed buckets.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn durations() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn overheads() -> Histogram {
    Histogram::new(OVERHEAD_BUCKETS)
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// Every sample name the exposition can hold.
    names: Vec<String>,
    auth_requests: Family<AuthLabels, Counter>,
    auth_duration: Histograms<AuthLabels>,
    tool_executions: Family<ToolLabels, Counter>,
    tool_duration: Histograms<ToolLabels>,
    discovery: Family<DiscoveryLabels, Counter>,
    discovery_duration: Histograms<DiscoveryLabels>,
    protocol_latency: Histograms<FlowLabels>,
    health_checks: Family<HealthLabels, Counter>,
    health_duration: Histograms<HealthLabels>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    upstream_duration: Histograms<ServerLabels>,
    overhead: Histograms<RouteLabels>,
    open_streams: Family<RouteLabels, Gauge>,
    stdio_processes: Gauge,
    stdio_starts: Family<ServerLabels, Counter>,
    jwks_refreshes: Family<JwksLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    writer_queue: Family<WriterLabels, Gauge>,
    writer_dropped: Family<WriterLabels, Counter>,
    limit_rejections: Family<LimitLabels, Counter>,
    open_connections: Gauge,
    /// Bounds of the labels clients influence.
    methods: Bounded,
    tools: Bounded,
    clients: Bounded,
    versions: Bounded,
}

/// One MCP message as seen by the gateway, for `mcp_tool_executions_total`.
#[derive(Debug, Clone, Copy)]
pub struct McpMessage<'a> {
    /// The JSON-RPC method.
    pub method: &'a str,
    /// The server's path.
    pub server: &'a str,
    /// The tool of a `tools/call` if the server has a tool of that name (an unknown name
    /// is counted as [`UNSET`], never as a series of its own).
    pub tool: Option<&'a str>,
    /// Whether it was answered without an error.
    pub success: bool,
    /// The client's `clientInfo` name and version, when known.
    pub client: Option<(&'a str, &'a str)>,
    /// From the request to the answer's first byte.
    pub elapsed: Duration,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let metrics = Metrics {
            auth_requests: Family::default(),
            auth_duration: Family::new_with_constructor(durations),
            tool_executions: Family::default(),
            tool_duration: Family::new_with_constructor(durations),
            discovery: Family::default(),
            discovery_duration: Family::new_with_constructor(durations),
            protocol_latency: Family::new_with_constructor(durations),
            health_checks: Family::default(),
            health_duration: Family::new_with_constructor(durations),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(durations),
            upstream_duration: Family::new_with_constructor(durations),
            overhead: Family::new_with_constructor(overheads),
            open_streams: Family::default(),
            stdio_processes: Gauge::default(),
            stdio_starts: Family::default(),
            jwks_refreshes: Family::default(),
            decisions: Family::default(),
            writer_queue: Family::default(),
            writer_dropped: Family::default(),
            limit_rejections: Family::default(),
            open_connections: Gauge::default(),
            methods: Bounded::default(),
            tools: Bounded::default(),
            clients: Bounded::default(),
            versions: Bounded::default(),
            registry: Registry::default(),
            names: Vec::new(),
        };
        let mut r = Registrar {
            registry: &mut registry,
            names: Vec::new(),
        };
        r.add(
            "mcp_auth_requests",
            "Total number of authentication requests",
            Kind::Counter,
            metrics.auth_requests.clone(),
        );
        r.add(
            "mcp_auth_request_duration_seconds",
            "Duration of authentication requests in seconds",
            Kind::Histogram,
            metrics.auth_duration.clone(),
        );
        r.add(
            "mcp_tool_executions",
            "Total number of tool executions",
            Kind::Counter,
            metrics.tool_executions.clone(),
        );
        r.add(
            "mcp_tool_execution_duration_seconds",
            "Duration of tool executions in seconds",
            Kind::Histogram,
            metrics.tool_duration.clone(),
        );
        r.add(
            "mcp_tool_discovery",
            "Total number of tool discovery requests",
            Kind::Counter,
            metrics.discovery.clone(),
        );
        r.add(
            "mcp_tool_discovery_duration_seconds",
            "Duration of tool discovery requests in seconds",
            Kind::Histogram,
            metrics.discovery_duration.clone(),
        );
        r.add(
            "mcp_protocol_latency_seconds",
            "Latency between MCP protocol steps in seconds",
            Kind::Histogram,
            metrics.protocol_latency.clone(),
        );
        r.add(
            "mcp_health_checks",
            "Total number of health checks performed",
            Kind::Counter,
            metrics.health_checks.clone(),
        );
        r.add(
            "mcp_health_check_duration_seconds",
            "Duration of health checks in seconds",
            Kind::Histogram,
            metrics.health_duration.clone(),
        );
        r.add(
            "mcpgw_http_requests",
            "HTTP requests answered, by route kind and status",
            Kind::Counter,
            metrics.http_requests.clone(),
        );
        r.add(
            "mcpgw_http_request_duration_seconds",
            "Time to the answer's first byte, by route kind",
            Kind::Histogram,
            metrics.http_duration.clone(),
        );
        r.add(
            "mcpgw_upstream_duration_seconds",
            "Time an upstream server took to start answering, by server",
            Kind::Histogram,
            metrics.upstream_duration.clone(),
        );
        r.add(
            "mcpgw_gateway_overhead_seconds",
            "Time to the first byte spent in the gateway rather than upstream, by route kind",
            Kind::Histogram,
            metrics.overhead.clone(),
        );
        r.add(
            "mcpgw_open_streams",
            "Event streams open now, by route kind",
            Kind::Gauge,
            metrics.open_streams.clone(),
        );
        r.add(
            "mcpgw_stdio_processes",
            "stdio server processes running now",
            Kind::Gauge,
            metrics.stdio_processes.clone(),
        );
        r.add(
            "mcpgw_stdio_process_starts",
            "stdio server processes started (a start after the first is a restart), by server",
            Kind::Counter,
            metrics.stdio_starts.clone(),
        );
        r.add(
            "mcpgw_jwks_refreshes",
            "Signing-key refreshes of token issuers, by issuer and outcome",
            Kind::Counter,
            metrics.jwks_refreshes.clone(),
        );
        r.add(
            "mcpgw_policy_decisions",
            "Access decisions, by source and outcome",
            Kind::Counter,
            metrics.decisions.clone(),
        );
        r.add(
            "mcpgw_writer_queue_depth",
            "Records waiting for a background writer (audit trail, analytics)",
            Kind::Gauge,
            metrics.writer_queue.clone(),
        );
        r.add(
            "mcpgw_writer_dropped",
            "Records a background writer dropped (queue full, store failing, shut down)",
            Kind::Counter,
            metrics.writer_dropped.clone(),
        );
        r.add(
            "mcpgw_limit_rejections",
            "Requests and connections refused or closed by a limit, by limit",
            Kind::Counter,
            metrics.limit_rejections.clone(),
        );
        r.add(
            "mcpgw_open_connections",
            "Client connections open now",
            Kind::Gauge,
            metrics.open_connections.clone(),
        );
        let names = r.names;
        Metrics {
            registry,
            names,
            ..metrics
        }
    }

    /// Every sample name the exposition can hold (`x_total` of a counter; `x_bucket`,
    /// `x_sum`, `x_count` of a histogram), whether or not it has a sample yet: what a
    /// dashboard may query.
    pub fn sample_names(&self) -> &[String] {
        &self.names
    }

    /// The exposition in the Prometheus text format (0.0.4), as the Python gateway's
    /// exporter serves it.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }

    /// An authentication attempt on an MCP route of `server` (`method`: how the caller
    /// authenticated, `unknown` when it did not).
    pub fn auth(&self, server: &str, method: &str, success: bool, elapsed: Duration) {
        let labels = AuthLabels {
            server: server.to_owned(),
            method: self.methods.value(method),
            success: flag(success),
        };
        self.auth_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.auth_requests.get_or_create(&labels).inc();
    }

    /// One MCP message answered.
    pub fn mcp_message(&self, message: &McpMessage<'_>) {
        let (client, version) = message.client.unwrap_or(("unknown", "unknown"));
        let tool = match message.tool {
            Some(tool) => self.tools.value(tool),
            None if message.method == "tools/call" => UNSET.to_owned(),
            None => self.methods.value(message.method),
        };
        let server = message.server.to_owned();
        let labels = ToolLabels {
            method: self.methods.value(message.method),
            server_path: format!("/{server}/"),
            server_name: server,
            tool_name: tool,
            success: flag(message.success),
            client_name: self.clients.value(client),
            client_version: self.versions.value(version),
        };
        self.tool_duration
            .get_or_create(&labels)
            .observe(message.elapsed.as_secs_f64());
        self.tool_executions.get_or_create(&labels).inc();
    }

    /// A tool search (`source`: `intelligent_tool_finder` or `api`; `mode`: `hybrid` or
    /// `lexical`).
    pub fn discovery(&self, source: &'static str, mode: &'static str, elapsed: Duration) {
        let labels = DiscoveryLabels {
            source: source.to_owned(),
            mode: mode.to_owned(),
        };
        self.discovery_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.discovery.get_or_create(&labels).inc();
    }

    /// A step of the MCP flow in a session of `server` (`initialize_to_tools_list`,
    /// `tools_list_to_tools_call`, `full_protocol_flow`) took `elapsed`.
    pub fn protocol_latency(&self, step: &'static str, server: &str, elapsed: Duration) {
        self.protocol_latency
            .get_or_create(&FlowLabels {
                flow_step: step.to_owned(),
                server_name: server.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A health check of `server`.
    pub fn health_check(&self, server: &str, healthy: bool, elapsed: Duration) {
        let labels = HealthLabels {
            endpoint: format!("/health/{}", server.to_owned()),
            status_code: if healthy { "200" } else { "500" }.to_owned(),
            healthy: flag(healthy),
        };
        self.health_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.health_checks.get_or_create(&labels).inc();
    }

    /// An HTTP request answered (`elapsed`: to the answer's head).
    pub fn http(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// How long `server` took to start answering, and so how much of `total` (the whole
    /// time to the answer's head on `route`) was the gateway's own.
    pub fn upstream(&self, route: &'static str, server: &str, upstream: Duration, total: Duration) {
        self.upstream_duration
            .get_or_create(&ServerLabels {
                server: server.to_owned(),
            })
            .observe(upstream.as_secs_f64());
        self.overhead
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(total.saturating_sub(upstream).as_secs_f64());
    }

    /// Counts an event stream open on `route` until the guard is dropped.
    pub fn stream_opened(&self, route: &'static str) -> OpenStream {
        let gauge = self
            .open_streams
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .clone();
        gauge.inc();
        OpenStream(gauge)
    }

    /// A stdio server process started for `server`; counted as running until the guard is
    /// dropped.
    pub fn stdio_started(&self, server: &str) -> RunningProcess {
        self.stdio_starts
            .get_or_create(&ServerLabels {
                server: server.to_owned(),
            })
            .inc();
        self.stdio_processes.inc();
        RunningProcess(self.stdio_processes.clone())
    }

    /// A refresh of `issuer`'s signing keys.
    pub fn jwks_refresh(&self, issuer: &str, ok: bool) {
        self.jwks_refreshes
            .get_or_create(&JwksLabels {
                issuer: issuer.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
    }

    /// An access decision (`source`: `mcp` or `api`).
    pub fn decision(&self, source: &'static str, allowed: bool) {
        self.decisions
            .get_or_create(&DecisionLabels {
                source: source.to_owned(),
                decision: if allowed { "allowed" } else { "denied" }.to_owned(),
            })
            .inc();
    }
}

impl Metrics {
    /// `writer`'s queue-depth gauge and drop counter, looked up once by the writer so that
    /// recording a record costs an atomic store, not a label lookup.
    pub fn writer(&self, writer: &'static str) -> (Gauge, Counter) {
        let labels = WriterLabels {
            writer: writer.to_owned(),
        };
        (
            self.writer_queue.get_or_create(&labels).clone(),
            self.writer_dropped.get_or_create(&labels).clone(),
        )
    }
}

static METRICS: OnceLock<Arc<Metrics>> = OnceLock::new();

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    METRICS.get_or_init(|| Arc::new(Metrics::new()))
}

mod limits;

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
