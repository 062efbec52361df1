//! `mcpgw policy check` and `mcpgw policy lint` on real files, offline, with their exit
//! statuses (0 allow or clean, 1 deny or warnings, 2 a file that cannot be used), and a
//! gateway that refuses to start on a broken scopes file.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

const SCOPES: &str = "\
group_mappings:
  analysts: [toolbox-read]
  empty: []
UI-Scopes:
  toolbox-read:
    list_service: [toolbox]
toolbox-read:
- server: toolbox
  methods: [initialize, tools/list, tools/call]
  tools: [echo, 'base64_*']
  deny: [base64_decode]
- server: weather
  methods: [tools/list]
";

/// Runs `mcpgw ARGS`, returning the whole output.
async fn mcpgw(args: &[&str]) -> Output {
    let command = Command::new(common::binary())
        .args(args)
        .env_remove("MCPGW_CONFIG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), command)
        .await
        .expect("mcpgw finished")
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn check_explains_each_decision_with_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "scopes.yml", SCOPES);
    // (arguments after `--scopes FILE`, exit status, what stdout or stderr must say)
    let cases: [(&str, i32, &str); 7] = [
        (
            "--groups analysts --server toolbox --method tools/call --tool base64_encode",
            0,
            "allow: allowed by scope 'toolbox-read' entry 1 (tools: base64_*)",
        ),
        (
            "--groups analysts --server toolbox --method tools/call --tool base64_encode",
            0,
            "scopes: toolbox-read",
        ),
        (
            "--groups analysts --server toolbox --method tools/call --tool base64_decode",
            1,
            "deny: denied by scope 'toolbox-read' entry 1",
        ),
        (
            "--groups nobody --server toolbox --method tools/list",
            1,
            "deny:",
        ),
        // Without groups, the scope claim is used, as for a token without groups.
        (
            "--scopes-claim toolbox-read --server toolbox --action list_service",
            0,
            "allow:",
        ),
        (
            "--scopes-claim toolbox-read --server weather --action list_service",
            1,
            "deny:",
        ),
        (
            "--groups analysts --server toolbox --action fly",
            2,
            "unknown action 'fly'",
        ),
    ];
    for (extra, status, says) in cases {
        let mut args = vec!["policy", "check", "--scopes", file.as_str()];
        args.extend(extra.split(' '));
        let output = mcpgw(&args).await;
        let shown = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert_eq!(output.status.code(), Some(status), "{extra}: {shown}");
        assert!(shown.contains(says), "{extra}: {shown}");
    }
}

#[tokio::test]
async fn lint_finds_mistakes_and_a_broken_file_is_named_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "scopes.yml", SCOPES);
    let lint = mcpgw(&["policy", "lint", &file, "--servers", "toolbox"]).await;
    assert_eq!(lint.status.code(), Some(1));
    let out = text(&lint.stdout);
    assert!(out.contains("group 'empty' is mapped to no scope"), "{out}");
    assert!(
        out.contains("entry 2 is about 'weather', which matches no registered server"),
        "{out}"
    );
    assert!(out.contains("2 warning(s)"), "{out}");

    let clean = write(
        dir.path(),
        "clean.yml",
        "group_mappings:\n  g: [s]\ns:\n- server: a\n  methods: [tools/list]\n",
    );
    let lint = mcpgw(&["policy", "lint", &clean]).await;
    assert_eq!(lint.status.code(), Some(0), "{}", text(&lint.stdout));

    let broken = write(
        dir.path(),
        "broken.yml",
        "s:\n  - server: a\n   methods: [x]\n",
    );
    for args in [
        vec!["policy", "lint", broken.as_str()],
        vec![
            "policy",
            "check",
            "--scopes",
            broken.as_str(),
            "--server",
            "a",
            "--method",
            "x",
        ],
    ] {
        let output = mcpgw(&args).await;
        assert_eq!(output.status.code(), Some(2));
        let err = text(&output.stderr);
        assert!(err.contains("line 3, column"), "{err}");
    }

    // The gateway does not start on it either, and says why in one line.
    let data = dir.path().join("data");
    let serve = mcpgw(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--scopes",
        &broken,
    ])
    .await;
    assert_eq!(serve.status.code(), Some(1));
    let err = text(&serve.stderr);
    let errors: Vec<&str> = err
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("invalid scopes file") && errors[0].contains("line 3"),
        "{err}"
    );
    assert!(text(&serve.stdout).is_empty(), "nothing listened");
}
