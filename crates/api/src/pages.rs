//! The server-rendered login page. Plain HTML with the UI's stylesheet, no script, served
//! with a strict Content-Security-Policy; every value is HTML-escaped.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The login page's policy: no script at all, styles only from the gateway, no framing.
const LOGIN_CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// An HTML page with the protective headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <link rel=\"stylesheet\" href=\"/ui/static/app.css\">\
         <title>{} · mcpgw</title></head>\n<body><main>\n{body}</main></body></html>\n",
        escape(title)
    );
    crate::ui::frame::with_page_headers((status, html).into_response(), LOGIN_CSP)
}

/// The login page: the password form, one link per OIDC provider, and `error` if the
/// last attempt failed. `next` is where a successful sign-in leads.
pub fn login(
    status: StatusCode,
    next: &str,
    providers: &[(String, String)],
    error: Option<&str>,
) -> Response {
    let next_query = query_escape(next);
    let next = escape(next);
    let mut body = String::from("<div class=\"login\"><h1>Sign in to mcpgw</h1>\n");
    if let Some(error) = error {
        body.push_str(&format!(
            "<p role=\"alert\" class=\"alert\">{}</p>\n",
            escape(error)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\n\
         <p><label>User name <input name=\"username\" autocomplete=\"username\" required autofocus></label></p>\n\
         <p><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label></p>\n\
         <p><button type=\"submit\" class=\"primary\">Sign in</button></p>\n</form>\n"
    ));
    for (name, display) in providers {
        body.push_str(&format!(
            "<p class=\"providers\"><a class=\"button\" href=\"/auth/login/{}?next={}\">Sign in with {}</a></p>\n",
            escape(name),
            escape(&next_query),
            escape(display)
        ));
    }
    body.push_str("</div>\n");
    page(status, "Sign in", &body)
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Percent-encodes a query parameter value.
fn query_escape(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `next` if it is a path on this gateway, else `/`: a sign-in must never send the browser
/// to another site (`//evil.example`, `/\evil.example`, `https://…` are all refused).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 2048
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/servers?tag=a")), "/servers?tag=a");
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
