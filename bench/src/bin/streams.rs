//! `streams`: opens many server-sent event streams (`GET` on an SSE endpoint, e.g. the
//! aggregated legacy `/sse`) and holds them open for a while, reading whatever arrives.
//! Prints one JSON line: how many opened, how many failed to open, how many the server
//! closed early. Exits with status 2 when any stream failed or closed early: for the soak
//! test (`bench/soak.sh`), which needs them all open for the whole run.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use http::Uri;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Open and hold many SSE streams")]
struct Args {
    /// The SSE endpoint, e.g. http://127.0.0.1:8080/sse.
    #[arg(long)]
    url: Uri,
    /// How many streams.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// How many are being opened at once.
    #[arg(long, default_value_t = 100)]
    opening: usize,
    /// Seconds every stream is held after all are open.
    #[arg(long, default_value_t = 60.0)]
    hold_secs: f64,
    /// Bearer tokens to send, one per line, dealt to the streams in turn (the gateway
    /// caps the streams of one caller).
    #[arg(long)]
    tokens_file: std::path::PathBuf,
    /// Print `open N` to stderr once all streams are open (for the script to start the
    /// request load).
    #[arg(long)]
    announce: bool,
}

/// Counts shared by the stream tasks.
#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    failed: AtomicU64,
    closed_early: AtomicU64,
    bytes: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let authority = args
        .url
        .authority()
        .context("the URL needs a host")?
        .to_string();
    let path = args
        .url
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let tokens = std::fs::read_to_string(&args.tokens_file)
        .with_context(|| format!("reading {}", args.tokens_file.display()))?;
    let requests: Vec<Arc<str>> = tokens
        .lines()
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(|token| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: text/event-stream\r\n\
                 Authorization: Bearer {token}\r\n\r\n"
            )
            .into()
        })
        .collect();
    anyhow::ensure!(
        !requests.is_empty(),
        "no token in {}",
        args.tokens_file.display()
    );
    let counts = Arc::new(Counts::default());
    let opening = Arc::new(Semaphore::new(args.opening.max(1)));
    let all_open = Arc::new(tokio::sync::Barrier::new(args.count + 1));
    let release = Arc::new(tokio::sync::Notify::new());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.count);
    for index in 0..args.count {
        let (authority, request, counts, opening, all_open, release) = (
            authority.clone(),
            Arc::clone(&requests[index % requests.len()]),
            Arc::clone(&counts),
            Arc::clone(&opening),
            Arc::clone(&all_open),
            Arc::clone(&release),
        );
        tasks.push(tokio::spawn(async move {
            let permit = opening.acquire_owned().await;
            let stream = open(&authority, &request).await;
            drop(permit);
            let mut stream = match stream {
                Ok(stream) => {
                    counts.opened.fetch_add(1, Ordering::Relaxed);
                    Some(stream)
                }
                Err(error) => {
                    if counts.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("first failure to open: {error:#}");
                    }
                    None
                }
            };
            all_open.wait().await;
            let Some(stream) = stream.as_mut() else {
                return;
            };
            let mut buffer = [0u8; 2048];
            let released = release.notified();
            tokio::pin!(released);
            loop {
                tokio::select! {
                    () = &mut released => return,
                    read = stream.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => {
                            counts.closed_early.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        Ok(count) => {
                            counts.bytes.fetch_add(count as u64, Ordering::Relaxed);
                        }
                    },
                }
            }
        }));
    }
    all_open.wait().await;
    let open_secs = started.elapsed().as_secs_f64();
    if args.announce {
        eprintln!("open {}", counts.opened.load(Ordering::Relaxed));
    }
    tokio::time::sleep(Duration::try_from_secs_f64(args.hold_secs)?).await;
    release.notify_waiters();
    for task in tasks {
        let _ = task.await;
    }
    let failed = counts.failed.load(Ordering::Relaxed);
    let closed_early = counts.closed_early.load(Ordering::Relaxed);
    println!(
        "{}",
        json!({
            "streams": args.count,
            "opened": counts.opened.load(Ordering::Relaxed),
            "failed_to_open": failed,
            "closed_early": closed_early,
            "seconds_to_open_all": open_secs,
            "held_secs": args.hold_secs,
            "bytes_received": counts.bytes.load(Ordering::Relaxed),
        })
    );
    Ok(if failed == 0 && closed_early == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Opens one stream: sends the request and reads until the head says `200` with an event
/// stream and the first event has arrived.
async fn open(authority: &str, request: &str) -> anyhow::Result<TcpStream> {
    let mut stream = tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(authority))
        .await
        .context("connect timed out")??;
    stream.set_nodelay(true)?;
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count = tokio::time::timeout_at(deadline, stream.read(&mut buffer))
            .await
            .context("no answer within 30 s")??;
        anyhow::ensure!(count > 0, "closed before the first event");
        head.extend_from_slice(&buffer[..count]);
        let text = String::from_utf8_lossy(&head);
        if !text.starts_with("HTTP/1.1 200") && text.contains("\r\n") {
            anyhow::bail!("{}", text.lines().next().unwrap_or_default());
        }
        // The head, then the first event (blank line after it).
        if let Some((_, body)) = text.split_once("\r\n\r\n")
            && (body.contains("\n\n") || body.contains("\r\n\r\n"))
        {
            return Ok(stream);
        }
        anyhow::ensure!(head.len() < 64 * 1024, "no event in the first 64 KiB");
    }
}
