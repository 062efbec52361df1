//! Registry permissions, as the Python registry decides them.

use crate::{Caller, Policy, Reason, ServerRef, UiAction};

const FIXTURE: &str = include_str!("../tests/fixtures/scopes.yml");

fn decide(group: &str, action: UiAction, server: Option<(&str, &str)>) -> crate::Decision {
    let policy = Policy::parse(FIXTURE).unwrap();
    let groups = [group.to_owned()];
    let scopes = policy.scopes_of(&Caller {
        admin: false,
        groups: &groups,
        scope_claim: &[],
    });
    policy.decide_ui(
        &scopes,
        action,
        server.map(|(path, name)| ServerRef { path, name }),
    )
}

#[test]
fn list_needs_the_permission_and_an_entry_for_the_server() {
    let time = Some(("/currenttime", "Current Time"));
    assert!(decide("mcp-registry-user", UiAction::List, time).allowed);
    // Named by display name in UI-Scopes, by path in the server scopes.
    assert!(
        decide(
            "mcp-registry-user",
            UiAction::List,
            Some(("fakeserver", "Fake Tools"))
        )
        .allowed
    );
    let fin = decide(
        "mcp-registry-user",
        UiAction::List,
        Some(("fininfo", "Financial Info")),
    );
    assert!(matches!(fin.reason, Reason::UiNotGranted { .. }), "{fin}");
    // `all` in list_service, but no server scope for fininfo.
    let developer = decide(
        "mcp-registry-developer",
        UiAction::List,
        Some(("fininfo", "Fin")),
    );
    assert!(
        matches!(developer.reason, Reason::UiServerNotInScopes { .. }),
        "{developer}"
    );
    assert!(
        decide(
            "mcp-registry-admin",
            UiAction::List,
            Some(("fininfo", "Fin"))
        )
        .allowed
    );
}

#[test]
fn register_needs_any_register_permission() {
    assert!(decide("mcp-registry-developer", UiAction::Register, None).allowed);
    assert!(
        decide(
            "mcp-registry-developer",
            UiAction::Register,
            Some(("new", "New"))
        )
        .allowed
    );
    assert!(!decide("mcp-registry-user", UiAction::Register, None).allowed);
    assert!(!decide("mcp-registry-operator", UiAction::Register, None).allowed);
}

#[test]
fn toggle_modify_and_check_are_per_server() {
    let time = Some(("currenttime", "Current Time"));
    assert!(decide("mcp-registry-operator", UiAction::Toggle, time).allowed);
    assert!(!decide("mcp-registry-developer", UiAction::Toggle, time).allowed);
    assert!(!decide("mcp-registry-operator", UiAction::Modify, time).allowed);
    assert!(decide("mcp-registry-user", UiAction::HealthCheck, time).allowed);
    assert!(
        !decide(
            "mcp-registry-user",
            UiAction::HealthCheck,
            Some(("fakeserver", "Fake Tools"))
        )
        .allowed
    );
    assert!(!decide("unknown-group", UiAction::List, time).allowed);
}

#[test]
fn without_a_file_only_admins() {
    let policy = Policy::admins_only();
    let scopes = policy.scopes_of(&Caller {
        admin: false,
        groups: &[],
        scope_claim: &["x".to_owned()],
    });
    assert_eq!(
        policy.decide_ui(&scopes, UiAction::List, None).reason,
        Reason::NoPolicy
    );
}
