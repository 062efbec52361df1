//! Who is looking at a page: every UI route needs a browser session. Without one the
//! browser is sent to sign in (and brought back afterwards); with an expired one the login
//! page says so.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mcpgw_auth::Principal;
use mcpgw_auth::session::{Session, cookie};

use crate::auth_layer::check_csrf;
use crate::ui::frame::{encode, see_other};
use crate::{ApiError, AppState};

/// The signed-in browser a page is rendered for.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who it is.
    pub principal: Principal,
    /// Its session (the CSRF token every form carries).
    pub session: Session,
    /// Whether users connect accounts here (egress providers are configured).
    pub accounts: bool,
}

impl Viewer {
    /// Refuses a form post that does not carry this session's CSRF token, or that comes
    /// from another site's page.
    pub fn check_form(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        token: Option<&str>,
    ) -> Result<(), ApiError> {
        check_csrf(state, &Method::POST, headers, &self.session, token)
    }
}

/// Puts the [`Viewer`] in the request's extensions, or sends the browser to `/login`
/// with `next` set to the page it asked for (and `reason=expired` when its session ended).
pub async fn require_viewer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(value) = cookie::find(request.headers(), cookie::SESSION_COOKIE) else {
        return to_login(&request, None);
    };
    let session = match state.sessions.find(value, mcpgw_auth::now()).await {
        Ok(Some(session)) => session,
        Ok(None) => return to_login(&request, Some("expired")),
        Err(error) => return ApiError::from(error).into_response(),
    };
    request.extensions_mut().insert(Viewer {
        principal: session.principal.clone(),
        session,
        accounts: state.connections.is_some(),
    });
    next.run(request).await
}

/// The redirect to the login page, back to this page (a GET) or to the servers (a form
/// post cannot be replayed after signing in).
fn to_login(request: &Request, reason: Option<&str>) -> Response {
    let back = if request.method() == Method::GET {
        request
            .uri()
            .path_and_query()
            .map_or("/ui/servers", |path| path.as_str())
    } else {
        "/ui/servers"
    };
    let mut location = format!("/login?next={}", encode(back));
    if let Some(reason) = reason {
        location.push_str("&reason=");
        location.push_str(reason);
    }
    see_other(&location)
}
