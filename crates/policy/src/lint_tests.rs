//! What lint reports, and that a clean file has no warnings.

use crate::{Policy, Severity};

fn warnings(text: &str, known: Option<&[String]>) -> Vec<String> {
    Policy::parse(text)
        .unwrap()
        .lint(known)
        .into_iter()
        .filter(|finding| finding.severity == Severity::Warning)
        .map(|finding| finding.message)
        .collect()
}

#[test]
fn finds_groups_mapped_to_nothing_and_to_undefined_scopes() {
    let found = warnings("group_mappings:\n  a: []\n  b: [missing]\n", None);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("'a' is mapped to no scope"));
    assert!(found[1].contains("'missing'"));
}

#[test]
fn finds_entries_that_can_never_apply_or_grant() {
    let text = "s:\n- methods: [ping]\n- server: x\n- server: y\n  tools: [t]\n  deny: ['*']\n\
                - server: z\n  methods: [prompts/get]\n";
    let found = warnings(text, None);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found[0].contains("entry 1 has no server"));
    assert!(found[1].contains("entry 2 ('x') grants nothing"));
    assert!(found[2].contains("entry 3 ('y') denies '*'"));
    assert!(found[3].contains("entry 4 ('z') lists prompts/get but no tools"));
}

#[test]
fn finds_unknown_servers_when_the_registry_is_known() {
    let known = vec!["currenttime".to_owned(), "fininfo".to_owned()];
    let found = warnings(
        "s:\n- server: currenttime\n  tools: [t]\n- server: 'fin*'\n  tools: [t]\n- server: gone\n  tools: [t]\n",
        Some(&known),
    );
    assert_eq!(
        found,
        ["scope 's' entry 3 is about 'gone', which matches no registered server"]
    );
}

#[test]
fn notes_scopes_nobody_is_mapped_to() {
    let findings = Policy::parse("lonely:\n- server: x\n  tools: [t]\n")
        .unwrap()
        .lint(None);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Info);
    assert!(
        findings[0]
            .message
            .contains("'lonely' is in no group mapping")
    );
}

#[test]
fn finds_entries_shadowed_by_an_earlier_one_and_calls_without_tools() {
    let text = "s:\n- server: '*'\n  methods: ['*']\n  tools: ['*']\n\
                - server: a\n  methods: [tools/list]\n\
                - server: a\n  deny: [t]\n\
                t:\n- server: b\n  methods: [tools/call]\n\
                - server: b\n  methods: ['*']\n  tools: ['*']\n";
    let found = warnings(text, None);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("scope 's' entry 2 is unreachable: entry 1"),
        "{found:?}"
    );
    assert!(
        found[1].contains("entry 1 ('b') lists tools/call but no tools"),
        "{found:?}"
    );
}

#[test]
fn many_scopes_and_mappings_are_linted_one_finding_each() {
    // Found while looking into a slow fuzz input (see policy_tests.rs): every scope was
    // looked for in every group mapping, so 60,000 scopes and a group of 100,000 names (a
    // 1.2 MB file) took 10 s at start. Here 30,000 of each took 20 s in a debug build;
    // with a set, milliseconds. No timing is asserted: at this size a quadratic version
    // shows as a test that takes tens of seconds.
    let count = 30_000;
    let mapped: Vec<String> = (0..count).map(|i| format!("m{i}")).collect();
    let mut text = format!("group_mappings:\n  g: [{}]\n", mapped.join(", "));
    for i in 0..count {
        text.push_str(&format!("d{i}: []\n"));
    }
    let policy = Policy::parse(&text).unwrap();
    let findings = policy.lint(None);
    // Each mapped name is undefined, each defined scope is unmapped.
    assert_eq!(findings.len(), 2 * count);
}

#[test]
fn notes_registry_roles_without_entries_of_their_own() {
    let text = "group_mappings:\n  ops: [ops-ui, ops]\nUI-Scopes:\n  ops-ui:\n    list_service: [all]\n  \
                ops:\n    toggle_service: [x]\nops:\n- server: x\n  methods: [initialize]\n";
    let findings = Policy::parse(text).unwrap().lint(None);
    let notes: Vec<&str> = findings
        .iter()
        .filter(|finding| finding.message.contains("no server entries of its own"))
        .map(|finding| finding.message.as_str())
        .collect();
    assert_eq!(notes.len(), 1, "{findings:?}");
    assert!(notes[0].contains("'ops-ui'"));
    assert!(
        findings
            .iter()
            .all(|finding| finding.severity != Severity::Warning),
        "a note, not a warning: the role may be meant to be combined"
    );
}
