//! Every rule of the decision, with the Python gateway's behaviour where it has one.

use std::sync::Arc;

use crate::{Caller, Decision, Policy, Reason, Request, Scopes};

/// The Python gateway's own test fixture: read and write scopes on one server, and an
/// all-powerful scope with wildcards.
const PYTHON_FIXTURE: &str = "
read:servers:
- server: test-server
  methods: [initialize, tools/list]
  tools: []
write:servers:
- server: test-server
  methods: [initialize, tools/list, tools/call]
  tools: ['*']
admin:all:
- server: '*'
  methods: ['*']
  tools: ['*']
";

fn scopes(names: &[&str]) -> Scopes {
    Scopes {
        admin: false,
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    }
}

fn decide(
    policy: &Policy,
    names: &[&str],
    server: &str,
    method: &str,
    target: Option<&str>,
) -> Decision {
    policy.decide(
        &scopes(names),
        &Request {
            server,
            method,
            target,
        },
    )
}

fn allowed(
    policy: &Policy,
    names: &[&str],
    server: &str,
    method: &str,
    target: Option<&str>,
) -> bool {
    decide(policy, names, server, method, target).allowed
}

fn python() -> Policy {
    Policy::parse(PYTHON_FIXTURE).unwrap()
}

#[test]
fn a_listed_method_on_the_named_server_is_allowed() {
    let policy = python();
    assert!(allowed(
        &policy,
        &["read:servers"],
        "test-server",
        "tools/list",
        None
    ));
    assert!(!allowed(
        &policy,
        &["read:servers"],
        "other-server",
        "tools/list",
        None
    ));
    assert!(!allowed(
        &policy,
        &["read:servers"],
        "test-server",
        "resources/list",
        None
    ));
    assert!(allowed(
        &policy,
        &["admin:all"],
        "any-server",
        "resources/list",
        None
    ));
}

#[test]
fn tools_call_needs_the_tool_under_tools() {
    let policy = python();
    assert!(allowed(
        &policy,
        &["write:servers"],
        "test-server",
        "tools/call",
        Some("test-tool")
    ));
    let denied = decide(
        &policy,
        &["read:servers"],
        "test-server",
        "tools/call",
        Some("test-tool"),
    );
    assert!(!denied.allowed);
    assert!(
        matches!(denied.reason, Reason::TargetNotGranted { .. }),
        "{denied}"
    );
    // As in Python, the tool list alone allows the call: `methods` is not consulted.
    let policy = Policy::parse("s:\n- server: x\n  methods: [tools/list]\n  tools: [t]\n").unwrap();
    assert!(allowed(&policy, &["s"], "x", "tools/call", Some("t")));
    assert!(!allowed(&policy, &["s"], "x", "tools/call", Some("u")));
    let missing = decide(&policy, &["s"], "x", "tools/call", None);
    assert!(
        matches!(missing.reason, Reason::MissingTarget { .. }),
        "{missing}"
    );
}

#[test]
fn servers_compare_without_surrounding_slashes_and_with_case() {
    let policy = Policy::parse("s:\n- server: /currenttime/\n  methods: [tools/list]\n- server: Fin\n  methods: [tools/list]\n").unwrap();
    for server in [
        "currenttime",
        "/currenttime",
        "currenttime/",
        "/currenttime/",
    ] {
        assert!(
            allowed(&policy, &["s"], server, "tools/list", None),
            "{server}"
        );
    }
    assert!(!allowed(&policy, &["s"], "CurrentTime", "tools/list", None));
    assert!(!allowed(&policy, &["s"], "fin", "tools/list", None));
    assert!(allowed(&policy, &["s"], "Fin", "tools/list", None));
}

#[test]
fn tool_names_compare_exactly() {
    let policy = Policy::parse("s:\n- server: time\n  tools: [current_time]\n").unwrap();
    assert!(allowed(
        &policy,
        &["s"],
        "time",
        "tools/call",
        Some("current_time")
    ));
    for bypass in [
        "Current_Time",
        "current_time ",
        "time__current_time",
        "time/current_time",
        "current_time\u{0}",
        "current_time2",
    ] {
        assert!(
            !allowed(&policy, &["s"], "time", "tools/call", Some(bypass)),
            "{bypass:?}"
        );
    }
}

#[test]
fn any_scope_may_allow_and_unknown_scopes_are_ignored() {
    let policy = python();
    let decision = decide(
        &policy,
        &["nonexistent", "read:servers", "write:servers"],
        "test-server",
        "tools/call",
        Some("t"),
    );
    assert!(decision.allowed);
    assert_eq!(
        decision.to_string(),
        "allow: allowed by scope 'write:servers' entry 1 (tools: *)"
    );
    assert!(!allowed(
        &policy,
        &["nonexistent"],
        "test-server",
        "initialize",
        None
    ));
}

#[test]
fn a_method_listed_under_tools_is_allowed_as_in_python() {
    let policy =
        Policy::parse("s:\n- server: x\n  methods: []\n  tools: [resources/list, 'prompts/*']\n")
            .unwrap();
    assert!(allowed(&policy, &["s"], "x", "resources/list", None));
    // Only exact names: a pattern under tools is about tools, never about methods.
    assert!(!allowed(&policy, &["s"], "x", "prompts/list", None));
}

#[test]
fn housekeeping_is_allowed_to_anyone_who_may_use_the_server() {
    let policy = Policy::parse("s:\n- server: x\n  tools: [t]\n").unwrap();
    for method in crate::HOUSEKEEPING {
        assert!(allowed(&policy, &["s"], "x", method, None), "{method}");
        assert!(!allowed(&policy, &["s"], "y", method, None), "{method}");
    }
    assert!(!allowed(&policy, &["s"], "x", "tools/list", None));
}

#[test]
fn prompts_and_resources_need_their_method_and_their_name() {
    let policy = Policy::parse(
        "s:\n- server: docs\n  methods: [prompts/get, resources/read]\n  tools: [summarize, 'file:///public/*']\n\
         - server: docs\n  methods: [tools/list]\n  tools: [secret_prompt]\n",
    )
    .unwrap();
    assert!(allowed(
        &policy,
        &["s"],
        "docs",
        "prompts/get",
        Some("summarize")
    ));
    assert!(allowed(
        &policy,
        &["s"],
        "docs",
        "resources/read",
        Some("file:///public/a/b.md")
    ));
    assert!(!allowed(
        &policy,
        &["s"],
        "docs",
        "resources/read",
        Some("file:///private/key")
    ));
    // The name is listed, but by an entry that does not list the method.
    let split = decide(
        &policy,
        &["s"],
        "docs",
        "prompts/get",
        Some("secret_prompt"),
    );
    assert!(
        matches!(split.reason, Reason::TargetNotGranted { .. }),
        "{split}"
    );
    let unlisted = Policy::parse("s:\n- server: docs\n  tools: ['*']\n").unwrap();
    let decision = decide(&unlisted, &["s"], "docs", "prompts/get", Some("p"));
    assert!(
        matches!(decision.reason, Reason::MethodNotGranted { .. }),
        "{decision}"
    );
}

#[test]
fn globs_in_servers_tools_and_methods() {
    let policy = Policy::parse(
        "s:\n- server: 'team-*'\n  methods: ['resources/*']\n  tools: ['get_*', all]\n\
         t:\n- server: 'fin?'\n  tools: ['get_*']\n",
    )
    .unwrap();
    assert!(allowed(
        &policy,
        &["s"],
        "team-a",
        "resources/templates/list",
        None
    ));
    assert!(!allowed(&policy, &["s"], "teams", "resources/list", None));
    assert!(allowed(
        &policy,
        &["t"],
        "fin1",
        "tools/call",
        Some("get_quote")
    ));
    assert!(!allowed(
        &policy,
        &["t"],
        "fin1",
        "tools/call",
        Some("set_quote")
    ));
    assert!(!allowed(
        &policy,
        &["t"],
        "fin12",
        "tools/call",
        Some("get_quote")
    ));
}

#[test]
fn deny_wins_over_any_allow() {
    let policy = Policy::parse(
        "all-tools:\n- server: '*'\n  methods: ['*']\n  tools: ['*']\n\
         no-deletes:\n- server: jira\n  deny: ['*delete*', resources/read]\n\
         blocked:\n- server: '*'\n  deny: ['*']\n",
    )
    .unwrap();
    let both = ["all-tools", "no-deletes"];
    assert!(allowed(
        &policy,
        &both,
        "jira",
        "tools/call",
        Some("jira_get_issue")
    ));
    let denied = decide(
        &policy,
        &both,
        "jira",
        "tools/call",
        Some("jira_delete_issue"),
    );
    assert!(!denied.allowed);
    assert_eq!(
        denied.to_string(),
        "deny: denied by scope 'no-deletes' entry 1 (deny: *delete*)"
    );
    assert!(!allowed(
        &policy,
        &both,
        "jira",
        "resources/read",
        Some("x")
    ));
    assert!(allowed(
        &policy,
        &both,
        "other",
        "tools/call",
        Some("jira_delete_issue")
    ));
    assert!(!allowed(
        &policy,
        &["all-tools", "blocked"],
        "x",
        "initialize",
        None
    ));
    assert!(
        !policy
            .decide_server_access(&scopes(&["all-tools", "blocked"]), "x")
            .allowed
    );
    assert!(policy.decide_server_access(&scopes(&both), "jira").allowed);
}

#[test]
fn admins_always_and_nobody_else_without_a_file() {
    let none = Policy::admins_only();
    let admin = Scopes {
        admin: true,
        names: vec![],
    };
    let request = Request {
        server: "x",
        method: "tools/call",
        target: Some("t"),
    };
    assert_eq!(none.decide(&admin, &request).reason, Reason::Admin);
    assert_eq!(
        none.decide(&scopes(&["s"]), &request).reason,
        Reason::NoPolicy
    );
    assert_eq!(
        python().decide(&scopes(&[]), &request).reason,
        Reason::NoScopes
    );
    assert_eq!(
        python().decide(&scopes(&["read:servers"]), &request).reason,
        Reason::ServerNotGranted { server: "x".into() }
    );
}

#[test]
fn groups_map_to_scopes_and_replace_the_scope_claim() {
    let policy = Policy::parse(
        "group_mappings:\n  devs: [read, write]\n  ops: [write, operate]\nread: []\nwrite: []\noperate: []\n",
    )
    .unwrap();
    let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let claim = owned(&["from-claim"]);
    let caller = |groups: &[String]| {
        policy
            .scopes_of(&Caller {
                admin: false,
                groups,
                scope_claim: &claim,
            })
            .names
    };
    assert_eq!(
        caller(&owned(&["devs", "ops"])),
        ["read", "write", "operate"]
    );
    assert_eq!(caller(&owned(&["unknown"])), Vec::<String>::new());
    assert_eq!(caller(&owned(&[])), ["from-claim"]);
    assert_eq!(
        caller(&owned(&["Devs"])),
        Vec::<String>::new(),
        "group names are case-sensitive"
    );
}

#[test]
fn tool_filters_follow_the_calls_they_stand_for() {
    let policy = Arc::new(
        Policy::parse(
            "s:\n- server: x\n  tools: ['get_*', ping_tool]\n- server: x\n  deny: [get_secret]\n\
             w:\n- server: y\n  tools: ['*']\n",
        )
        .unwrap(),
    );
    let filter = policy.tool_filter(scopes(&["s"]), "/x/");
    assert!(!filter.allows_everything());
    assert!(filter.allows("get_weather"));
    assert!(filter.allows("ping_tool"));
    assert!(!filter.allows("get_secret"));
    assert!(!filter.allows("set_weather"));
    assert!(policy.tool_filter(scopes(&["w"]), "y").allows_everything());
    assert!(!policy.tool_filter(scopes(&["w"]), "x").allows("anything"));
    let admin = Scopes {
        admin: true,
        names: vec![],
    };
    assert!(policy.tool_filter(admin, "z").allows_everything());
}

#[test]
fn names_and_uris_with_dot_segments_or_encoded_separators_are_refused() {
    let policy = Policy::parse(
        "r:\n- server: files\n  methods: [resources/read, tools/call]\n  \
         tools: ['file:///docs/*', '*']\n  deny: ['file:///docs/secret/*']\n",
    )
    .unwrap();
    let scopes = scopes(&["r"]);
    let read = |uri: &str| {
        policy.decide(
            &scopes,
            &Request {
                server: "files",
                method: "resources/read",
                target: Some(uri),
            },
        )
    };
    assert!(read("file:///docs/a.txt").allowed);
    for uri in [
        "file:///docs/../etc/passwd",
        "file:///docs/%2e%2e/etc/passwd",
        "file:///docs/%2E%2e/etc",
        "file:///docs/x/../secret/a",
        "file:///docs/./secret/a",
        "file:///docs%2fsecret/a",
        "file:///docs\\..\\etc",
        "file:///docs/a%00.txt",
    ] {
        let decision = read(uri);
        assert!(!decision.allowed, "{uri}");
        assert!(
            decision.reason.to_string().contains("dot segments"),
            "{uri}"
        );
    }
    assert!(
        !read("file:///docs/secret/a").allowed,
        "the deny still applies"
    );
}

#[test]
fn loose_spellings_of_targeted_methods_need_their_target_too() {
    let policy = Policy::parse("r:\n- server: s\n  methods: ['*']\n  tools: [echo]\n").unwrap();
    let scopes = scopes(&["r"]);
    for method in ["Tools/call", "tools/call ", "TOOLS/CALL", "Resources/Read"] {
        let decision = policy.decide(
            &scopes,
            &Request {
                server: "s",
                method,
                target: None,
            },
        );
        assert!(!decision.allowed, "{method}: {decision}");
    }
    let decision = policy.decide(
        &scopes,
        &Request {
            server: "s",
            method: "tools/list",
            target: None,
        },
    );
    assert!(decision.allowed);
}
