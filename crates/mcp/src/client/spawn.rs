//! Starting a stdio MCP server the one way mcpgw does it, for probes and for the data
//! plane alike: a clean environment (an allowlist plus the server's own variables), piped
//! stdio, and a process group of its own so that everything it starts can be stopped.

use std::process::Stdio;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::ProbeError;
use super::process_group::{ProcessGroup, Signal};
use super::process_slots::{ProcessSlot, take_slot};
use super::stdio_env;

/// A freshly started server process and its pipes.
pub struct ServerProcess {
    /// The direct child (the group leader).
    pub child: Child,
    /// Its standard input.
    pub stdin: ChildStdin,
    /// Its standard output.
    pub stdout: ChildStdout,
    /// Its standard error.
    pub stderr: ChildStderr,
    /// Its process group.
    pub group: GroupHandle,
    /// Its place under the cap on stdio processes: keep it until the process is gone.
    pub slot: ProcessSlot,
}

/// Stops a server's whole process group (the server and whatever it started).
#[derive(Debug, Clone, Copy)]
pub struct GroupHandle(pub(crate) Option<ProcessGroup>);

impl GroupHandle {
    /// The group led by `child`, which was spawned with `process_group(0)` (any other
    /// command that must be stopped with everything it starts, e.g. the external tool
    /// scanner, is spawned that way too).
    pub fn led_by(child: &Child) -> GroupHandle {
        GroupHandle(child.id().and_then(ProcessGroup::led_by))
    }

    /// Asks every process of the group to stop (`SIGTERM`).
    pub fn terminate(&self) -> bool {
        self.0.is_some_and(|group| group.signal(Signal::Terminate))
    }

    /// Stops every process of the group at once (`SIGKILL`).
    pub fn kill(&self) -> bool {
        self.0.is_some_and(|group| group.signal(Signal::Kill))
    }

    /// True while any process of the group is alive.
    pub fn is_alive(&self) -> bool {
        self.0.is_some_and(ProcessGroup::is_alive)
    }
}

/// Starts `command` with the allowlisted part of the gateway's environment plus `env`, as
/// the leader of a new process group.
pub fn spawn_server(
    command: &str,
    args: &[String],
    env: &[(String, String)],
) -> Result<ServerProcess, ProbeError> {
    let slot = take_slot()?;
    let mut child = Command::new(command)
        .args(args)
        .env_clear()
        .envs(stdio_env::inherited())
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| ProbeError::Spawn(format!("{command}: {error}")))?;
    let group = GroupHandle::led_by(&child);
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        group.kill();
        return Err(ProbeError::Spawn(format!("{command}: pipes unavailable")));
    };
    Ok(ServerProcess {
        child,
        stdin,
        stdout,
        stderr,
        group,
        slot,
    })
}
