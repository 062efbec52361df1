use super::*;
use http::HeaderValue;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn laptop() -> OriginPolicy {
    OriginPolicy::new(None, true, &[], &[])
}

#[test]
fn clients_that_are_not_browsers_pass() {
    let policy = laptop();
    assert!(
        policy
            .check(None, &headers(&[("host", "127.0.0.1:7860")]))
            .is_ok()
    );
    assert!(
        policy
            .check(None, &headers(&[("host", "localhost:7860")]))
            .is_ok()
    );
    assert!(
        policy
            .check(None, &headers(&[("host", "[::1]:7860")]))
            .is_ok()
    );
    assert!(
        policy
            .check(Some("10.0.0.5:7860"), &HeaderMap::new())
            .is_ok()
    );
}

#[test]
fn a_rebound_name_is_refused_on_loopback() {
    let policy = laptop();
    let rebound = headers(&[("host", "evil.example:7860")]);
    assert_eq!(
        policy.check(None, &rebound),
        Err(OriginRefusal::Host("evil.example:7860".into()))
    );
    // A POST from the rebound page also names its origin.
    let post = headers(&[
        ("host", "evil.example:7860"),
        ("origin", "http://evil.example:7860"),
    ]);
    assert!(matches!(
        policy.check(None, &post),
        Err(OriginRefusal::Origin(_))
    ));
    // No Host at all is refused too when the check is on.
    assert!(policy.check(None, &HeaderMap::new()).is_err());
}

#[test]
fn pages_of_other_sites_are_refused_even_with_a_good_host() {
    let policy = laptop();
    for origin in [
        "https://evil.example",
        "null",
        "file://",
        "http://127.0.0.1.evil.example",
    ] {
        let request = headers(&[("host", "127.0.0.1:7860"), ("origin", origin)]);
        assert!(policy.check(None, &request).is_err(), "{origin}");
    }
    for origin in [
        "http://localhost:3000",
        "http://127.0.0.1:7860",
        "http://[::1]:8080",
        "http://app.localhost",
    ] {
        let request = headers(&[("host", "127.0.0.1:7860"), ("origin", origin)]);
        assert!(policy.check(None, &request).is_ok(), "{origin}");
    }
}

#[test]
fn public_url_and_configured_names_are_accepted() {
    let policy = OriginPolicy::new(
        Some("https://MCP.example.com/"),
        false,
        &["https://app.example.com".into()],
        &["mcpgw.default.svc".into()],
    );
    let public = headers(&[
        ("host", "mcp.example.com"),
        ("origin", "https://mcp.example.com"),
    ]);
    assert!(policy.check(None, &public).is_ok());
    let app = headers(&[
        ("host", "mcpgw.default.svc:7860"),
        ("origin", "https://app.example.com/"),
    ]);
    assert!(policy.check(None, &app).is_ok());
    let other = headers(&[("host", "other.example.com")]);
    assert!(matches!(
        policy.check(None, &other),
        Err(OriginRefusal::Host(_))
    ));
    let http_origin = headers(&[
        ("host", "mcp.example.com"),
        ("origin", "http://mcp.example.com"),
    ]);
    assert!(
        policy.check(None, &http_origin).is_err(),
        "the scheme is part of the origin"
    );
}

#[test]
fn a_shared_deployment_checks_host_only_when_configured() {
    let policy = OriginPolicy::new(None, false, &[], &[]);
    assert!(
        policy
            .check(None, &headers(&[("host", "mcpgw.internal:7860")]))
            .is_ok()
    );
    let browser = headers(&[
        ("host", "mcpgw.internal"),
        ("origin", "https://evil.example"),
    ]);
    assert!(
        policy.check(None, &browser).is_err(),
        "Origin is always checked"
    );
    let any = OriginPolicy::new(None, true, &["*".into()], &["*".into()]);
    assert!(any.check(None, &browser).is_ok());
}

#[test]
fn a_public_url_with_a_path_and_default_ports_are_understood() {
    let policy = OriginPolicy::new(
        Some("https://mcp.example.com/gateway/"),
        true,
        &["https://app.example.com:443".into()],
        &[],
    );
    let public = headers(&[
        ("host", "mcp.example.com"),
        ("origin", "https://mcp.example.com"),
    ]);
    assert!(policy.check(None, &public).is_ok());
    let app = headers(&[
        ("host", "mcp.example.com"),
        ("origin", "https://app.example.com"),
    ]);
    assert!(policy.check(None, &app).is_ok());
    let explicit = headers(&[
        ("host", "mcp.example.com"),
        ("origin", "https://mcp.example.com:443"),
    ]);
    assert!(policy.check(None, &explicit).is_ok());
}

#[test]
fn origins_are_normalised() {
    assert_eq!(
        normalise_origin(" HTTPS://App.Example.com/ ").as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(normalise_origin("null"), None);
    assert_eq!(normalise_origin("https://a.example/path"), None);
    assert_eq!(normalise_origin("ftp://a.example"), None);
    assert_eq!(normalise_origin("https://user@a.example"), None);
}
