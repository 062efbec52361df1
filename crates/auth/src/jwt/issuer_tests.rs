use serde_json::json;

use super::*;

fn config(preset: Preset) -> IssuerConfig {
    IssuerConfig {
        issuer: "https://idp.example".into(),
        audiences: vec!["mcpgw".into()],
        preset,
        groups_claims: Vec::new(),
        client_id_claim: None,
        username_claim: None,
        tenants: Vec::new(),
    }
}

#[test]
fn entra_tokens_can_be_limited_to_tenants() {
    let mut entra = config(Preset::Entra);
    entra.tenants = vec!["tenant-a".into()];
    let map = ClaimMap::of(&entra);
    assert!(map.check(&json!({"tid": "tenant-a"})).is_ok());
    assert!(map.check(&json!({"tid": "tenant-b"})).is_err());
    assert!(map.check(&json!({})).is_err(), "no tid, no entry");
    let principal = map.principal(
        "i",
        &json!({"sub": "u", "roles": ["r"], "groups": ["g"], "appid": "app"}),
    );
    assert_eq!(principal.groups, ["g", "r"]);
    assert_eq!(principal.client_id.as_deref(), Some("app"));
}

#[test]
fn generic_issuers_name_their_own_claim_paths() {
    let mut generic = config(Preset::Generic);
    generic.groups_claims = vec!["org.teams".into(), "extra".into()];
    generic.client_id_claim = Some("appid".into());
    generic.username_claim = Some("email".into());
    let claims = json!({"sub": "u-1", "appid": "app", "email": "a@example.com",
        "org": {"teams": ["b", "a"]}, "extra": "c", "scp": ["read", "write"], "exp": 5});
    let principal = ClaimMap::of(&generic).principal("https://idp.example", &claims);
    assert_eq!(principal.subject, "u-1");
    assert_eq!(principal.client_id.as_deref(), Some("app"));
    assert_eq!(principal.username.as_deref(), Some("a@example.com"));
    assert_eq!(principal.groups, ["a", "b", "c"], "sorted, from every path");
    assert_eq!(
        principal.scopes,
        ["read", "write"],
        "scp arrays count as scopes"
    );
    assert_eq!(principal.expires_at, Some(5));
    assert!(
        !principal.is_admin,
        "a token never makes an admin by itself"
    );
}

#[test]
fn a_token_without_sub_is_named_by_its_client() {
    let claims = json!({"azp": "service-a", "scope": "x y"});
    let principal = ClaimMap::of(&config(Preset::Keycloak)).principal("i", &claims);
    assert_eq!(principal.subject, "service-a");
    assert_eq!(principal.scopes, ["x", "y"]);
}

#[test]
fn cognito_requires_access_tokens() {
    let cognito = ClaimMap::of(&config(Preset::Cognito));
    assert!(cognito.audience_is_client_id());
    assert!(cognito.check(&json!({"token_use": "access"})).is_ok());
    assert!(cognito.check(&json!({"token_use": "id"})).is_err());
    assert!(cognito.check(&json!({})).is_err());
    assert!(
        ClaimMap::of(&config(Preset::Entra))
            .check(&json!({}))
            .is_ok()
    );
}
