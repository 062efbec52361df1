use chrono::Utc;
use mcpgw_registry::{Health, HealthState, Server, Tool, Transport};
use serde_json::json;

use super::*;

fn tool(name: &str) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: Some(format!("does {name}")),
        input_schema: json!({"type": "object"}),
        output_schema: None,
        annotations: Some(json!({"readOnlyHint": true})),
    }
}

fn server(path: &str, tools: &[&str], enabled: bool, status: HealthState) -> Server {
    Server {
        path: path.into(),
        name: path.into(),
        description: String::new(),
        transport: Transport::StreamableHttp,
        url: Some("http://127.0.0.1:1/mcp".into()),
        command: None,
        args: Vec::new(),
        env: Default::default(),
        headers: Default::default(),
        tags: Vec::new(),
        license: None,
        version: None,
        enabled,
        eager: false,
        egress: mcpgw_registry::Egress::None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        health: Health {
            status,
            ..Health::unknown()
        },
        server_info: None,
        tools: tools.iter().map(|name| tool(name)).collect(),
        tools_updated_at: None,
        revision: 1,
    }
}

#[test]
fn only_enabled_healthy_servers_in_path_order() {
    let catalog = Catalog::build(
        vec![
            server("zeta", &["b", "a"], true, HealthState::Healthy),
            server("alpha", &["x"], true, HealthState::Healthy),
            server("off", &["y"], false, HealthState::Healthy),
            server("down", &["z"], true, HealthState::Unhealthy),
        ],
        "__",
        &[],
    );
    let names: Vec<&str> = catalog.tools().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["alpha__x", "zeta__b", "zeta__a"]);
    let found = catalog.find("zeta__a").unwrap();
    assert_eq!(
        (found.server.path.as_str(), found.tool.name.as_str()),
        ("zeta", "a")
    );
    assert!(catalog.find("down__z").is_none());
    assert_eq!(
        catalog.find_original("/zeta/", "b").unwrap().name,
        "zeta__b"
    );
}

#[test]
fn offered_tools_keep_the_servers_description_and_name_their_origin() {
    let catalog = Catalog::build(
        vec![server("time", &["now"], true, HealthState::Healthy)],
        "__",
        &[],
    );
    let offered = catalog.tools()[0].to_json();
    assert_eq!(offered["name"], "time__now");
    assert_eq!(offered["description"], "does now");
    assert_eq!(offered["inputSchema"], json!({"type": "object"}));
    assert_eq!(offered["annotations"]["readOnlyHint"], true);
    assert_eq!(offered["_meta"][META_SERVER], "time");
    assert_eq!(offered["_meta"][META_TOOL], "now");
}

#[test]
fn a_health_check_that_changes_nothing_offered_is_not_a_change() {
    let before = Catalog::build(
        vec![server("time", &["now"], true, HealthState::Healthy)],
        "__",
        &[],
    );
    let mut checked = server("time", &["now"], true, HealthState::Healthy);
    checked.health.last_checked = Some(Utc::now());
    let after = Catalog::build(vec![checked], "__", &[]);
    assert!(before.offers_same(&after));
    let more = Catalog::build(
        vec![server(
            "time",
            &["now", "later"],
            true,
            HealthState::Healthy,
        )],
        "__",
        &[],
    );
    assert!(!before.offers_same(&more));
}
