//! Connection workers: every accepted connection is served, for its whole life, by one of
//! a few threads, each running its own single-threaded tokio runtime.
//!
//! Why: the gateway reads a request's body before forwarding it, and hyper delivers the
//! body by waking the connection's own task. On a work-stealing runtime that self-wake lets
//! an idle worker steal the task, so each request pays a cross-thread hand-off (a futex
//! wake, a context switch, cold caches: 10–40 µs on a 2-core machine, see
//! `bench/RESULTS.md`). On a single-threaded runtime there is nobody to steal it. The
//! accept loop hands connections out round-robin; the control plane (registry, health
//! checks) stays on the main runtime.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::{self, App, ConnectionPermit, OpenConnections, ServeOptions};

/// An accepted connection on its way to a worker, with its place under the cap.
type Accepted = (std::net::TcpStream, ConnectionPermit);

/// Period of each runtime's timer heartbeat; see [`timer_heartbeat`].
const HEARTBEAT: Duration = Duration::from_millis(500);

/// How long the accept loop pauses after an accept error (out of file descriptors, say)
/// instead of spinning on it.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The running workers.
pub struct Workers {
    threads: Vec<std::thread::JoinHandle<()>>,
    /// With `io_threads = 0`: the server task on the main runtime.
    shared: Option<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` workers serving `app` as `options` say, and the loop that accepts
    /// connections on `listener` and deals them out (`count` 0: connections are served on
    /// the main runtime). `graceful` stops accepting and lets open connections finish;
    /// `abort` ends them.
    pub fn start<S>(
        count: usize,
        listener: TcpListener,
        app: S,
        options: ServeOptions,
        graceful: CancellationToken,
        abort: CancellationToken,
    ) -> anyhow::Result<Workers>
    where
        S: App,
    {
        let options = Arc::new(options);
        let connections = OpenConnections::new(options.limits.max_connections);
        let mut senders = Vec::with_capacity(count.max(1));
        if count == 0 {
            let (sender, incoming) = mpsc::unbounded_channel();
            senders.push(sender);
            tokio::spawn(timer_heartbeat());
            let shared = tokio::spawn(serve_handed(
                incoming,
                app,
                options.clone(),
                graceful.clone(),
                abort,
            ));
            tokio::spawn(accept_loop(
                listener,
                senders,
                connections,
                options,
                graceful,
            ));
            return Ok(Workers {
                threads: Vec::new(),
                shared: Some(shared),
            });
        }
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let (sender, incoming) = mpsc::unbounded_channel();
            senders.push(sender);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start a connection worker runtime")?;
            let (app, options, graceful, abort) = (
                app.clone(),
                options.clone(),
                graceful.clone(),
                abort.clone(),
            );
            let thread = std::thread::Builder::new()
                .name(format!("mcpgw-io-{index}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        tokio::spawn(timer_heartbeat());
                        serve_handed(incoming, app, options, graceful, abort).await;
                    });
                    // Dropping the runtime here drops every connection it still served.
                })
                .context("cannot start a connection worker thread")?;
            threads.push(thread);
        }
        tokio::spawn(accept_loop(
            listener,
            senders,
            connections,
            options,
            graceful,
        ));
        Ok(Workers {
            threads,
            shared: None,
        })
    }

    /// Waits until every worker has stopped.
    pub async fn join(self) {
        if let Some(shared) = self.shared {
            let _ = shared.await;
        }
        let _ = tokio::task::spawn_blocking(move || {
            for thread in self.threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

/// Keeps a short timer pending on the runtime it runs on, forever.
///
/// Why: every request arms a first-byte timeout (minutes long). tokio wakes its driver
/// through an eventfd whenever a newly armed timer expires earlier than anything the driver
/// waits for, so on a runtime with no other timer each request paid a `write` to the eventfd
/// and an extra `epoll_wait` round (measured with `perf`: one wake per request). With this
/// heartbeat pending, the driver always wakes within [`HEARTBEAT`], a request's timeout is
/// never the earliest, and arming it is a wheel insert with no syscall. The cost is two
/// wake-ups a second per runtime.
async fn timer_heartbeat() {
    let mut ticks = tokio::time::interval(HEARTBEAT);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
    }
}

/// Serves the connections handed to this worker, each on a task of its own, until
/// `graceful`; then asks the open ones to close once their requests are answered and
/// waits for them, unless `abort` ends the wait.
async fn serve_handed<S>(
    mut incoming: mpsc::UnboundedReceiver<Accepted>,
    app: S,
    options: Arc<ServeOptions>,
    graceful: CancellationToken,
    abort: CancellationToken,
) where
    S: App,
{
    let connections = TaskTracker::new();
    // This worker's own token: every wake of a connection polls it, and a token shared
    // by all workers would make them contend for its lock on every wake.
    let drain = graceful.child_token();
    let protocol = server::connection::protocol(&options.limits);
    loop {
        let accepted = tokio::select! {
            accepted = incoming.recv() => accepted,
            () = graceful.cancelled() => None,
        };
        let Some((stream, permit)) = accepted else {
            break;
        };
        let Ok(stream) = TcpStream::from_std(stream) else {
            continue;
        };
        let (app, options, protocol, drain) = (
            app.clone(),
            Arc::clone(&options),
            protocol.clone(),
            drain.clone(),
        );
        connections.spawn(async move {
            server::serve_connection(stream, permit, app, &options, protocol, drain).await;
        });
    }
    connections.close();
    tokio::select! {
        () = connections.wait() => {}
        () = abort.cancelled() => {}
    }
}

/// Accepts connections until `graceful` fires and deals them out round-robin; one over
/// the connection cap is turned away at once.
async fn accept_loop(
    listener: TcpListener,
    workers: Vec<mpsc::UnboundedSender<Accepted>>,
    connections: Arc<OpenConnections>,
    options: Arc<ServeOptions>,
    graceful: CancellationToken,
) {
    let mut next = 0usize;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = graceful.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Some(permit) = connections.try_open() else {
            tracing::debug!(
                open = connections.open(),
                "connection refused: too many open"
            );
            if options.tls.is_none() {
                tokio::spawn(server::limits::reject_over_capacity(stream));
            }
            continue;
        };
        // Small JSON-RPC messages and SSE events must not wait for Nagle's algorithm.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a client connection");
        }
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        if let Some(worker) = workers.get(next % workers.len()) {
            let _ = worker.send((stream, permit));
        }
        next = next.wrapping_add(1);
    }
}
