//! The official Python SDK as an agent of the aggregated endpoint, driven one step at a
//! time (`tests/python/aggregate_client.py`): the test can change the world (register a
//! server, restart an upstream) between two steps of one open client session.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// One running client session; killed when dropped.
pub struct Agent {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Agent {
    /// Connects with `transport` (`http` or `sse`) in `era` (`stateful` or `stateless`)
    /// to `url` with `token`. `None` (skip) outside the test script, an error under CI.
    pub async fn connect(transport: &str, era: &str, url: &str, token: &str) -> Option<Agent> {
        let python = super::python()?;
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/aggregate_client.py"
        );
        let mut child = Command::new(python)
            .args([script, transport, era, url, token])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut agent = Agent {
            _child: child,
            stdin,
            lines,
        };
        let ready = agent.read().await;
        assert_eq!(ready["listening"], true, "{ready}");
        Some(agent)
    }

    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(90), self.lines.next_line())
            .await
            .expect("the agent answered in time")
            .unwrap()
            .expect("the agent is still running (see its stderr above)");
        serde_json::from_str(&line).unwrap()
    }

    /// Runs one step and returns the agent's answer.
    pub async fn step(&mut self, command: Value) -> Value {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.read().await
    }

    /// The names of the tools it is offered.
    pub async fn tools(&mut self) -> Vec<String> {
        let listed = self.step(json!({"op": "list"})).await;
        serde_json::from_value(listed["tools"].clone()).unwrap()
    }

    /// Calls `name` with `arguments`.
    pub async fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.step(json!({"op": "call", "name": name, "arguments": arguments}))
            .await
    }

    /// Whether a tools/list_changed notification arrived (waiting up to `seconds`).
    pub async fn list_changed(&mut self, seconds: u64) -> bool {
        let answer = self
            .step(json!({"op": "changed", "timeout": seconds}))
            .await;
        answer["changed"] == true
    }
}
