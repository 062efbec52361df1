//! The load-balancer example that ships in `deploy/nginx/mcpgw.conf`, run by a real nginx
//! (Debian's) in front of two replicas: a stateful session of the official Python SDK
//! works through it with its requests spread over both replicas, without affinity.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::agent::Agent;
use common::replicas::{Replicas, fresh_database};
use common::{TOKEN, http_server};
use serde_json::json;

/// nginx running the shipped example; stopped when dropped.
struct Nginx {
    child: tokio::process::Child,
    url: String,
    access_log: std::path::PathBuf,
}

impl Drop for Nginx {
    /// A graceful stop (SIGTERM to the master, which stops its workers): killing the master
    /// alone would leave its workers running.
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            for _ in 0..100 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.start_kill();
    }
}

/// The nginx binary (`MCPGW_TEST_NGINX`, set by scripts/test), per `test_dependency`.
fn nginx_binary() -> Option<String> {
    if let Ok(path) = std::env::var("MCPGW_TEST_NGINX") {
        return Some(path);
    }
    let installed = "/usr/sbin/nginx";
    if Path::new(installed).is_file() {
        return Some(installed.to_owned());
    }
    common::test_dependency("MCPGW_TEST_NGINX", |_| true, "nginx (Debian nginx-light)")
}

/// Starts nginx with `deploy/nginx/mcpgw.conf`, its upstream servers replaced by
/// `replicas` and its `listen` by a free loopback port; every other line as shipped.
async fn start_nginx(binary: &str, replicas: &[String], dir: &Path) -> Nginx {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/nginx/mcpgw.conf"
    ))
    .unwrap();
    let port = common::upstreams::unused_port().await;
    let mut servers_written = false;
    let mut config = String::new();
    for line in shipped.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("server 127.0.0.1:") && line.starts_with("    server ") {
            if !servers_written {
                for replica in replicas {
                    let address = replica.trim_start_matches("http://");
                    config.push_str(&format!("    server {address} max_fails=0;\n"));
                }
                servers_written = true;
            }
            continue;
        }
        if line == "    listen 8080;" {
            config.push_str(&format!("    listen 127.0.0.1:{port};\n"));
            continue;
        }
        config.push_str(line);
        config.push('\n');
    }
    assert!(servers_written, "the example has an upstream block to fill");
    std::fs::write(dir.join("mcpgw.conf"), config).unwrap();
    let access_log = dir.join("access.log");
    let root = dir.display();
    // The wrapper a distribution's nginx.conf would be: the example goes in `http {}`.
    // The log names the replica that served each request.
    let wrapper = format!(
        "user root;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log info;\n\
         daemon off;\nevents {{ worker_connections 256; }}\nhttp {{\n\
         log_format replicas '$request_method $uri $upstream_addr $status';\n\
         access_log {root}/access.log replicas;\n\
         client_body_temp_path {root}/body;\nproxy_temp_path {root}/proxy;\n\
         fastcgi_temp_path {root}/fastcgi;\nuwsgi_temp_path {root}/uwsgi;\nscgi_temp_path {root}/scgi;\n\
         include {root}/mcpgw.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), wrapper).unwrap();
    let config_path = dir.join("nginx.conf").display().to_string();
    let prefix = format!("{root}/");
    let error_log = format!("{root}/error.log");
    let checked = std::process::Command::new(binary)
        .args(["-t", "-c", &config_path, "-p", &prefix, "-e", &error_log])
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let child = tokio::process::Command::new(binary)
        .args(["-c", &config_path, "-p", &prefix, "-e", &error_log])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    common::replicas::until("nginx listens", Duration::from_secs(10), || async {
        common::client()
            .get(format!("{url}/livez"))
            .send()
            .await
            .is_ok_and(|response| response.status() == 200)
    })
    .await;
    Nginx {
        child,
        url,
        access_log,
    }
}

#[tokio::test]
async fn the_shipped_nginx_example_balances_a_stateful_session_without_affinity() {
    let Some(binary) = nginx_binary() else {
        return;
    };
    let Some(database) = fresh_database().await else {
        return;
    };
    let toolbox = common::upstreams::example("toolbox", false).await;
    let replicas = Replicas::start(2, &database, |launch| launch).await;
    replicas
        .at(0)
        .register_healthy(http_server("box", &toolbox.url))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let nginx = start_nginx(&binary, &replicas.urls(), dir.path()).await;

    for (path, tool) in [("/mcp", "box__echo"), ("/box/mcp", "echo")] {
        let url = format!("{}{path}", nginx.url);
        let Some(mut agent) = Agent::connect("http", "stateful", &url, TOKEN).await else {
            return;
        };
        for round in 0..6 {
            let message = format!("through nginx {round}");
            let answer = agent.call(tool, json!({"message": message})).await;
            assert_eq!(answer["ok"], true, "{answer}");
            assert!(
                answer["text"].as_str().unwrap().contains(&message),
                "{answer}"
            );
        }
    }
    let log = std::fs::read_to_string(&nginx.access_log).unwrap();
    for path in ["/mcp", "/box/mcp"] {
        let served: BTreeSet<&str> = log
            .lines()
            .filter(|line| line.starts_with(&format!("POST {path} ")))
            .filter_map(|line| line.split(' ').nth(2))
            .collect();
        assert_eq!(
            served.len(),
            2,
            "{path}: both replicas served: {served:?}\n{log}"
        );
    }
}
