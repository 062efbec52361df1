//! What every request passes before it is routed: the cap on requests being answered at
//! once and on event streams open at once (a `503` with `Retry-After` beyond either,
//! counted in `mcpgw_limit_rejections_total`), the `Origin`/`Host` check of the MCP
//! endpoints (DNS rebinding), and the response headers every answer carries on HTTPS
//! (HSTS).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, header};
use mcpgw_gateway::GatewayError;
use mcpgw_gateway::held_body::hold_while_streaming;
use mcpgw_gateway::origin::OriginPolicy;
use mcpgw_telemetry::metrics::metrics;

/// `Strict-Transport-Security` on HTTPS: two years, subdomains included.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000; includeSubDomains");

/// Seconds a client refused by a cap is told to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// A count against its cap.
#[derive(Debug)]
struct Counted {
    open: AtomicUsize,
    max: usize,
}

impl Counted {
    fn new(max: usize) -> Counted {
        Counted {
            open: AtomicUsize::new(0),
            max,
        }
    }

    fn try_take(&self) -> bool {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .is_ok()
    }

    fn give_back(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The checks and caps, shared by every connection.
#[derive(Debug)]
pub struct Admission {
    requests: Counted,
    streams: Counted,
    origin: OriginPolicy,
    https: bool,
}

/// One request's place under the cap, given back when dropped.
#[derive(Debug)]
pub struct RequestSlot(Arc<Admission>);

impl Drop for RequestSlot {
    fn drop(&mut self) {
        self.0.requests.give_back();
    }
}

/// One open stream's place under the cap, given back when its body is dropped.
#[derive(Debug)]
pub struct StreamSlot(Arc<Admission>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.streams.give_back();
    }
}

impl Admission {
    /// Caps of `max_requests` and `max_streams`, MCP endpoints checked by `origin`,
    /// HSTS when the gateway is reached over `https`.
    pub fn new(
        max_requests: usize,
        max_streams: usize,
        origin: OriginPolicy,
        https: bool,
    ) -> Arc<Admission> {
        Arc::new(Admission {
            requests: Counted::new(max_requests),
            streams: Counted::new(max_streams),
            origin,
            https,
        })
    }

    /// The admission `settings` describe, for a gateway serving HTTPS itself (`tls`) or
    /// not, listening on `address`.
    pub fn from_settings(
        settings: &crate::config::Settings,
        tls: bool,
        address: std::net::SocketAddr,
    ) -> Arc<Admission> {
        let public_url = settings.public_url.as_deref();
        Admission::new(
            settings.limits.max_concurrent_requests,
            settings.limits.max_streams,
            OriginPolicy::new(
                public_url,
                address.ip().is_loopback(),
                &settings.server.allowed_origins,
                &settings.server.allowed_hosts,
            ),
            tls || public_url.is_some_and(|url| url.starts_with("https://")),
        )
    }

    /// A place for one more request, or the `503` to answer.
    pub fn admit_request(self: &Arc<Self>) -> Result<RequestSlot, GatewayError> {
        if self.requests.try_take() {
            return Ok(RequestSlot(Arc::clone(self)));
        }
        metrics().limit_rejected("concurrency");
        Err(overloaded("requests in progress"))
    }

    /// Refuses an MCP request from a page of another site or to a name that is not the
    /// gateway's (`403`).
    pub fn check_origin(&self, request: &http::Request<Body>) -> Result<(), GatewayError> {
        let authority = request
            .uri()
            .authority()
            .map(|authority| authority.as_str());
        self.origin
            .check(authority, request.headers())
            .map_err(|refusal| {
                metrics().limit_rejected("origin");
                GatewayError::Forbidden(refusal.to_string())
            })
    }

    /// A place for the stream a `GET` on an MCP endpoint may open, taken before it is
    /// served (so that requests arriving together cannot all pass a full cap), or the
    /// `503` to answer.
    pub fn reserve_stream(self: &Arc<Self>) -> Result<StreamSlot, GatewayError> {
        if self.streams.try_take() {
            return Ok(StreamSlot(Arc::clone(self)));
        }
        metrics().limit_rejected("streams");
        Err(overloaded("open event streams"))
    }

    /// The answer as it leaves: an event stream counted while it is open, in the place
    /// `reserved` for it or in a new one (an answer to a POST is never refused here: the
    /// request has been served), HSTS on HTTPS. A reserved place not used is given back.
    pub fn finish(self: &Arc<Self>, response: Response, reserved: Option<StreamSlot>) -> Response {
        let mut response = hold_while_streaming(response, || {
            reserved.unwrap_or_else(|| {
                self.streams.open.fetch_add(1, Ordering::AcqRel);
                StreamSlot(Arc::clone(self))
            })
        });
        if self.https {
            response
                .headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
        response
    }
}

/// `503` with `Retry-After`, answered as a JSON-RPC error (the API's clients read the
/// message too).
fn overloaded(what: &'static str) -> GatewayError {
    GatewayError::Overloaded {
        what,
        retry_after: RETRY_AFTER_SECS,
    }
}
