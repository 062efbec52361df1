//! `GET /ui/admin` (admins only): local users and the scopes the policy in force gives
//! them, the groups and scopes of `scopes.yml` as the gateway read it (read-only), and
//! "why can X call Y": the decision and its reason for a user or a set of groups, as
//! `mcpgw policy check` gives it.

use askama::Template;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use mcpgw_policy::{Caller, PolicyOutline, Request, ServerRef, UiAction};
use serde::Deserialize;

use crate::access::Access;
use crate::auth_layer::admin_for;
use crate::ui::error::or_error_page;
use crate::ui::frame::{Frame, Section, render};
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// A local user and what the policy makes of it.
struct UserRow {
    name: String,
    groups: String,
    admin: bool,
    scopes: String,
}

/// The question of the "why" form, from the query string.
#[derive(Debug, Default, Deserialize)]
struct Why {
    #[serde(default)]
    user: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    tool: String,
}

/// The answer.
struct Answer {
    allowed: bool,
    who: String,
    scopes: String,
    decision: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    frame: Frame,
    users: Vec<UserRow>,
    outline: PolicyOutline,
    servers: Vec<String>,
    why: Why,
    answer: Option<Answer>,
    why_error: String,
}

impl AdminPage {
    /// Whether the policy defines scope `name` (a group may map to one it does not).
    fn defines(&self, name: &str) -> bool {
        self.outline.scopes.iter().any(|scope| scope.name == name)
    }

    /// The registry actions the "why" form offers besides MCP methods.
    fn actions(&self) -> Vec<&'static str> {
        UiAction::ALL
            .iter()
            .map(|action| action.permission())
            .collect()
    }
}

/// The page.
pub async fn page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    or_error_page(
        &state,
        &viewer,
        render_page(&state, &viewer, raw.as_deref().unwrap_or("")).await,
    )
}

async fn render_page(state: &AppState, viewer: &Viewer, raw: &str) -> Result<Response, ApiError> {
    admin_for(&viewer.principal, "see the admin pages")?;
    let why: Why = serde_urlencoded::from_str(raw)
        .map_err(|error| ApiError::bad_request(format!("bad question: {error}")))?;
    let policy = state.policy.load();
    let scopes_of = |admin: bool, groups: &[String]| {
        policy
            .scopes_of(&Caller {
                admin,
                groups,
                scope_claim: &[],
            })
            .names
            .join(", ")
    };
    let records = state.users.list().await?;
    let users = records
        .iter()
        .map(|user| UserRow {
            name: user.username.clone(),
            groups: user.groups.join(", "),
            admin: user.admin,
            scopes: scopes_of(user.admin, &user.groups),
        })
        .collect();
    let registered = state.registry.list().await?;
    // `UI-Scopes` may name a server by its display name: decide with the registered one.
    let display = registered
        .iter()
        .find(|server| server.path == why.server.trim())
        .map_or(why.server.trim(), |server| server.name.as_str());
    let (answer, why_error) = if why.server.trim().is_empty() {
        (None, String::new())
    } else {
        match answer(&why, display, &records, &policy) {
            Ok(answer) => (Some(answer), String::new()),
            Err(message) => (None, message),
        }
    };
    let access = Access::of(state, &viewer.principal);
    let page = AdminPage {
        frame: Frame::new(viewer, &access, "Admin", Section::Admin),
        users,
        outline: policy.outline(),
        servers: registered.into_iter().map(|server| server.path).collect(),
        why,
        answer,
        why_error,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Decides the question: for a local user (its groups and admin flag) or for groups.
fn answer(
    why: &Why,
    display_name: &str,
    users: &[mcpgw_auth::users::UserRecord],
    policy: &mcpgw_policy::Policy,
) -> Result<Answer, String> {
    let (who, admin, groups) = if why.user.trim().is_empty() {
        let groups: Vec<String> = why
            .groups
            .split(',')
            .map(str::trim)
            .filter(|group| !group.is_empty())
            .map(str::to_owned)
            .collect();
        (format!("groups {}", groups.join(", ")), false, groups)
    } else {
        let user = users
            .iter()
            .find(|user| user.username == why.user.trim())
            .ok_or_else(|| format!("no local user '{}'", why.user.trim()))?;
        (
            format!("user {}", user.username),
            user.admin,
            user.groups.clone(),
        )
    };
    let scopes = policy.scopes_of(&Caller {
        admin,
        groups: &groups,
        scope_claim: &[],
    });
    let server = why.server.trim();
    let method = why.method.trim();
    let reference = ServerRef {
        path: server,
        name: display_name,
    };
    let decision = match UiAction::from_permission(method) {
        // As the API decides: a server the caller may not list does not exist for it,
        // whatever the action.
        Some(action) => {
            let listing = policy.decide_ui(&scopes, UiAction::List, Some(reference));
            if listing.allowed {
                policy.decide_ui(&scopes, action, Some(reference))
            } else {
                listing
            }
        }
        None if method.is_empty() => return Err("choose a method or a registry action".into()),
        None => policy.decide(
            &scopes,
            &Request {
                server,
                method,
                target: Some(why.tool.trim()).filter(|tool| !tool.is_empty()),
            },
        ),
    };
    Ok(Answer {
        allowed: decision.allowed,
        who,
        scopes: if scopes.admin {
            "admin (every decision allows)".to_owned()
        } else if scopes.names.is_empty() {
            "none".to_owned()
        } else {
            scopes.names.join(", ")
        },
        decision: decision.to_string(),
    })
}
