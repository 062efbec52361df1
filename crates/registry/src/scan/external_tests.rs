use std::time::Duration;

use super::*;
use crate::scan::test_support::{server, tool};

fn scanner(script: &str, timeout: Duration) -> ExternalScanner {
    ExternalScanner {
        command: vec!["sh".into(), "-c".into(), script.into()],
        timeout,
    }
}

async fn run(script: &str) -> Vec<Finding> {
    let tools = [tool("add", "Adds.")];
    let mut svc = server("svc", tools.to_vec());
    svc.url = Some("http://user:secret@127.0.0.1:9/mcp".into());
    scanner(script, Duration::from_secs(30))
        .run(&svc, &tools)
        .await
}

#[tokio::test]
async fn findings_are_read_and_severities_mapped() {
    let found = run(r#"cat >/dev/null; echo '{"findings": [
        {"tool": "add", "severity": "HIGH", "rule": "yara", "message": "bad"},
        {"tool": "add", "severity": "critical", "message": "worse"},
        {"severity": "info", "rule": "x", "message": "fyi"},
        {"tool": "add", "severity": "SAFE", "message": "fine"}]}'"#)
    .await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].rule, "external:yara");
    assert_eq!(found[0].severity, Severity::High);
    assert_eq!(found[0].tool.as_deref(), Some("add"));
    assert_eq!(found[1].rule, "external:finding");
    assert_eq!(found[1].severity, Severity::High);
    assert_eq!(
        (found[2].severity, found[2].tool.as_deref()),
        (Severity::Low, None)
    );
}

#[tokio::test]
async fn the_scanner_reads_the_tools_and_server_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.json");
    let script = format!("cat > '{}'; echo '{{\"findings\": []}}'", file.display());
    assert!(run(&script).await.is_empty());
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(input["server"]["path"], "svc");
    assert_eq!(input["server"]["transport"], "streamable-http");
    assert_eq!(input["tools"][0]["name"], "add");
    assert_eq!(input["tools"][0]["inputSchema"]["type"], "object");
    let url = input["server"]["url"].as_str().unwrap();
    assert!(!url.contains("secret") && url.contains("user"), "{url}");
}

fn failed(found: &[Finding]) -> &str {
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, "scanner-failed");
    assert_eq!(found[0].severity, Severity::Medium);
    &found[0].message
}

#[tokio::test]
async fn failures_are_one_medium_finding() {
    let found = run("echo 'scanner exploded' >&2; exit 3").await;
    let message = failed(&found);
    assert!(
        message.starts_with("scanner failed:") && message.contains("scanner exploded"),
        "{message}"
    );
    let found = run("echo not json").await;
    assert!(failed(&found).contains("not {\"findings\""));
    let found = run(r#"echo '{"findings": [{"severity": "dire", "message": "x"}]}'"#).await;
    assert!(failed(&found).contains("unknown severity"));
    let missing = ExternalScanner {
        command: vec!["/nonexistent/mcp-scanner".into()],
        timeout: Duration::from_secs(5),
    };
    let tools = [tool("add", "Adds.")];
    let found = missing.run(&server("svc", tools.to_vec()), &tools).await;
    assert!(failed(&found).contains("cannot start"));
}

#[tokio::test]
async fn a_hung_scanner_is_killed() {
    let tools = [tool("add", "Adds.")];
    let found = scanner("sleep 600", Duration::from_millis(300))
        .run(&server("svc", tools.to_vec()), &tools)
        .await;
    assert!(failed(&found).contains("no answer within"));
}

#[tokio::test]
async fn what_the_scanner_started_is_killed_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // A wrapper that leaves a grandchild behind and hangs past its timeout.
    let script = format!("sleep 600 & echo $! > '{}'; wait", pid_file.display());
    let tools = [tool("add", "Adds.")];
    let found = scanner(&script, Duration::from_millis(500))
        .run(&server("svc", tools.to_vec()), &tools)
        .await;
    assert!(failed(&found).contains("no answer within"));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SIGKILL was sent to the whole group; the grandchild is gone once reaped (by init,
    // its new parent), which this waits for.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the scanner's child {pid} outlived it"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn endless_output_is_refused_not_held() {
    // About 40 MiB of output: read and dropped past the bound, then refused.
    let found = run("cat >/dev/null; head -c 40000000 /dev/zero | tr '\\0' 'x'").await;
    assert!(
        failed(&found).contains(&format!("longer than {MAX_OUTPUT} bytes")),
        "{found:?}"
    );
}
