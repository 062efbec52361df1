//! What every page shares: who is looking, what they may reach from the navigation, and
//! how a rendered page leaves (content type and the protective headers).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcpgw_policy::UiAction;

use crate::access::Access;
use crate::ui::viewer::Viewer;

/// The UI's Content-Security-Policy: scripts, styles and connections only to the gateway
/// itself (no inline code, no CDN), no framing.
const UI_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// Headers of every page besides its policy: no framing, no caching, no referrer leak.
const PAGE_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// The sections of the navigation, to mark the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The server list and server pages.
    Servers,
    /// Search results.
    Search,
    /// Tokens and client setup.
    Tokens,
    /// The viewer's connected accounts.
    Connections,
    /// Users, policy and audit (admins only).
    Admin,
    /// A page of no section (an error).
    Elsewhere,
}

/// The layout's data: the signed-in user, the navigation they may use, the session's
/// CSRF token for forms, and the search box's text.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The page's title (before ` · mcpgw`).
    pub title: String,
    /// The user's display name.
    pub user: String,
    /// Admins see the admin section.
    pub is_admin: bool,
    /// Whether "Register a server" is offered.
    pub can_register: bool,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// The section the page belongs to.
    pub section: Section,
    /// The search box's text.
    pub query: String,
    /// Whether the Accounts section is offered (egress providers are configured).
    pub accounts: bool,
}

impl Frame {
    /// The frame of a page titled `title` in `section`, for `viewer`.
    pub fn new(
        viewer: &Viewer,
        access: &Access,
        title: impl Into<String>,
        section: Section,
    ) -> Self {
        let principal = &viewer.principal;
        Frame {
            title: title.into(),
            user: principal
                .username
                .clone()
                .unwrap_or_else(|| principal.subject.clone()),
            is_admin: principal.is_admin,
            can_register: access.allows(UiAction::Register, None),
            csrf: viewer.session.csrf_token.clone(),
            section,
            query: String::new(),
            accounts: viewer.accounts,
        }
    }

    /// `aria-current="page"` for the current section's link (used by the layout).
    pub fn current(&self, section: &str) -> &'static str {
        let current = match self.section {
            Section::Servers => "servers",
            Section::Search => "search",
            Section::Tokens => "tokens",
            Section::Connections => "connections",
            Section::Admin => "admin",
            Section::Elsewhere => "",
        };
        if current == section { "page" } else { "false" }
    }
}

/// Renders `template` as a page with `status` and the protective headers. A template that
/// fails to render (a bug) is a plain 500, logged.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => with_page_headers((status, html).into_response(), UI_CSP),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            with_page_headers(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>This page failed to render; the \
                     gateway's log says why.</p>",
                )
                    .into_response(),
                UI_CSP,
            )
        }
    }
}

/// Sets the HTML content type, the policy `csp` and [`PAGE_HEADERS`] on `response`.
pub fn with_page_headers(mut response: Response, csp: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    for (name, value) in PAGE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A 303 to `location` (after a form was handled), not cached.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Percent-encodes one path segment or query value for a link.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
