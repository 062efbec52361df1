use std::str::FromStr;

use tower_service::Service;

use super::*;

/// A policy closing loopback, so that `localhost` (whose addresses are known without
/// DNS) resolves only to denied addresses.
fn no_loopback() -> Arc<NetworkPolicy> {
    Arc::new(NetworkPolicy::new(["127.0.0.0/8", "::1/128"], [] as [&str; 0]).expect("valid"))
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("a URL")
}

#[tokio::test]
async fn the_hyper_resolver_keeps_allowed_addresses() {
    let mut resolver = GuardedResolver::new(Arc::new(NetworkPolicy::default()));
    let name = Name::from_str("localhost").expect("a name");
    let addresses: Vec<SocketAddr> = resolver.call(name).await.expect("resolves").collect();
    assert!(!addresses.is_empty());
    assert!(addresses.iter().all(|address| address.ip().is_loopback()));
}

#[tokio::test]
async fn the_hyper_resolver_fails_with_the_denial_when_nothing_is_left() {
    let mut resolver = GuardedResolver::new(no_loopback());
    let name = Name::from_str("localhost").expect("a name");
    let error = resolver.call(name).await.expect_err("denied");
    assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    let message = error.to_string();
    assert!(message.contains("'localhost'"), "{message}");
    assert!(message.contains("deny_networks"), "{message}");
    let denied = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Denied>())
        .expect("the denial inside");
    assert!(denied.address.is_loopback());
}

#[tokio::test]
async fn the_reqwest_resolver_filters_the_same_way() {
    use reqwest::dns::Resolve;
    let allowed = GuardedResolver::new(Arc::new(NetworkPolicy::default()));
    let name = reqwest::dns::Name::from_str("localhost").expect("a name");
    assert!(
        allowed
            .resolve(name)
            .await
            .expect("resolves")
            .next()
            .is_some()
    );
    let denied = GuardedResolver::new(no_loopback());
    let name = reqwest::dns::Name::from_str("localhost").expect("a name");
    let error = denied.resolve(name).await.err().expect("denied");
    assert!(error.to_string().contains("'localhost'"), "{error}");
}

#[tokio::test]
async fn registration_refuses_denied_literals_and_names() {
    let defaults = NetworkPolicy::default();
    let denied = defaults
        .check_url_resolved(&url("http://169.254.169.254/latest/meta-data"))
        .await
        .expect_err("metadata address");
    assert_eq!(denied.network.to_string(), "169.254.0.0/16");
    let denied = defaults
        .check_url_resolved(&url("http://[fd00:ec2::254]/mcp"))
        .await
        .expect_err("IMDS v6");
    assert_eq!(denied.network.to_string(), "fd00:ec2::254/128");
    let denied = defaults
        .check_url_resolved(&url("http://[::ffff:a9fe:a9fe]/mcp"))
        .await
        .expect_err("mapped metadata address");
    assert_eq!(denied.network.to_string(), "169.254.0.0/16");

    let denied = no_loopback()
        .check_url_resolved(&url("http://localhost:9/mcp"))
        .await
        .expect_err("loopback closed");
    assert_eq!(denied.host.as_deref(), Some("localhost"));
}

#[tokio::test]
async fn registration_accepts_allowed_and_unresolvable_names() {
    let defaults = NetworkPolicy::default();
    for allowed in [
        "http://127.0.0.1:9/mcp",
        "http://localhost:9/mcp",
        "http://[::1]:9/mcp",
        "http://10.1.2.3/mcp",
        // `.invalid` never resolves: accepted now, checked when it connects.
        "http://not-registered.invalid/mcp",
    ] {
        assert_eq!(
            defaults.check_url_resolved(&url(allowed)).await,
            Ok(()),
            "{allowed}"
        );
    }
}

#[test]
fn url_checks_look_at_literals_only() {
    let defaults = NetworkPolicy::default();
    assert!(defaults.check_url(&url("http://169.254.169.254/")).is_err());
    assert!(defaults.check_url(&url("http://[fe80::1]/")).is_err());
    // WHATWG URL parsing turns these spellings into the address they mean.
    assert!(defaults.check_url(&url("http://0xa9fea9fe/")).is_err());
    assert!(defaults.check_url(&url("http://2852039166/")).is_err());
    assert_eq!(defaults.check_url(&url("http://metadata.example/")), Ok(()));
}
