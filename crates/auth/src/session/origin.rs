//! Where a request comes from, for CSRF protection of cookie-authenticated requests.
//!
//! Browsers tell: every modern browser sends `Sec-Fetch-Site` on every request and
//! `Origin` on every cross-origin one (the approach of Go's `CrossOriginProtection`).
//! A request with neither comes from a script or a command-line client, which a
//! malicious page cannot drive: it cannot be a cross-site request forgery.

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// `Sec-Fetch-Site`.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Where a request was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Not by a browser (no `Sec-Fetch-Site`, no `Origin`).
    NotBrowser,
    /// By a browser, from a page of the gateway itself (or typed in the address bar).
    SameOrigin,
    /// By a browser, from another site's page: never allowed to change anything.
    CrossOrigin,
}

/// Where the request with `headers` was made. `public_origin` is the gateway's public
/// origin (`https://mcp.example.com`) when configured; otherwise `Origin` is compared with
/// the request's `Host`.
pub fn provenance(headers: &HeaderMap, public_origin: Option<&str>) -> Provenance {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Provenance::SameOrigin,
            _ => Provenance::CrossOrigin,
        };
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|value| value.to_str().ok()) else {
        return Provenance::NotBrowser;
    };
    let origin = origin.trim();
    if public_origin.is_some_and(|public| public.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return Provenance::SameOrigin;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(HOST).and_then(|value| value.to_str().ok());
    match (authority, host) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host.trim()) => {
            Provenance::SameOrigin
        }
        _ => Provenance::CrossOrigin,
    }
}

/// The origin (`scheme://host[:port]`) of a base URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{}://{authority}", scheme.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let same = headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://evil"),
        ]);
        assert_eq!(provenance(&same, None), Provenance::SameOrigin);
        for site in ["same-site", "cross-site", "junk"] {
            let mut map = headers(&[("host", "gw")]);
            map.insert(SEC_FETCH_SITE, HeaderValue::from_str(site).unwrap());
            assert_eq!(provenance(&map, None), Provenance::CrossOrigin, "{site}");
        }
    }

    #[test]
    fn origin_is_compared_with_host_or_the_public_origin() {
        let local = headers(&[
            ("origin", "http://127.0.0.1:7860"),
            ("host", "127.0.0.1:7860"),
        ]);
        assert_eq!(provenance(&local, None), Provenance::SameOrigin);
        let other_port = headers(&[
            ("origin", "http://127.0.0.1:9999"),
            ("host", "127.0.0.1:7860"),
        ]);
        assert_eq!(provenance(&other_port, None), Provenance::CrossOrigin);
        let proxied = headers(&[
            ("origin", "https://mcp.example.com"),
            ("host", "10.0.0.5:7860"),
        ]);
        assert_eq!(
            provenance(&proxied, Some("https://mcp.example.com")),
            Provenance::SameOrigin
        );
        assert_eq!(provenance(&proxied, None), Provenance::CrossOrigin);
        let opaque = headers(&[("origin", "null"), ("host", "gw")]);
        assert_eq!(provenance(&opaque, None), Provenance::CrossOrigin);
        assert_eq!(
            provenance(&headers(&[("host", "gw")]), None),
            Provenance::NotBrowser
        );
    }

    #[test]
    fn origins_of_base_urls() {
        assert_eq!(
            origin_of("HTTPS://mcp.example.com/base/").as_deref(),
            Some("https://mcp.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:80").as_deref(),
            Some("http://127.0.0.1:80")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
