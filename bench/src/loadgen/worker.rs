//! One load-generator worker: a keep-alive HTTP/1.1 connection (TCP_NODELAY) on which it
//! sends the request, reads the whole response, checks it and records the latency, back
//! to back until the end of the run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use http::header::CONTENT_TYPE;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::check::check_response;
use super::request::EchoCall;

/// Highest latency the histogram can hold: one minute, in nanoseconds.
const MAX_TRACKABLE_NANOS: u64 = 60_000_000_000;
/// Significant decimal digits the histogram keeps (0.1 % resolution).
const SIGNIFICANT_DIGITS: u8 = 3;
/// Pause after a failed connection attempt, so a dead target is not hammered.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// A keep-alive connection's request handle.
type Connection = SendRequest<Full<bytes::Bytes>>;

/// When a worker sends and when it measures; shared by all workers of a run.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When the warm-up begins.
    pub start: Instant,
    /// Requests sent from here on are measured.
    pub measure_from: Instant,
    /// No request is sent from here on.
    pub until: Instant,
}

/// What one worker measured.
pub struct WorkerOutcome {
    /// Latencies of the successful measured requests, in nanoseconds.
    pub latencies: Histogram<u64>,
    /// Failed requests and connection attempts, warm-up included.
    pub errors: u64,
    /// What went wrong first, if anything did.
    pub first_error: Option<String>,
    /// When its last request completed.
    pub finished: Instant,
}

/// An empty latency histogram (nanoseconds, up to a minute, 3 significant digits).
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NANOS, SIGNIFICANT_DIGITS)
        .context("creating the latency histogram")
}

/// Sends requests on one connection from `schedule.start` until `schedule.until`,
/// reconnecting after a failure.
pub async fn run(call: Arc<EchoCall>, schedule: Schedule) -> anyhow::Result<WorkerOutcome> {
    let mut outcome = WorkerOutcome {
        latencies: new_histogram()?,
        errors: 0,
        first_error: None,
        finished: schedule.measure_from,
    };
    tokio::time::sleep_until(schedule.start).await;
    let mut connection: Option<Connection> = None;
    while Instant::now() < schedule.until {
        let sender = match connection.as_mut() {
            Some(sender) => sender,
            None => match connect(call.authority()).await {
                Ok(sender) => connection.insert(sender),
                Err(error) => {
                    record_error(&mut outcome, format!("connect: {error:#}"));
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        let sent = Instant::now();
        let result = exchange(sender, &call).await;
        let done = Instant::now();
        outcome.finished = done;
        match result {
            Ok(()) if sent >= schedule.measure_from => {
                let nanos = u64::try_from(done.duration_since(sent).as_nanos()).unwrap_or(u64::MAX);
                outcome.latencies.saturating_record(nanos.max(1));
            }
            Ok(()) => {}
            Err(error) => {
                record_error(&mut outcome, error);
                connection = None;
            }
        }
    }
    Ok(outcome)
}

/// Counts an error and keeps the first message.
fn record_error(outcome: &mut WorkerOutcome, error: String) {
    outcome.errors += 1;
    outcome.first_error.get_or_insert(error);
}

/// Opens a keep-alive HTTP/1.1 connection with TCP_NODELAY.
async fn connect(authority: &str) -> anyhow::Result<Connection> {
    let stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // A failure shows up on the next request sent through `sender`.
        let _closed = connection.await;
    });
    Ok(sender)
}

/// One request and its whole response, checked.
async fn exchange(sender: &mut Connection, call: &EchoCall) -> Result<(), String> {
    sender
        .ready()
        .await
        .map_err(|error| format!("connection: {error}"))?;
    let request = call.request().map_err(|error| format!("{error:#}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("request: {error}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| format!("response body: {error}"))?
        .to_bytes();
    check_response(
        parts.status,
        parts.headers.get(CONTENT_TYPE),
        &body,
        call.message(),
    )
}
