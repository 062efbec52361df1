//! Property test: the engine against a plain reference model of the rules, on random
//! policies (written out as YAML and parsed, so the parser is exercised too) and random
//! requests. The model is written for obviousness, not speed: naive recursive globbing,
//! no precompilation, every rule a separate line.

use mcpgw_policy::{Caller, Policy, Request};
use proptest::prelude::*;
use serde_json::{Value, json};

const SERVERS: &[&str] = &["s1", "s2", "/s1/", "s*", "*", "all", "s?", "S1"];
const NAMES: &[&str] = &[
    "a",
    "b",
    "ab",
    "a*",
    "*b",
    "?b",
    "*",
    "all",
    "tools/list",
    "resources/list",
    "get_*",
    "get_x",
    "tools/call",
    "prompts/get",
];
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "notifications/initialized",
    "tools/list",
    "tools/call",
    "prompts/get",
    "resources/read",
    "resources/list",
    "x/y",
];
const TARGETS: &[&str] = &["a", "b", "ab", "get_x", "Get_x", "tools/list", "zzz"];
const SCOPES: &[&str] = &["r", "w", "x", "unknown"];
const GROUPS: &[&str] = &["g1", "g2", "g3"];

const HOUSEKEEPING: &[&str] = &[
    "initialize",
    "notifications/initialized",
    "ping",
    "server/discover",
    "notifications/cancelled",
    "subscriptions/listen",
];
const TARGETED: &[&str] = &["tools/call", "prompts/get", "resources/read"];

#[derive(Debug, Clone)]
struct Entry {
    server: Option<String>,
    methods: Vec<String>,
    tools: Vec<String>,
    deny: Vec<String>,
}

#[derive(Debug, Clone)]
struct Model {
    groups: Vec<(String, Vec<String>)>,
    scopes: Vec<(String, Vec<Entry>)>,
}

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(pool).prop_map(str::to_owned)
}

fn names(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(pick(pool), 0..max)
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        proptest::option::weighted(0.9, pick(SERVERS)),
        names(NAMES, 4),
        names(NAMES, 4),
        proptest::collection::vec(pick(NAMES), 0..2).prop_map(|mut deny| {
            deny.truncate(1);
            deny
        }),
        any::<bool>(),
    )
        .prop_map(|(server, methods, tools, deny, with_deny)| Entry {
            server,
            methods,
            tools,
            deny: if with_deny { deny } else { Vec::new() },
        })
}

fn model() -> impl Strategy<Value = Model> {
    let scope = (
        pick(&["r", "w", "x"]),
        proptest::collection::vec(entry(), 0..4),
    );
    (
        proptest::collection::vec((pick(GROUPS), names(SCOPES, 3)), 0..3),
        proptest::collection::vec(scope, 0..4),
    )
        .prop_map(|(groups, scopes)| {
            // Keys are unique in a YAML mapping: keep the first of each.
            let mut seen = Vec::new();
            let groups = groups
                .into_iter()
                .filter(|(g, _)| dedupe(&mut seen, g))
                .collect();
            let mut seen = Vec::new();
            let scopes = scopes
                .into_iter()
                .filter(|(s, _)| dedupe(&mut seen, s))
                .collect();
            Model { groups, scopes }
        })
}

fn dedupe(seen: &mut Vec<String>, key: &str) -> bool {
    if seen.iter().any(|k| k == key) {
        return false;
    }
    seen.push(key.to_owned());
    true
}

/// The model as a scopes file (JSON is YAML), entries in the Python format.
fn to_yaml(model: &Model) -> String {
    let mut file = serde_json::Map::new();
    let groups: serde_json::Map<String, Value> = model
        .groups
        .iter()
        .map(|(g, s)| (g.clone(), json!(s)))
        .collect();
    file.insert("group_mappings".into(), Value::Object(groups));
    for (scope, entries) in &model.scopes {
        let entries: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut object = json!({"methods": e.methods, "tools": e.tools});
                if let Some(server) = &e.server {
                    object["server"] = json!(server);
                }
                if !e.deny.is_empty() {
                    object["deny"] = json!(e.deny);
                }
                object
            })
            .collect();
        file.insert(scope.clone(), Value::Array(entries));
    }
    Value::Object(file).to_string()
}

fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    pattern == "*" || pattern == "all" || glob(pattern.as_bytes(), name.as_bytes())
}

fn is_literal(pattern: &str) -> bool {
    pattern != "all" && !pattern.contains(['*', '?'])
}

fn scopes_of(model: &Model, groups: &[String], claim: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let source: Vec<String> = if groups.is_empty() {
        claim.to_vec()
    } else {
        groups
            .iter()
            .flat_map(|g| model.groups.iter().filter(move |(name, _)| name == g))
            .flat_map(|(_, scopes)| scopes.clone())
            .collect()
    };
    for scope in source {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

fn reference(
    model: &Model,
    scopes: &[String],
    server: &str,
    method: &str,
    target: Option<&str>,
) -> bool {
    let server = server.trim_matches('/');
    let entries: Vec<&Entry> = scopes
        .iter()
        .flat_map(|s| model.scopes.iter().filter(move |(name, _)| name == s))
        .flat_map(|(_, entries)| entries)
        .filter(|e| {
            e.server
                .as_deref()
                .is_some_and(|p| matches(p.trim_matches('/'), server))
        })
        .collect();
    if entries.is_empty() {
        return false;
    }
    let denied = entries
        .iter()
        .flat_map(|e| &e.deny)
        .any(|p| matches(p, method) || target.is_some_and(|t| matches(p, t)));
    if denied {
        return false;
    }
    if HOUSEKEEPING.contains(&method) {
        return true;
    }
    if TARGETED.contains(&method) {
        let Some(target) = target else { return false };
        return entries.iter().any(|e| {
            (method == "tools/call" || e.methods.iter().any(|p| matches(p, method)))
                && e.tools.iter().any(|p| matches(p, target))
        });
    }
    entries.iter().any(|e| {
        e.methods.iter().any(|p| matches(p, method))
            || e.tools.iter().any(|p| is_literal(p) && p == method)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn engine_agrees_with_the_reference_model(
        model in model(),
        groups in names(GROUPS, 3),
        claim in names(SCOPES, 3),
        server in pick(&["s1", "s2", "/s1", "S1", "sx", "s12"]),
        method in pick(METHODS),
        target in proptest::option::weighted(0.8, pick(TARGETS)),
    ) {
        let policy = Policy::parse(&to_yaml(&model)).expect("generated policies parse");
        let scopes = policy.scopes_of(&Caller { admin: false, groups: &groups, scope_claim: &claim });
        prop_assert_eq!(&scopes.names, &scopes_of(&model, &groups, &claim));
        let target = if TARGETED.contains(&method.as_str()) { target } else { None };
        let decision = policy.decide(&scopes, &Request { server: &server, method: &method, target: target.as_deref() });
        let expected = reference(&model, &scopes.names, &server, &method, target.as_deref());
        prop_assert_eq!(decision.allowed, expected, "{}", decision);
        if method == "tools/call" && let Some(tool) = &target {
            let filter = std::sync::Arc::new(policy.clone()).tool_filter(scopes.clone(), &server);
            prop_assert_eq!(filter.allows(tool), expected);
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "\\PC{0,200}") {
        let _ = Policy::parse(&text);
    }
}
