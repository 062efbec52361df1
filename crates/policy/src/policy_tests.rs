//! Reading scopes files: the Python format unchanged, errors with line and column.

use crate::{Caller, Policy, PolicyError, Request};

const FIXTURE: &str = include_str!("../tests/fixtures/scopes.yml");

fn syntax(text: &str) -> (usize, usize, String) {
    match Policy::parse(text) {
        Err(PolicyError::Syntax {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn reads_the_python_format_unchanged() {
    let policy = Policy::parse(FIXTURE).unwrap();
    assert!(policy.is_configured());
    assert_eq!(policy.group_order.len(), 4);
    assert_eq!(policy.ui_order.len(), 4);
    assert_eq!(
        policy.scope_order,
        [
            "mcp-servers-unrestricted/read",
            "mcp-servers-unrestricted/execute",
            "mcp-servers-restricted/read",
            "mcp-servers-restricted/execute"
        ]
    );
    assert_eq!(policy.scopes["mcp-servers-unrestricted/read"].len(), 2);
    assert!(
        policy
            .lint(None)
            .iter()
            .all(|f| f.severity == crate::Severity::Info)
    );
}

#[test]
fn entries_of_other_kinds_and_empty_values_are_tolerated() {
    // A later Python registry put agent permissions in the same file: an entry without
    // a server, which never matches; YAML nulls stand for empty lists.
    let text = "group_mappings:\n  admins:\n  - registry-admins\n  nobody:\nregistry-admins:\n\
                - server: '*'\n  methods:\n  - all\n  tools:\n  - all\n\
                - agents:\n    actions:\n    - action: list_agents\nempty-scope:\nUI-Scopes:\n  viewer:\n    list_service:\n";
    let policy = Policy::parse(text).unwrap();
    assert_eq!(policy.scopes["registry-admins"].len(), 2);
    assert_eq!(policy.scopes["registry-admins"][1].unknown_keys, ["agents"]);
    assert!(policy.scopes["empty-scope"].is_empty());
    let groups = ["admins".to_owned()];
    let scopes = policy.scopes_of(&Caller {
        admin: false,
        groups: &groups,
        scope_claim: &[],
    });
    let request = Request {
        server: "anything",
        method: "tools/call",
        target: Some("any_tool"),
    };
    assert!(policy.decide(&scopes, &request).allowed);
}

#[test]
fn an_empty_file_is_a_policy_that_allows_nobody() {
    for text in ["", "# only a comment\n", "{}"] {
        let policy = Policy::parse(text).unwrap();
        assert!(policy.is_configured(), "{text:?}");
        let claim = ["anything".to_owned()];
        let scopes = policy.scopes_of(&Caller {
            admin: false,
            groups: &[],
            scope_claim: &claim,
        });
        let request = Request {
            server: "s",
            method: "initialize",
            target: None,
        };
        assert!(!policy.decide(&scopes, &request).allowed);
    }
}

#[test]
fn errors_name_the_line_and_column() {
    let (line, column, message) = syntax("scope:\n- server: x\n  methods: tools/list\n");
    assert_eq!((line, column), (3, 12), "{message}");
    assert!(message.contains("sequence"), "{message}");

    let (line, _, message) = syntax("scope:\n- just a string\n");
    assert_eq!(line, 2, "{message}");

    let (line, column, message) = syntax("a: []\nb: [\n");
    assert_eq!((line, column), (2, 4), "{message}");

    let (line, _, message) = syntax("a: []\na: []\n");
    assert_eq!(line, 2);
    assert!(message.contains("duplicate"), "{message}");

    let (line, _, message) = syntax("group_mappings:\n  devs: one-scope\n");
    assert_eq!(line, 2, "{message}");

    let (_, _, message) = syntax("- a\n- b\n");
    assert!(message.contains("mapping"), "{message}");
}

#[test]
fn scalars_are_read_as_names() {
    let policy =
        Policy::parse("s:\n- server: 42\n  methods: [ping, 7]\n  tools: [true]\n").unwrap();
    let entry = &policy.scopes["s"][0];
    assert!(entry.covers("42"));
    assert!(entry.tools[0].matches("true"));
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let text = " ".repeat(crate::policy::MAX_POLICY_BYTES + 1);
    assert!(matches!(Policy::parse(&text), Err(PolicyError::Invalid(_))));
}

#[test]
fn alias_bombs_are_refused() {
    // Ignored keys are still read, so anchors there must not expand without bound.
    let mut text = String::from("s:\n- server: x\n  k0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..14 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("  k{level}: &a{level} [{items}]\n"));
    }
    let error = Policy::parse(&text).unwrap_err();
    assert!(
        matches!(error, PolicyError::Syntax { .. } | PolicyError::Invalid(_)),
        "{error}"
    );
}

/// A flow list of `count` distinct names `{prefix}0`, `{prefix}1`, ….
fn many(prefix: &str, count: usize) -> String {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
    format!("[{}]", names.join(", "))
}

#[test]
fn a_group_of_many_scopes_resolves_in_order_without_repeats() {
    // Found with the policy_parse fuzz target (its seed fuzz/seeds/policy_parse/wide-group.yml
    // took two seconds a run): each scope was compared with every scope before it, so a
    // group mapped to 240,000 scopes (a 1.6 MB file, well under MAX_POLICY_BYTES) took 65 s
    // of CPU on every request of its members. Here 50,000 took 33 s in a debug build;
    // without the quadratic step they take milliseconds (no timing is asserted).
    let count = 50_000;
    let text = format!("group_mappings:\n  g: {}\n", many("s", count));
    let policy = Policy::parse(&text).unwrap();
    let groups = ["g".to_owned(), "g".to_owned()];
    let claim: Vec<String> = (0..count)
        .map(|i| format!("c{}", i % (count / 2)))
        .collect();
    let grouped = policy.scopes_of(&Caller {
        admin: false,
        groups: &groups,
        scope_claim: &[],
    });
    let claimed = policy.scopes_of(&Caller {
        admin: false,
        groups: &[],
        scope_claim: &claim,
    });
    assert_eq!(grouped.names.len(), count);
    assert_eq!(grouped.names[..2], ["s0", "s1"]);
    assert_eq!(grouped.names[count - 1], format!("s{}", count - 1));
    assert_eq!(claimed.names, claim[..count / 2]);
}
