//! HTTPS on the gateway's own listener: certificates made by `openssl` (a CA and a server
//! certificate it signed), a client that trusts only that CA, HSTS and the UI's security
//! headers on the answers, and a renewal picked up without a restart, while a broken
//! renewal leaves the served certificate as it was.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Launch;
use common::certs::{TestCa, der_of, openssl};

/// A client that trusts only the test CA and reports the server's certificate.
fn client_trusting(ca: &Path) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The certificate the server presented for `response`.
fn served_certificate(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

#[tokio::test]
async fn serves_https_with_hsts_and_picks_up_a_renewed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let ca = TestCa::new(&certs);
    let (cert, key) = (certs.join("server.pem"), certs.join("server.key"));
    ca.server_into(&cert, &key);
    let first = der_of(&cert);
    let config = dir.path().join("mcpgw.toml");
    // Paths relative to the config file, as its author sees them.
    std::fs::write(
        &config,
        "[tls]\ncert_file = \"certs/server.pem\"\nkey_file = \"certs/server.key\"\n",
    )
    .unwrap();
    let gw = Launch::quiet(&dir.path().join("data"))
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    assert!(gw.url.starts_with("https://127.0.0.1:"), "{}", gw.url);
    let client = client_trusting(&ca.cert());

    let health = client
        .get(format!("{}/health", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(served_certificate(&health), first);
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    // The UI's pages keep their policy, with HSTS.
    let login = client
        .get(format!("{}/login", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let csp = login.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(login.headers().contains_key("strict-transport-security"));

    // Plain HTTP on the HTTPS port gets nowhere.
    let plain = common::client()
        .get(gw.url.replace("https://", "http://") + "/health")
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    // A renewal: new key, new certificate, same CA. New connections get it.
    ca.server_into(&cert, &key);
    let second = der_of(&cert);
    assert_ne!(first, second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        // A new client: one that resumes its earlier TLS session is told that session's
        // certificate, not the one the server holds now.
        let client = client_trusting(&ca.cert());
        let response = client
            .get(format!("{}/livez", gw.url))
            .send()
            .await
            .unwrap();
        if served_certificate(&response) == second {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewal was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A broken renewal (a key that is not the certificate's) changes nothing.
    let stray = certs.join("stray.key");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-out",
        stray.to_str().unwrap(),
    ]);
    std::fs::rename(&stray, &key).unwrap();
    let log = std::fs::read_dir(gw.data_dir.clone())
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "stderr"))
        .expect("the gateway's log");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("TLS certificate not reloaded")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broken renewal was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = client_trusting(&ca.cert());
    let response = client
        .get(format!("{}/livez", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(served_certificate(&response), second);
}

#[tokio::test]
async fn a_start_with_unusable_certificate_files_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = common::start_refused(
        dir.path(),
        "[tls]\ncert_file = \"missing.pem\"\nkey_file = \"missing.key\"\n",
    )
    .await;
    assert!(
        stderr.contains("cannot read the TLS certificate chain from")
            && stderr.contains("missing.pem"),
        "{stderr}"
    );
    // Only one of the two files: refused before anything is read.
    let stderr = common::start_refused(dir.path(), "[tls]\ncert_file = \"server.pem\"\n").await;
    assert!(
        stderr.contains("tls needs both cert_file and key_file"),
        "{stderr}"
    );
}
