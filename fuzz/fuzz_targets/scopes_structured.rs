//! Fuzz target: structurally valid `scopes.yml` files built with `arbitrary`.
//!
//! Random bytes rarely get past YAML's syntax, so this target writes documents of the
//! real shape (`UI-Scopes` roles and permissions, `group_mappings`, server scopes with
//! `server`/`methods`/`tools`/`deny` and unknown keys, glob patterns, `*`/`all`, anchors
//! and aliases, block and flow style, plain, single- and double-quoted scalars, any
//! Unicode) and checks what must hold for every such file:
//! - it parses (a valid file refused would lock everyone out on the next reload);
//! - groups resolve to the scopes they list, in order, without repeats;
//! - an exact server + exact tool or method listed in an entry, with no `deny` in the
//!   caller's entries for that server, is allowed; an exact name under `deny` is refused;
//! - `lint` warns once per entry without a server;
//! - and every relation of `mcpgw_fuzz::policy::exercise`.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mcpgw_fuzz::policy::exercise;
use mcpgw_policy::{Caller, Policy, Request};

/// Names people write, so that patterns and requests meet.
const POOL: &[&str] = &[
    "s1",
    "/s1/",
    "s2",
    "s*",
    "*",
    "all",
    "s?",
    "get_*",
    "get_x",
    "tools/list",
    "tools/call",
    "prompts/get",
    "resources/read",
    "initialize",
    "file:///docs/*",
    "g1",
    "r",
    "w",
    "UI-Scopes",
    "group_mappings",
    "list_service",
    "register_service",
    "modify_service",
    "server",
    "methods",
    "null",
    "~",
    "true",
    "0x1F",
    "-1",
    "a: b",
    "# not a comment",
    "&x",
    "*x",
    "naïve/ß",
    "",
];

#[derive(Debug, Arbitrary)]
enum Name {
    Pool(u8),
    Free(String),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Pool(index) => POOL[usize::from(*index) % POOL.len()].to_owned(),
            Name::Free(text) => text.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Quote {
    Plain,
    Single,
    Double,
}

#[derive(Debug, Arbitrary)]
struct Names {
    flow: bool,
    quote: Quote,
    names: Vec<Name>,
}

#[derive(Debug, Arbitrary)]
struct UiRole {
    name: Name,
    permissions: Vec<(Name, Option<Names>)>,
}

#[derive(Debug, Arbitrary)]
struct Group {
    name: Name,
    scopes: Option<Names>,
}

#[derive(Debug, Arbitrary)]
struct EntryGen {
    server: Option<Name>,
    methods: Option<Names>,
    tools: Option<Names>,
    deny: Option<Names>,
    extra: Vec<(Name, Option<Names>)>,
}

#[derive(Debug, Arbitrary)]
struct ScopeGen {
    name: Name,
    anchor: bool,
    /// Reuse an earlier anchored scope's entries (`*sN`) instead of writing new ones.
    alias: Option<u8>,
    entries: Option<Vec<EntryGen>>,
}

#[derive(Debug, Arbitrary)]
struct Doc {
    ui_first: bool,
    ui: Option<Vec<UiRole>>,
    groups: Option<Vec<Group>>,
    scopes: Vec<ScopeGen>,
}

/// One entry as the model sees it: already unquoted, never ambiguous.
#[derive(Debug, Clone)]
struct ModelEntry {
    server: Option<String>,
    methods: Vec<String>,
    tools: Vec<String>,
    deny: Vec<String>,
}

/// The file written out, and what it says.
#[derive(Default)]
struct Written {
    yaml: String,
    groups: Vec<(String, Vec<String>)>,
    scopes: Vec<(String, Vec<ModelEntry>)>,
}

/// A YAML scalar for `text`, quoted as asked when that style can hold it.
fn scalar(text: &str, quote: Quote) -> String {
    let plain_safe = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | '*' | '?'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    let single_safe = text.chars().all(|c| !needs_escape(c));
    match quote {
        Quote::Plain if plain_safe => text.to_owned(),
        Quote::Single | Quote::Plain if single_safe => format!("'{}'", text.replace('\'', "''")),
        _ => double_quoted(text),
    }
}

/// Characters a double-quoted scalar writes as an escape: controls, line breaks of any
/// YAML version, the byte-order mark and non-characters.
fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{a0}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
        || matches!(u32::from(c) & 0xfffe, 0xfffe)
        || ('\u{fdd0}'..='\u{fdef}').contains(&c)
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => {
                let code = u32::from(c);
                if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends a list value (after `key:`) at `indent`, returns the names written.
fn write_list(out: &mut String, names: &Option<Names>, indent: usize) -> Vec<String> {
    let Some(names) = names else {
        out.push('\n');
        return Vec::new();
    };
    let texts: Vec<String> = names.names.iter().map(Name::text).collect();
    let written: Vec<String> = texts.iter().map(|t| scalar(t, names.quote)).collect();
    if names.flow || texts.is_empty() {
        out.push_str(&format!(" [{}]\n", written.join(", ")));
    } else {
        out.push('\n');
        for item in written {
            out.push_str(&format!("{:indent$}- {item}\n", ""));
        }
    }
    texts
}

/// Keeps the first of each key, as a YAML mapping must.
fn unique<'a, T>(
    items: &'a [T],
    key: impl Fn(&T) -> String,
    taken: &mut Vec<String>,
) -> Vec<(String, &'a T)> {
    let mut kept = Vec::new();
    for item in items {
        let name = key(item);
        if !taken.contains(&name) {
            taken.push(name.clone());
            kept.push((name, item));
        }
    }
    kept
}

fn write(doc: &Doc) -> Written {
    let mut written = Written::default();
    let out = &mut written.yaml;
    let mut top: Vec<String> = vec!["UI-Scopes".to_owned(), "group_mappings".to_owned()];

    let mut ui = String::new();
    if let Some(roles) = &doc.ui {
        ui.push_str("UI-Scopes:");
        let roles = unique(roles, |r| r.name.text(), &mut Vec::new());
        if roles.is_empty() {
            ui.push_str(" {}");
        }
        ui.push('\n');
        for (name, role) in roles {
            ui.push_str(&format!("  {}:", scalar(&name, Quote::Double)));
            let permissions = unique(&role.permissions, |p| p.0.text(), &mut Vec::new());
            if permissions.is_empty() {
                ui.push('\n');
            } else {
                ui.push('\n');
                for (permission, (_, names)) in permissions {
                    ui.push_str(&format!("    {}:", scalar(&permission, Quote::Double)));
                    write_list(&mut ui, names, 4);
                }
            }
        }
    }
    let mut groups = String::new();
    if let Some(list) = &doc.groups {
        groups.push_str("group_mappings:");
        let list = unique(list, |g| g.name.text(), &mut Vec::new());
        if list.is_empty() {
            groups.push_str(" {}");
        }
        groups.push('\n');
        for (name, group) in list {
            groups.push_str(&format!("  {}:", scalar(&name, Quote::Double)));
            let scopes = write_list(&mut groups, &group.scopes, 2);
            written.groups.push((name, scopes));
        }
    }
    if doc.ui_first {
        out.push_str(&ui);
        out.push_str(&groups);
    } else {
        out.push_str(&groups);
        out.push_str(&ui);
    }

    let mut anchored: Vec<(usize, Vec<ModelEntry>)> = Vec::new();
    for (name, scope) in unique(&doc.scopes, |s| s.name.text(), &mut top) {
        out.push_str(&format!("{}:", scalar(&name, Quote::Double)));
        if let (Some(pick), false) = (scope.alias, anchored.is_empty()) {
            let (id, entries) = &anchored[usize::from(pick) % anchored.len()];
            out.push_str(&format!(" *s{id}\n"));
            written.scopes.push((name, entries.clone()));
            continue;
        }
        let Some(entries) = &scope.entries else {
            out.push('\n');
            written.scopes.push((name, Vec::new()));
            continue;
        };
        let id = written.scopes.len();
        if scope.anchor {
            out.push_str(&format!(" &s{id}"));
        }
        if entries.is_empty() {
            out.push_str(" []\n");
        } else {
            out.push('\n');
        }
        let mut model = Vec::new();
        for entry in entries {
            model.push(write_entry(out, entry));
        }
        if scope.anchor {
            anchored.push((id, model.clone()));
        }
        written.scopes.push((name, model));
    }
    written
}

fn write_entry(out: &mut String, entry: &EntryGen) -> ModelEntry {
    let mut lines: Vec<String> = Vec::new();
    let mut model = ModelEntry {
        server: None,
        methods: Vec::new(),
        tools: Vec::new(),
        deny: Vec::new(),
    };
    if let Some(server) = &entry.server {
        let text = server.text();
        lines.push(format!("server: {}", scalar(&text, Quote::Plain)));
        model.server = Some(text);
    }
    for (key, names, into) in [
        ("methods", &entry.methods, &mut model.methods),
        ("tools", &entry.tools, &mut model.tools),
        ("deny", &entry.deny, &mut model.deny),
    ] {
        if names.is_some() {
            let mut line = format!("{key}:");
            *into = write_list(&mut line, names, 4);
            lines.push(line.trim_end().to_owned());
        }
    }
    let mut taken: Vec<String> = ["server", "methods", "tools", "deny"]
        .map(str::to_owned)
        .into();
    for (key, (_, names)) in unique(&entry.extra, |e| e.0.text(), &mut taken) {
        let mut line = format!("{}:", scalar(&key, Quote::Double));
        write_list(&mut line, names, 4);
        lines.push(line.trim_end().to_owned());
    }
    if lines.is_empty() {
        out.push_str("  - {}\n");
    }
    for (index, line) in lines.iter().enumerate() {
        let lead = if index == 0 { "  - " } else { "    " };
        out.push_str(lead);
        out.push_str(line);
        out.push('\n');
    }
    model
}

/// A name with no wildcard meaning: matches itself only.
fn exact(name: &str) -> bool {
    !name.contains(['*', '?']) && name != "all"
}

fn trim(name: &str) -> &str {
    name.trim_matches('/')
}

fn check_model(policy: &Policy, written: &Written) {
    for (group, scopes) in &written.groups {
        let held = policy.scopes_of(&Caller {
            admin: false,
            groups: std::slice::from_ref(group),
            scope_claim: &[],
        });
        let mut expected: Vec<String> = Vec::new();
        for scope in scopes {
            if !expected.contains(scope) {
                expected.push(scope.clone());
            }
        }
        assert_eq!(held.names, expected, "group {group:?}");
    }
    let mut no_server = 0;
    for (scope, entries) in &written.scopes {
        let claim = [scope.clone()];
        let held = policy.scopes_of(&Caller {
            admin: false,
            groups: &[],
            scope_claim: &claim,
        });
        for entry in entries {
            let Some(server) = &entry.server else {
                no_server += 1;
                continue;
            };
            let server = trim(server);
            if !exact(server) {
                continue;
            }
            let covering = entries.iter().filter(|e| {
                e.server
                    .as_deref()
                    .is_some_and(|s| !exact(trim(s)) || trim(s) == server)
            });
            let denies = covering.clone().any(|e| !e.deny.is_empty());
            let decide = |method: &str, target: Option<&str>| {
                policy.decide(
                    &held,
                    &Request {
                        server,
                        method,
                        target,
                    },
                )
            };
            for tool in entry
                .tools
                .iter()
                .filter(|t| exact(t) && !mcpgw_policy::is_ambiguous_target(t))
            {
                let decision = decide("tools/call", Some(tool));
                if !denies {
                    assert!(
                        decision.allowed,
                        "{scope:?} {server:?} tool {tool:?}: {decision}"
                    );
                }
            }
            for method in entry.methods.iter().filter(|m| exact(m)) {
                if ["tools/call", "prompts/get", "resources/read"]
                    .iter()
                    .any(|targeted| targeted.eq_ignore_ascii_case(method.trim()))
                {
                    continue;
                }
                let decision = decide(method, None);
                if !denies {
                    assert!(
                        decision.allowed,
                        "{scope:?} {server:?} method {method:?}: {decision}"
                    );
                }
            }
            for denied in entry.deny.iter().filter(|d| exact(d)) {
                let decision = decide("tools/call", Some(denied));
                assert!(
                    !decision.allowed,
                    "{scope:?} {server:?} deny {denied:?}: {decision}"
                );
                let decision = decide(denied, None);
                assert!(
                    !decision.allowed,
                    "{scope:?} {server:?} deny {denied:?}: {decision}"
                );
            }
        }
    }
    let warned = policy
        .lint(None)
        .iter()
        .filter(|f| f.message.ends_with("has no server: it never applies"))
        .count();
    assert_eq!(warned, no_server, "lint of entries without a server");
}

fuzz_target!(|doc: Doc| {
    let written = write(&doc);
    let policy = match Policy::parse(&written.yaml) {
        Ok(policy) => policy,
        Err(error) => panic!("a valid file was refused: {error}\n{}", written.yaml),
    };
    check_model(&policy, &written);
    let mut names: Vec<&str> = POOL.iter().take(12).copied().collect();
    names.extend(written.scopes.iter().take(4).map(|(name, _)| name.as_str()));
    names.extend(written.groups.iter().take(4).map(|(name, _)| name.as_str()));
    exercise(policy, &names);
});
