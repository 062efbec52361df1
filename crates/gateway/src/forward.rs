//! Building the upstream request and the client's response: which headers cross the
//! gateway and which stop at it.

use http::HeaderValue;
use http::header::{self, HeaderMap, HeaderName};
use http::{Uri, request, response};
use mcpgw_auth::{AuthMethod, Principal};

/// The gateway's own credential header (the Python gateway's dual-token convention).
pub const X_AUTHORIZATION: HeaderName = HeaderName::from_static("x-authorization");
/// `Mcp-Method`, which must agree with the body.
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`, which must agree with the body.
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// `Mcp-Protocol-Version`, the revision a Streamable HTTP request speaks.
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The Streamable HTTP session header.
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The identity headers the gateway sets for the upstream when configured to (the names
/// the Python gateway used); a client's own are never forwarded, so they cannot be forged.
pub const X_USER: HeaderName = HeaderName::from_static("x-user");
/// The OAuth client of the caller.
pub const X_CLIENT_ID: HeaderName = HeaderName::from_static("x-client-id");
/// The caller's scopes, space-separated.
pub const X_SCOPES: HeaderName = HeaderName::from_static("x-scopes");
/// How the caller authenticated.
pub const X_AUTH_METHOD: HeaderName = HeaderName::from_static("x-auth-method");

/// Request headers that stop at the gateway besides the hop-by-hop ones: the target and
/// framing (set anew for the upstream), the gateway's own credential and cookies, and
/// client-asserted identity and origin headers an upstream might trust.
const NOT_FORWARDED: [HeaderName; 14] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::COOKIE,
    header::EXPECT,
    X_AUTHORIZATION,
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-real-ip"),
    X_USER,
    X_CLIENT_ID,
    X_SCOPES,
    X_AUTH_METHOD,
];

/// Who is calling, as far as forwarding needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The dual-token rule: the caller authenticated to the gateway with
    /// `X-Authorization`, so its `Authorization` belongs to the upstream.
    pub keep_authorization: bool,
    /// Told to the upstream in `X-User` & co. when the gateway is configured to.
    pub identity: Option<&'a Principal>,
    /// The tools the caller may see, when it may not see them all: tool lists in the
    /// answer are cut down to these.
    pub tools: Option<&'a crate::list_filter::ListFilter>,
    /// The answer is a whole tool list the tool scan looks at (it must arrive readable).
    pub observes_list: bool,
    /// Who is calling: the sessions it opens are its own ([`Principal::owner`], worked
    /// out only where a session needs it).
    pub principal: &'a Principal,
}

impl<'a> Caller<'a> {
    /// Whether the gateway reads the answer (to filter or to scan a tool list), so that
    /// it must arrive uncompressed.
    fn reads_answer(&self) -> bool {
        self.tools.is_some() || self.observes_list
    }

    /// A caller that keeps nothing of its own and sees every tool.
    pub fn plain(principal: &'a Principal) -> Caller<'a> {
        Caller {
            keep_authorization: false,
            identity: None,
            tools: None,
            observes_list: false,
            principal,
        }
    }
}

/// The header names the `Connection` header lists (empty, without allocating, when it
/// lists none).
fn connection_named(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect()
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in connection_named(headers).iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// Prepares the client's request head for the upstream: hop-by-hop headers, `Host`, the
/// gateway's own credentials and cookies removed; the server's configured headers added.
///
/// See [`Caller`] for what the caller changes.
///
/// One pass over the client's headers, keeping what may cross, rather than a lookup per
/// name that may not: this runs on every request.
pub fn upstream_head(
    parts: &mut request::Parts,
    uri: Uri,
    configured: &HeaderMap,
    caller: &Caller<'_>,
) {
    let named = connection_named(&parts.headers);
    let incoming = std::mem::take(&mut parts.headers);
    let mut headers = HeaderMap::with_capacity(incoming.len() + configured.len());
    let mut current: Option<HeaderName> = None;
    for (name, value) in incoming {
        // `None` repeats the previous name (a header sent more than once).
        if let Some(name) = name {
            let dropped = HOP_BY_HOP.contains(&name)
                || NOT_FORWARDED.contains(&name)
                || (name == header::AUTHORIZATION && !caller.keep_authorization)
                // An answer the gateway must filter has to arrive readable.
                || (name == header::ACCEPT_ENCODING && caller.reads_answer())
                || named.contains(&name);
            current = (!dropped).then_some(name);
        }
        if let Some(name) = &current {
            headers.append(name.clone(), value);
        }
    }
    for (name, value) in configured {
        headers.insert(name.clone(), value.clone());
    }
    if caller.reads_answer() {
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    if let Some(principal) = caller.identity {
        add_identity(&mut headers, principal);
    }
    parts.headers = headers;
    parts.uri = uri;
    parts.version = http::Version::HTTP_11;
}

/// Tells the upstream who is calling. Values that are not valid header text are left out.
pub(crate) fn add_identity(headers: &mut HeaderMap, principal: &Principal) {
    // The subject, not a display name an identity provider may let its users choose.
    let user = principal.subject.as_str();
    let method = match &principal.auth_method {
        AuthMethod::AdminToken => "admin-token",
        AuthMethod::Jwt { .. } => "jwt",
        AuthMethod::Anonymous => "anonymous",
        AuthMethod::GatewayToken { .. } => "gateway-token",
        AuthMethod::Password => "password",
        AuthMethod::OidcLogin { .. } => "oidc-login",
    };
    let scopes = principal.scopes.join(" ");
    let values = [
        (X_USER, Some(user)),
        (X_CLIENT_ID, principal.client_id.as_deref()),
        (
            X_SCOPES,
            Some(scopes.as_str()).filter(|scopes| !scopes.is_empty()),
        ),
        (X_AUTH_METHOD, Some(method)),
    ];
    for (name, value) in values {
        if let Some(value) = value.and_then(|value| HeaderValue::from_str(value).ok()) {
            headers.insert(name, value);
        }
    }
}

/// Whether a successful response carries a server-sent event stream.
pub fn is_event_stream<B>(response: &http::Response<B>) -> bool {
    response.status().is_success()
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"))
}

/// Prepares the upstream's response head for the client. The gateway's origin also serves
/// the API, the login and the UI, where a browser holds a session: an upstream must not set
/// cookies there (they are dropped), and whatever it returns must never run as a page of
/// that origin (`Content-Security-Policy: sandbox` makes it an opaque origin without
/// scripts; `nosniff` stops a JSON answer from being read as HTML). MCP clients are not
/// browsers and ignore both.
pub fn client_head(parts: &mut response::Parts) {
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::SET_COOKIE);
    parts.headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    parts.headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_content_never_runs_on_the_gateway_origin() {
        let mut response = http::Response::new(());
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, "text/html".parse().unwrap());
        headers.insert(header::SET_COOKIE, "mcp_gateway_session=x".parse().unwrap());
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            "script-src *".parse().unwrap(),
        );
        let (mut parts, ()) = response.into_parts();
        client_head(&mut parts);
        assert!(!parts.headers.contains_key(header::SET_COOKIE));
        assert_eq!(parts.headers[header::CONTENT_SECURITY_POLICY], "sandbox");
        assert_eq!(parts.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    #[test]
    fn connection_named_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "close, x-secret".parse().unwrap());
        headers.insert("x-secret", "1".parse().unwrap());
        headers.insert("mcp-session-id", "s".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("mcp-session-id"));
    }

    fn head_of(pairs: &[(&'static str, &'static str)]) -> request::Parts {
        let mut request = http::Request::new(());
        for (name, value) in pairs {
            request
                .headers_mut()
                .append(*name, http::HeaderValue::from_static(value));
        }
        request.into_parts().0
    }

    #[test]
    fn only_what_may_cross_reaches_the_upstream() {
        let mut parts = head_of(&[
            ("host", "gateway"),
            ("authorization", "Bearer gateway-token"),
            ("accept", "application/json"),
            ("accept", "text/event-stream"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("x-forwarded-for", "10.0.0.1"),
            ("cookie", "session=1"),
            ("mcp-session-id", "abc"),
            ("x-api-key", "client's"),
        ]);
        let mut configured = HeaderMap::new();
        configured.insert("x-api-key", "configured".parse().unwrap());
        let uri: Uri = "http://upstream/mcp".parse().unwrap();
        let admin = Principal::admin();
        upstream_head(&mut parts, uri.clone(), &configured, &Caller::plain(&admin));
        let headers = &parts.headers;
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "mcp-session-id", "x-api-key"]);
        assert_eq!(headers.get_all("accept").iter().count(), 2, "repeats kept");
        assert_eq!(headers["x-api-key"], "configured", "configuration wins");
        assert_eq!(parts.uri, uri);

        // Dual-token: the gateway's token came in X-Authorization, so Authorization is
        // the upstream's own credential and crosses; X-Authorization never does.
        let mut parts = head_of(&[
            ("x-authorization", "Bearer gateway-token"),
            ("authorization", "Bearer upstream-token"),
        ]);
        let caller = Caller {
            keep_authorization: true,
            ..Caller::plain(&admin)
        };
        upstream_head(&mut parts, uri.clone(), &HeaderMap::new(), &caller);
        let names: Vec<&str> = parts.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["authorization"]);
        assert_eq!(parts.headers["authorization"], "Bearer upstream-token");

        // An answer the gateway must filter is asked for uncompressed.
        let policy = std::sync::Arc::new(
            mcpgw_policy::Policy::parse("s:\n- server: x\n  tools: [a]\n").unwrap(),
        );
        let scopes = policy.scopes_of(&mcpgw_policy::Caller {
            admin: false,
            groups: &[],
            scope_claim: &["s".to_owned()],
        });
        let filter = crate::list_filter::ListFilter::new(policy.tool_filter(scopes, "x")).unwrap();
        let mut parts = head_of(&[("accept-encoding", "gzip, br")]);
        let caller = Caller {
            tools: Some(&filter),
            ..Caller::plain(&admin)
        };
        upstream_head(&mut parts, uri, &HeaderMap::new(), &caller);
        assert_eq!(parts.headers["accept-encoding"], "identity");
        assert_eq!(parts.headers.get_all("accept-encoding").iter().count(), 1);
    }
}
