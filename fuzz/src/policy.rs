//! What the two `scopes.yml` fuzz targets (`policy_parse`, `scopes_structured`) do with a
//! policy once it parsed: ask every decision function of the engine about requests made
//! from names the policy is likely to contain, and check the relations between the answers
//! that hold for any policy. A panic anywhere (an index out of range, an overflow, a
//! failed assertion here) is what libFuzzer reports.
//!
//! The relations checked are the ones the data plane and the registry rely on:
//! - an admin is allowed everything and a caller without scopes nothing;
//! - a server is the same server with or without surrounding slashes;
//! - a `tools/list` filter agrees with `decide` on `tools/call` for every tool;
//! - housekeeping allowed on a server implies the server may be used at all;
//! - every grant and denial names one of the caller's scopes;
//! - a registry action on a server is only allowed if the caller has an entry for it;
//! - `lint` with the registered servers known only adds findings to `lint(None)`.

use std::collections::HashSet;
use std::sync::Arc;

use mcpgw_policy::{
    Caller, Decision, HOUSEKEEPING, Policy, PolicyError, Reason, Request, Scopes, ServerRef,
    TARGETED, UiAction,
};

/// At most this many names are taken from an input, to keep one run short.
const MAX_WORDS: usize = 12;

/// Candidate names (groups, scopes, servers, methods, tools) found in a policy's text:
/// its words, split on YAML punctuation and white space, without repeats.
pub fn words(text: &str) -> Vec<&str> {
    let mut words: Vec<&str> = Vec::new();
    let separators = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ':' | ',' | '[' | ']' | '{' | '}' | '"' | '\'' | '#' | '&' | '!' | '|' | '>'
            )
    };
    for word in text.split(separators) {
        let word = word.trim_start_matches('-');
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
            if words.len() == MAX_WORDS {
                break;
            }
        }
    }
    words
}

/// Checks what an error says: a syntax error names a real place in the file.
pub fn check_error(text: &str, error: &PolicyError) {
    let shown = error.to_string();
    assert!(!shown.is_empty());
    match error {
        PolicyError::Syntax {
            line,
            column,
            message,
        } => {
            assert!(*line >= 1 && *column >= 1, "unplaced syntax error: {shown}");
            let breaks = text.matches(['\n', '\r']).count();
            assert!(*line <= breaks + 1, "line {line} beyond the text: {shown}");
            assert!(!message.is_empty(), "syntax error without a message");
        }
        PolicyError::Invalid(message) => assert!(!message.is_empty()),
        PolicyError::Unreadable { .. } => panic!("parse reported an I/O error: {shown}"),
    }
}

/// Asks the engine about requests made from `names` (repeats ignored) and checks the
/// answers.
pub fn exercise(policy: Policy, names: &[&str]) {
    assert!(policy.is_configured());
    let policy = Arc::new(policy);
    let mut owned: Vec<String> = Vec::new();
    for name in names {
        if !owned.iter().any(|o| o == name) {
            owned.push((*name).to_owned());
        }
    }
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    let names = names.as_slice();

    // Who asks: an admin, every name as a group, every name as a scope claim, one group
    // each, nobody.
    let admin = policy.scopes_of(&Caller {
        admin: true,
        groups: &owned,
        scope_claim: &[],
    });
    assert!(admin.admin);
    let nobody = policy.scopes_of(&Caller {
        admin: false,
        groups: &[],
        scope_claim: &[],
    });
    assert_eq!(nobody, Scopes::default());
    let claimed = policy.scopes_of(&Caller {
        admin: false,
        groups: &[],
        scope_claim: &owned,
    });
    assert_eq!(claimed.names, owned, "a scope claim is used as given");
    let grouped = policy.scopes_of(&Caller {
        admin: false,
        groups: &owned,
        scope_claim: &owned,
    });
    // Checked with sets: a policy may map a group to thousands of scopes, and the time
    // that takes should be the engine's, not this harness's.
    let all: HashSet<&str> = grouped.names.iter().map(String::as_str).collect();
    assert_eq!(all.len(), grouped.names.len(), "scopes without repeats");
    let mut callers = vec![admin, nobody, claimed];
    for name in owned.iter().take(3) {
        let single = policy.scopes_of(&Caller {
            admin: false,
            groups: std::slice::from_ref(name),
            scope_claim: &[],
        });
        for scope in &single.names {
            assert!(all.contains(scope.as_str()), "groups add up");
        }
        callers.push(single);
    }
    callers.push(grouped);

    let mut servers: Vec<String> = names.iter().take(3).map(|n| (*n).to_owned()).collect();
    servers.push(String::new());
    let mut methods: Vec<&str> = vec![HOUSEKEEPING[0], "tools/list"];
    methods.extend(TARGETED);
    methods.extend(names.iter().take(2));
    let mut targets: Vec<Option<&str>> = vec![None];
    targets.extend(names.iter().take(2).map(|n| Some(*n)));

    for scopes in &callers {
        for server in &servers {
            check_server(&policy, scopes, server, &methods, &targets);
        }
        check_ui(&policy, scopes, names);
    }

    let findings = policy.lint(None);
    let known = policy.lint(Some(&owned));
    let mut rest = known.iter();
    for finding in &findings {
        assert!(!finding.to_string().is_empty());
        assert!(
            rest.any(|k| k == finding),
            "lint with known servers lost {finding}"
        );
    }
    for finding in &known {
        assert!(!finding.to_string().is_empty());
    }
}

fn check_server(
    policy: &Arc<Policy>,
    scopes: &Scopes,
    server: &str,
    methods: &[&str],
    targets: &[Option<&str>],
) {
    let access = policy.decide_server_access(scopes, server);
    check_decision(scopes, &access);
    let slashed = format!("/{server}/");
    assert_eq!(policy.decide_server_access(scopes, &slashed), access);
    let filter = policy.tool_filter(scopes.clone(), server);
    for &method in methods {
        for &target in targets {
            let request = Request {
                server,
                method,
                target,
            };
            let decision = policy.decide(scopes, &request);
            check_decision(scopes, &decision);
            if target.is_none() {
                let again = Request {
                    server: &slashed,
                    ..request
                };
                assert_eq!(policy.decide(scopes, &again), decision, "slashes matter");
            }
            let unplaced = matches!(decision.reason, Reason::ServerNotGranted { .. });
            assert_eq!(
                unplaced,
                matches!(access.reason, Reason::ServerNotGranted { .. }),
                "decide and decide_server_access disagree on {server}: {decision} / {access}"
            );
            if decision.allowed && HOUSEKEEPING.contains(&method) {
                assert!(access.allowed, "housekeeping allowed, server not: {access}");
            }
            if TARGETED.contains(&method) && target.is_none() {
                assert_eq!(decision.allowed, scopes.admin, "{method} without a target");
            }
            if method == "tools/call"
                && let Some(tool) = target
            {
                assert_eq!(filter.allows(tool), decision.allowed, "filter vs decide");
                if filter.allows_everything() && !mcpgw_policy::is_ambiguous_target(tool) {
                    assert!(decision.allowed);
                }
            }
        }
    }
}

fn check_ui(policy: &Policy, scopes: &Scopes, names: &[&str]) {
    let mut refs: Vec<Option<ServerRef<'_>>> = vec![None];
    for (index, path) in names.iter().take(3).enumerate() {
        let name = names.get(index + 1).copied().unwrap_or("");
        refs.push(Some(ServerRef { path, name }));
    }
    for action in UiAction::ALL {
        assert_eq!(UiAction::from_permission(action.permission()), Some(action));
        let general = policy.decide_ui(scopes, action, None);
        check_decision(scopes, &general);
        for server in &refs {
            let decision = policy.decide_ui(scopes, action, *server);
            check_decision(scopes, &decision);
            if action == UiAction::Register {
                assert_eq!(decision, general, "registering is about no server");
            }
            if let Some(server) = server
                && decision.allowed
                && !scopes.admin
                && action != UiAction::Register
            {
                let access = policy.decide_server_access(scopes, server.path);
                assert!(
                    !matches!(access.reason, Reason::ServerNotGranted { .. }),
                    "registry action on a server without an entry: {decision}"
                );
            }
        }
    }
}

/// What holds for any single decision.
fn check_decision(scopes: &Scopes, decision: &Decision) {
    assert!(!decision.to_string().is_empty());
    if scopes.admin {
        assert_eq!(decision, &Decision::allow(Reason::Admin));
        return;
    }
    if scopes.names.is_empty() {
        assert_eq!(decision, &Decision::deny(Reason::NoScopes));
        return;
    }
    match &decision.reason {
        Reason::Granted(grant) => {
            assert!(decision.allowed);
            assert!(scopes.names.contains(&grant.scope), "grant from elsewhere");
        }
        Reason::Denied(grant) => {
            assert!(!decision.allowed);
            assert!(scopes.names.contains(&grant.scope), "denial from elsewhere");
        }
        Reason::Admin | Reason::NoPolicy | Reason::NoScopes => {
            panic!("{decision} for a non-admin with scopes under a policy")
        }
        _ => assert!(!decision.allowed),
    }
}
