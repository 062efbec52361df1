//! The probe sequence for a stdio server, as the 2026-07-28 stdio transport describes it:
//! `server/discover` first; `initialize` if the server refuses it or stays silent.
//!
//! Silence is judged after a short grace period, but a cold start (`npx -y` downloading a
//! package) can take longer than that. The discover request is therefore still listened
//! for while `initialize` is outstanding: if its successful reply arrives late, the server
//! is modern after all and is probed as such.

use std::time::Duration;

use serde_json::{Value, json};

use super::handshake::{self, Discovery, RpcChannel};
use super::stdio::StdioChannel;
use super::{ProbeError, ProbeOptions, ProbeReport, within_deadline};
use crate::version::{self, Era};

/// How long a server may stay silent on `server/discover` before `initialize` is tried.
const DISCOVER_GRACE: Duration = Duration::from_secs(2);

/// Probes a stdio server: start it, detect its era and list its tools within the probe
/// deadline, then stop it (after the deadline, bounded on its own).
pub(crate) async fn probe_stdio(
    command: &str,
    args: &[String],
    env: &[(String, String)],
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let mut channel = StdioChannel::spawn(command, args, env)?;
    let result = within_deadline(options, probe_channel(&mut channel, options)).await;
    channel.shutdown().await;
    result
}

async fn probe_channel(
    channel: &mut StdioChannel,
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let meta = handshake::stateless_meta(options);
    let discover_id = channel
        .request("server/discover", json!({ "_meta": meta }))
        .await?;
    let grace = DISCOVER_GRACE.min(options.timeout / 3);
    // The discover request still awaiting a reply, once the grace period is over.
    let mut pending_discover = None;
    match tokio::time::timeout(grace, channel.wait_for(&[discover_id])).await {
        Ok(reply) => {
            let (_, reply) = reply?;
            match handshake::read_discovery(reply)? {
                Discovery::Modern(report) => return list_modern(channel, report, meta).await,
                Discovery::Legacy(reason) => {
                    tracing::debug!(%reason, "no stateless era; falling back to initialize");
                }
            }
        }
        Err(_) => {
            tracing::debug!("server/discover unanswered; trying initialize, still listening");
            pending_discover = Some(discover_id);
        }
    }

    let params = handshake::initialize_params(options, version::STATEFUL_LATEST);
    let initialize_id = channel.request("initialize", params).await?;
    let reply = loop {
        let waited = match pending_discover {
            Some(discover_id) => channel.wait_for(&[initialize_id, discover_id]).await?,
            None => channel.wait_for(&[initialize_id]).await?,
        };
        match waited {
            (id, reply) if id == initialize_id => break reply,
            (_, late) => {
                pending_discover = None;
                if let Ok(Discovery::Modern(report)) = handshake::read_discovery(late) {
                    tracing::debug!("late server/discover reply: the server is modern");
                    return list_modern(channel, report, meta).await;
                }
            }
        }
    };
    let mut report = handshake::read_initialize(reply, Era::Stateful)?;
    handshake::confirm_initialized(channel, &report).await?;
    report.tools = handshake::list_tools(channel, None).await?;
    Ok(report)
}

/// Completes the probe of a modern server: every tool, with `_meta` on each request.
async fn list_modern<C: RpcChannel>(
    channel: &mut C,
    mut report: ProbeReport,
    meta: Value,
) -> Result<ProbeReport, ProbeError> {
    report.tools = handshake::list_tools(channel, Some(meta)).await?;
    Ok(report)
}

#[cfg(test)]
#[path = "stdio_tests.rs"]
mod tests;
