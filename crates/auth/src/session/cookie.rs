//! The gateway's cookies: reading them from a request and writing `Set-Cookie` values.
//!
//! The session cookie keeps the Python registry's name, so that scripts that set it by
//! name keep working. Both cookies are `HttpOnly` (scripts in the page cannot read them),
//! `SameSite=Lax` (sent on top-level navigations, such as the provider's redirect back,
//! never on cross-site subrequests or form posts), and `Secure` when the gateway is
//! reached over HTTPS.

use http::HeaderMap;
use http::header::COOKIE;

/// The session cookie (the Python registry's name).
pub const SESSION_COOKIE: &str = "mcp_gateway_session";
/// The cookie binding an OIDC sign-in in progress to the browser that started it.
pub const LOGIN_COOKIE: &str = "mcpgw_login";
/// The path the login cookie is sent to: only the callbacks.
pub const LOGIN_COOKIE_PATH: &str = "/auth/callback/";

/// The value of cookie `name` in the request's `Cookie` headers. A name sent twice (a
/// cookie set for another path too) yields the first, as browsers send the most specific
/// first.
pub fn find<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
}

/// A `Set-Cookie` value that sets `name` for `max_age` seconds under `path`.
pub fn set(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that deletes `name` under `path`.
pub fn clear(name: &str, path: &str, secure: bool) -> String {
    set(name, "", path, 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn finds_a_cookie_among_others_and_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; mcp_gateway_session=abc"),
        );
        headers.append(COOKIE, HeaderValue::from_static("mcpgw_login=\"xyz\""));
        assert_eq!(find(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(find(&headers, LOGIN_COOKIE), Some("xyz"));
        assert_eq!(find(&headers, "mcp_gateway"), None);
        assert_eq!(find(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn set_cookie_values_carry_the_protections() {
        assert_eq!(
            set(SESSION_COOKIE, "v", "/", 60, true),
            "mcp_gateway_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear(LOGIN_COOKIE, LOGIN_COOKIE_PATH, false),
            "mcpgw_login=; Path=/auth/callback/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }
}
