//! mcpgw's data-plane benchmark: how much latency and throughput the gateway costs on top
//! of the physical floor of one extra HTTP hop on the same machine.
//!
//! Three binaries share this library:
//! * `loadgen` ([`loadgen`]): sends one small stateless `tools/call` over keep-alive
//!   HTTP/1.1 connections at a fixed concurrency and reports latency percentiles and
//!   throughput as one JSON line;
//! * `passthrough` ([`passthrough`]): a bare hyper proxy that forwards every request to
//!   one upstream and streams the answer back, doing nothing else — the floor;
//! * `report` ([`report`]): aggregates the runs of `bench/run.sh` (median across rounds),
//!   checks the targets and writes the JSON result and a markdown table.
//!
//! Nothing here is used by the gateway itself.

pub mod loadgen;
pub mod passthrough;
pub mod report;
