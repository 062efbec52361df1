//! A PostgreSQL server of one test's own, on loopback in a temporary directory: a test may
//! stop and restart it (a database outage) or serve it over TLS without disturbing the
//! shared test server. Stopped (immediately) when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The PostgreSQL binaries (the newest installed major version), if PostgreSQL is
/// installed; under CI its absence is an error.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

/// Whether this process runs as root (initdb refuses to; the `postgres` user runs it).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

/// A private PostgreSQL server.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `postgres://mcpgw@127.0.0.1:<port>/postgres`.
    pub url: String,
    /// With TLS: the certificate clients verify the server with.
    pub ca: Option<PathBuf>,
}

impl PrivatePostgres {
    /// Initialises and starts a server; `None` locally without PostgreSQL installed.
    pub async fn start(tls: bool) -> Option<PrivatePostgres> {
        let Some(bin) = binaries() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL must be installed in CI"
            );
            eprintln!("PostgreSQL not installed: skipping (run scripts/test)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("mcpgw-pg-")
            .tempdir()
            .unwrap();
        if is_root() {
            run(
                "chown",
                &["-R", "postgres", &dir.path().display().to_string()],
            );
        }
        let port = super::upstreams::unused_port().await;
        let data = dir.path().join("data");
        let pg = PrivatePostgres {
            url: format!("postgres://mcpgw@127.0.0.1:{port}/postgres"),
            ca: None,
            dir,
            bin,
            port,
        };
        pg.as_postgres(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "mcpgw",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        let pg = if tls { pg.with_tls() } else { pg };
        pg.start_again();
        Some(pg)
    }

    /// A test certificate authority, a certificate it signed for 127.0.0.1, and `ssl = on`.
    fn with_tls(mut self) -> Self {
        let data = self.dir.path().join("data");
        let file = |name: &str| self.dir.path().join(name).display().to_string();
        let (ca_key, ca) = (file("ca.key"), file("ca.crt"));
        let (key, csr, cert) = (
            data.join("server.key").display().to_string(),
            file("server.csr"),
            data.join("server.crt").display().to_string(),
        );
        let extensions = file("server.ext");
        std::fs::write(
            &extensions,
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n\
             keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
        )
        .unwrap();
        #[rustfmt::skip]
        run("openssl", &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=mcpgw test CA", "-keyout", &ca_key, "-out", &ca]);
        #[rustfmt::skip]
        run("openssl", &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", &key, "-out", &csr]);
        #[rustfmt::skip]
        run("openssl", &["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key,
            "-CAcreateserial", "-days", "1", "-extfile", &extensions, "-out", &cert]);
        let config = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&config, text).unwrap();
        if is_root() {
            run("chown", &["postgres", &key, &cert]);
        }
        run("chmod", &["600", &key]);
        self.ca = Some(PathBuf::from(ca));
        self
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.dir.path().join("data").display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.as_postgres(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-o", &options, "start"],
        );
    }

    /// Stops the server as an operator restarting it would (`pg_ctl stop -m fast`: open
    /// connections are cut).
    pub fn stop(&self) {
        let data = self.dir.path().join("data").display().to_string();
        self.as_postgres("pg_ctl", &["-D", &data, "-w", "-m", "fast", "stop"]);
    }

    /// Runs one of the server's programs as the user that owns the data directory.
    fn as_postgres(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program).display().to_string();
        if is_root() {
            let mut all = vec!["-u", "postgres", "--", program.as_str()];
            all.extend_from_slice(args);
            run("runuser", &all);
        } else {
            run(&program, args);
        }
    }

    /// The server's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let program = self.bin.join("pg_ctl").display().to_string();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--", &program])
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        };
    }
}

/// Runs `program` and panics with its output if it fails.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
