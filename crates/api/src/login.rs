//! Browser sign-in: the login page and form (`GET`/`POST /login`, the Python registry's
//! routes, which also take JSON), sign-in at an OIDC provider (`/auth/login/{provider}` and
//! its callback), `POST /logout`, and the landing page `/`.
//!
//! Every sign-in ends in a session cookie ([`mcpgw_auth::session`]); failures land back on
//! the login page with a message saying what happened.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcpgw_auth::discovery::base_url;
use mcpgw_auth::login::{Callback, LoginError};
use mcpgw_auth::now;
use mcpgw_auth::session::cookie::{self, LOGIN_COOKIE, LOGIN_COOKIE_PATH, SESSION_COOKIE};
use mcpgw_auth::session::origin::{Provenance, provenance};
use mcpgw_auth::session::{LOGIN_FLOW_TTL_SECS, Opened};
use mcpgw_auth::users::UserError;
use mcpgw_auth::users::password::PasswordError;
use serde::Deserialize;
use serde_json::json;

use crate::auth_layer::check_csrf;
use crate::body::{body_bytes, is_form, parse_form, parse_json};
use crate::pages::{self, local_path};
use crate::ui::frame::see_other;
use crate::{ApiError, AppState};

/// Query parameters of the login page. (No free error text: a link must not be able to
/// put words of its choosing on the gateway's login page.)
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// Why the browser was sent here: `expired` (its session ended). Only known codes
    /// are shown, each as a fixed sentence.
    reason: Option<String>,
}

/// A sign-in with a password, as a form or as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordLogin {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login`: the login page.
pub async fn page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let query: LoginQuery = query
        .as_deref()
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default();
    let next = local_path(query.next.as_deref());
    let message = match query.reason.as_deref() {
        Some("expired") => Some("Your session has expired or was ended: sign in again."),
        _ => None,
    };
    login_page(&state, StatusCode::OK, &next, message)
}

fn login_page(state: &AppState, status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let providers: Vec<(String, String)> = state
        .oidc
        .providers()
        .map(|(name, display)| (name.to_owned(), display.to_owned()))
        .collect();
    pages::login(status, next, &providers, error)
}

/// `POST /login`: checks a user name and password and opens a session. A form gets a
/// redirect (303) to `next` or the login page again with the error; JSON gets the
/// principal and the session's CSRF token, or an error body.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let form = is_form(&headers, &body);
    // Login CSRF: another site's page must not sign the browser in as someone else.
    if provenance(&headers, state.public_origin.as_deref()) == Provenance::CrossOrigin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "cross-site sign-in refused",
        ));
    }
    let login: PasswordLogin = if form {
        let fields = parse_form(&body)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        PasswordLogin {
            username: field("username").unwrap_or_default(),
            password: field("password").unwrap_or_default(),
            next: field("next"),
        }
    } else {
        parse_json(&body)?
    };
    let next = local_path(login.next.as_deref());
    let signed_in = state
        .users
        .sign_in(login.username.trim(), &login.password, now())
        .await;
    let principal = match signed_in {
        Ok(principal) => principal,
        Err(error) => {
            let error = ApiError::from(error);
            if form {
                let mut page = login_page(&state, error.status, &next, Some(&error.message));
                retry_after(&mut page, &error);
                return Ok(page);
            }
            return Err(error);
        }
    };
    end_previous_session(&state, &headers).await?;
    let opened = state.sessions.open(principal, now()).await?;
    tracing::info!(user = %opened.session.principal.subject, "signed in with a password");
    let secure = secure_cookies(&state, &headers);
    let mut response = if form {
        see_other(&next)
    } else {
        axum::Json(json!({
            "principal": opened.session.principal,
            "csrf_token": opened.session.csrf_token,
        }))
        .into_response()
    };
    set_session_cookie(&mut response, &opened, secure);
    Ok(response)
}

/// `POST /logout`: ends the session (server-side: the cookie is useless afterwards, even
/// if a copy was kept) and clears the cookie. From a browser, the form must carry the
/// session's CSRF token.
pub async fn logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    if let Some(value) = cookie::find(&headers, SESSION_COOKIE) {
        if let Some(session) = state.sessions.find(value, now()).await? {
            let fields = if is_form(&headers, &body) {
                parse_form(&body)?
            } else {
                Vec::new()
            };
            let form_token = fields
                .iter()
                .find(|(key, _)| key == "csrf_token")
                .map(|(_, value)| value.as_str());
            check_csrf(&state, &method, &headers, &session, form_token)?;
            tracing::info!(user = %session.principal.subject, "signed out");
        }
        state.sessions.close(value).await?;
    }
    let mut response = see_other("/login");
    append_cookie(
        &mut response,
        &cookie::clear(SESSION_COOKIE, "/", secure_cookies(&state, &headers)),
    );
    Ok(response)
}

/// `GET /auth/login/{provider}`: sends the browser to sign in at the provider.
pub async fn start_oidc(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query: LoginQuery = query
        .as_deref()
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default();
    let next = local_path(query.next.as_deref());
    let Some(base) = base_url(state.public_url.as_deref(), &headers) else {
        return login_page(
            &state,
            StatusCode::BAD_REQUEST,
            &next,
            Some("cannot tell the gateway's address: set public_url"),
        );
    };
    let redirect_uri = format!("{base}/auth/callback/{provider}");
    match state
        .oidc
        .start(&provider, redirect_uri, next.clone(), now())
        .await
    {
        Ok(started) => {
            let mut response = see_other(&started.location);
            append_cookie(
                &mut response,
                &cookie::set(
                    LOGIN_COOKIE,
                    &started.state,
                    LOGIN_COOKIE_PATH,
                    LOGIN_FLOW_TTL_SECS,
                    secure_cookies(&state, &headers),
                ),
            );
            response
        }
        Err(error) => oidc_failure(&state, &next, &error),
    }
}

/// `GET /auth/callback/{provider}`: the provider sends the browser back here; the sign-in
/// is finished and a session opened.
pub async fn finish_oidc(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let callback: Callback = query
        .as_deref()
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default();
    let secure = secure_cookies(&state, &headers);
    let cookie_state = cookie::find(&headers, LOGIN_COOKIE);
    let (principal, next) = match state
        .oidc
        .finish(&provider, callback, cookie_state, now())
        .await
    {
        Ok(done) => done,
        Err(error) => {
            let mut page = oidc_failure(&state, "/", &error);
            append_cookie(
                &mut page,
                &cookie::clear(LOGIN_COOKIE, LOGIN_COOKIE_PATH, secure),
            );
            return Ok(page);
        }
    };
    end_previous_session(&state, &headers).await?;
    let opened = state.sessions.open(principal, now()).await?;
    tracing::info!(user = %opened.session.principal.subject, %provider, "signed in at an OIDC provider");
    let mut response = see_other(&next);
    set_session_cookie(&mut response, &opened, secure);
    append_cookie(
        &mut response,
        &cookie::clear(LOGIN_COOKIE, LOGIN_COOKIE_PATH, secure),
    );
    Ok(response)
}

/// A new sign-in replaces the session the browser had (another user's, perhaps).
async fn end_previous_session(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(value) = cookie::find(headers, SESSION_COOKIE) {
        state.sessions.close(value).await?;
    }
    Ok(())
}

fn oidc_failure(state: &AppState, next: &str, error: &LoginError) -> Response {
    let status = match error {
        LoginError::UnknownProvider(_) => StatusCode::NOT_FOUND,
        LoginError::BadState => StatusCode::BAD_REQUEST,
        LoginError::Refused(_) => StatusCode::FORBIDDEN,
        LoginError::BadIdToken(_) => StatusCode::UNAUTHORIZED,
        LoginError::Unavailable(_) => StatusCode::BAD_GATEWAY,
        LoginError::Session(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    tracing::warn!(%error, "OIDC sign-in failed");
    // Provider addresses and store errors are for the log, not for anyone at the door.
    let message = match error {
        LoginError::Unavailable(_) => {
            "the sign-in provider cannot be reached right now; try again later".to_owned()
        }
        LoginError::Session(_) => "sign-in is unavailable right now; try again".to_owned(),
        other => other.to_string(),
    };
    login_page(state, status, next, Some(&message))
}

/// `GET /`: the servers page when signed in, else the login page.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(value) = cookie::find(&headers, SESSION_COOKIE)
        && state.sessions.find(value, now()).await?.is_some()
    {
        return Ok(see_other("/ui/servers"));
    }
    Ok(see_other("/login"))
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        let (status, code) = match &error {
            UserError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            UserError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            UserError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            UserError::Exists(_) => (StatusCode::CONFLICT, "conflict"),
            UserError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            UserError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            UserError::Password(PasswordError::Busy) => {
                let mut busy =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", error.to_string());
                busy.retry_after = Some(1);
                return busy;
            }
            UserError::Password(_) | UserError::File { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        if status.is_server_error() {
            tracing::error!(%error, "user operation failed");
            return ApiError::new(status, code, "users are unavailable; try again");
        }
        let mut api = ApiError::new(status, code, error.to_string());
        if let UserError::Throttled(seconds) = error {
            api.retry_after = Some(seconds);
        }
        api
    }
}

/// Adds `Retry-After` to a page made from `error`.
fn retry_after(response: &mut Response, error: &ApiError) {
    if let Some(seconds) = error.retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
}

/// Cookies get `Secure` when the gateway is reached over HTTPS: its public URL says so,
/// or the TLS-terminating proxy in front of it does.
pub(crate) fn secure_cookies(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn set_session_cookie(response: &mut Response, opened: &Opened, secure: bool) {
    append_cookie(
        response,
        &cookie::set(
            SESSION_COOKIE,
            &opened.cookie_value,
            "/",
            opened.ttl,
            secure,
        ),
    );
}

pub(crate) fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
