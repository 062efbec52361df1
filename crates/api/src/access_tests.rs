//! The registry's 404-before-403 rule and its error bodies, decided against a real
//! `scopes.yml`.

use std::sync::Arc;

use axum::http::StatusCode;
use mcpgw_auth::Principal;
use mcpgw_policy::{Policy, Reason, UiAction};
use mcpgw_registry::{RegistryError, Server, ServerInput};

use super::{Access, server_ref};
use crate::ApiError;

const SCOPES: &str = r#"
group_mappings:
  ops: [registry-ops, servers-a]
  dev: [registry-dev, servers-b]
  nobody-mapped: []
UI-Scopes:
  registry-ops:
    list_service: [a]
    toggle_service: [a]
  registry-dev:
    list_service: [Display B]
    register_service: [all]
servers-a:
  - server: a
    methods: [tools/list]
servers-b:
  - server: b
    methods: [tools/list]
"#;

fn server(path: &str, name: &str) -> Server {
    ServerInput {
        path: Some(path.to_owned()),
        name: Some(name.to_owned()),
        url: Some("http://127.0.0.1:9/mcp".to_owned()),
        ..ServerInput::default()
    }
    .into_new_server(mcpgw_registry::now())
    .unwrap()
}

fn access(policy: Option<&str>, principal: &Principal) -> Access {
    let policy = match policy {
        Some(text) => Policy::parse(text).unwrap(),
        None => Policy::admins_only(),
    };
    Access::under(Arc::new(policy), principal)
}

fn member(group: &str) -> Principal {
    Principal {
        subject: format!("{group}-user"),
        ..Principal::anonymous(group)
    }
}

fn unknown(path: &str) -> ApiError {
    ApiError::from(RegistryError::NotFound(path.to_owned()))
}

#[test]
fn a_server_the_caller_may_not_list_is_the_404_of_an_unknown_path() {
    let ops = access(Some(SCOPES), &member("ops"));
    let b = server("b", "Display B");
    for action in UiAction::ALL
        .into_iter()
        .filter(|a| *a != UiAction::Register)
    {
        assert_eq!(
            ops.authorize(action, Some(server_ref(&b))).unwrap_err(),
            unknown("b"),
            "{action:?}"
        );
    }
    assert!(!ops.can_list(&b));
}

#[test]
fn a_listable_server_without_the_permission_is_403_naming_the_permission() {
    let ops = access(Some(SCOPES), &member("ops"));
    let a = server("a", "Display A");
    assert!(ops.authorize(UiAction::List, Some(server_ref(&a))).is_ok());
    let toggled = ops
        .authorize(UiAction::Toggle, Some(server_ref(&a)))
        .unwrap();
    assert!(
        matches!(toggled.reason, Reason::Granted(_)),
        "the decision is returned for the record: {toggled}"
    );
    for (action, permission) in [
        (UiAction::Modify, "modify_service"),
        (UiAction::HealthCheck, "health_check_service"),
    ] {
        let refused = ops.authorize(action, Some(server_ref(&a))).unwrap_err();
        assert_eq!(
            (refused.status, refused.code),
            (StatusCode::FORBIDDEN, "forbidden")
        );
        assert!(
            refused.message.contains(permission) && refused.message.contains("'a'"),
            "{refused}"
        );
        assert!(
            !refused.message.contains("registry-ops"),
            "scope names stay out of the answer: {refused}"
        );
    }
    let register = ops.authorize(UiAction::Register, None).unwrap_err();
    assert!(register.message.contains("register_service"), "{register}");
}

#[test]
fn ui_scopes_may_name_servers_by_display_name() {
    let dev = access(Some(SCOPES), &member("dev"));
    assert!(dev.can_list(&server("b", "Display B")));
    assert!(
        !dev.can_list(&server("b", "Another Name")),
        "neither the path nor the name is granted"
    );
    assert!(dev.authorize(UiAction::Register, None).is_ok());
    assert_eq!(
        dev.listable(vec![server("a", "Display A"), server("b", "Display B")])
            .iter()
            .map(|s| s.path.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
}

#[test]
fn callers_without_a_list_permission_may_list_nothing() {
    let unmapped = access(Some(SCOPES), &member("nobody-mapped"));
    let refused = unmapped.authorize(UiAction::List, None).unwrap_err();
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.message.contains("list_service"), "{refused}");
    assert!(unmapped.scope_names().is_empty());
}

#[test]
fn without_a_scopes_file_only_admins_may_act() {
    let user = access(None, &member("ops"));
    let refused = user.authorize(UiAction::List, None).unwrap_err();
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.message.contains("only admins"), "{refused}");
    let a = server("a", "a");
    assert_eq!(
        user.authorize(UiAction::Toggle, Some(server_ref(&a)))
            .unwrap_err(),
        unknown("a")
    );

    let admin = access(None, &Principal::admin());
    for action in UiAction::ALL {
        assert!(admin.authorize(action, Some(server_ref(&a))).is_ok());
    }
    assert!(admin.authorize(UiAction::List, None).is_ok());
}

#[test]
fn scope_names_are_the_mapped_scopes_in_order() {
    let ops = access(Some(SCOPES), &member("ops"));
    assert_eq!(ops.scope_names(), ["registry-ops", "servers-a"]);
}
