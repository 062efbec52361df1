//! The names tools get on the aggregated endpoint: `{server}{separator}{tool}`, kept
//! within what the protocol allows and unique whatever servers and tools are called.
//!
//! MCP (2025-11-25, "Tool names") says a name SHOULD be 1–128 characters of
//! `A-Z a-z 0-9 _ - .`; clients such as VS Code and Claude Code refuse others. A composed
//! name that would break those rules is made to fit: characters outside the set become
//! `_`, and a name longer than 128 is cut and ends in `-` plus eight hex digits of a hash
//! of the server and tool, so two long names that share a prefix stay apart. Names that
//! still collide (server `a__b` with tool `c`, and server `a` with tool `b__c`), or that
//! equal a built-in tool's name, all get the hash suffix: the rule does not depend on the
//! order servers were registered in.

use std::collections::HashMap;

/// Longest tool name clients accept.
pub const MAX_TOOL_NAME: usize = 128;
/// The separator between server and tool unless configured otherwise.
pub const DEFAULT_SEPARATOR: &str = "__";

/// Whether `c` may appear in a tool name.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Eight hex digits identifying `(server, tool)` (FNV-1a: stable across releases and
/// platforms, unlike the standard library's hasher).
fn tag(server: &str, tool: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in server.bytes().chain([0]).chain(tool.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// The plain composed name, or `None` when it breaks the protocol's rules.
fn plain(server: &str, separator: &str, tool: &str) -> Option<String> {
    let name = format!("{server}{separator}{tool}");
    (!tool.is_empty() && name.len() <= MAX_TOOL_NAME && name.chars().all(allowed)).then_some(name)
}

/// The composed name with invalid characters replaced, cut to fit and tagged.
fn tagged(server: &str, separator: &str, tool: &str) -> String {
    let tag = tag(server, tool);
    let composed: String = format!("{server}{separator}{tool}")
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    // Everything is ASCII now, so byte lengths are character counts.
    let room = MAX_TOOL_NAME - tag.len() - 1;
    let cut = &composed[..composed.len().min(room)];
    format!("{cut}-{tag}")
}

/// Names every `(server, tool)` pair, in the order given; `reserved` names (the built-in
/// tools) are never produced.
pub fn assign(pairs: &[(&str, &str)], separator: &str, reserved: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = pairs
        .iter()
        .map(|(server, tool)| {
            plain(server, separator, tool).unwrap_or_else(|| tagged(server, separator, tool))
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for name in &names {
        *seen.entry(name.as_str()).or_default() += 1;
    }
    let clashing: Vec<bool> = names
        .iter()
        .map(|name| seen[name.as_str()] > 1 || reserved.contains(&name.as_str()))
        .collect();
    for ((name, clash), (server, tool)) in names.iter_mut().zip(clashing).zip(pairs) {
        if clash {
            *name = tagged(server, separator, tool);
        }
    }
    make_unique(&mut names, reserved);
    names
}

/// Last resort, for names still equal after tagging (a plain name chosen to equal another
/// pair's tagged one, or two tags that collide): every repeat after the first, in the
/// given order, is numbered (`-2`, `-3` …) until no two names are equal.
fn make_unique(names: &mut [String], reserved: &[&str]) {
    let mut taken: std::collections::HashSet<String> =
        reserved.iter().map(|name| (*name).to_owned()).collect();
    for index in 0..names.len() {
        if taken.insert(names[index].clone()) {
            continue;
        }
        let base = names[index].clone();
        let mut number = 2usize;
        let unique = loop {
            let suffix = format!("-{number}");
            let room = MAX_TOOL_NAME - suffix.len();
            let candidate = format!("{}{suffix}", &base[..base.len().min(room)]);
            if !taken.contains(&candidate) && !names[index + 1..].contains(&candidate) {
                break candidate;
            }
            number += 1;
        };
        taken.insert(unique.clone());
        names[index] = unique;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_server_separator_tool() {
        let names = assign(&[("time", "now"), ("git", "open_pr")], "__", &[]);
        assert_eq!(names, ["time__now", "git__open_pr"]);
        assert_eq!(assign(&[("time", "now")], ".", &[]), ["time.now"]);
    }

    #[test]
    fn invalid_and_long_names_are_made_to_fit() {
        let long = "x".repeat(200);
        let names = assign(
            &[("s", &long), ("s", "with space/slash"), ("s", "")],
            "__",
            &[],
        );
        for name in &names {
            assert!(name.len() <= MAX_TOOL_NAME, "{name}");
            assert!(name.chars().all(allowed), "{name}");
        }
        assert!(names[1].starts_with("s__with_space_slash-"));
        // Two long names with the same first 128 characters stay apart.
        let other = format!("{long}y");
        let names = assign(&[("s", &long), ("s", &other)], "__", &[]);
        assert_ne!(names[0], names[1]);
    }

    #[test]
    fn clashes_and_reserved_names_are_all_tagged_whatever_the_order() {
        let forward = assign(&[("a__b", "c"), ("a", "b__c"), ("z", "y")], "__", &[]);
        let backward = assign(&[("z", "y"), ("a", "b__c"), ("a__b", "c")], "__", &[]);
        assert_ne!(forward[0], forward[1]);
        assert_eq!(forward[0], backward[2]);
        assert_eq!(forward[1], backward[1]);
        assert_eq!(forward[2], "z__y");
        let names = assign(&[("list", "services")], "_", &["list_services"]);
        assert_ne!(names[0], "list_services");
    }

    #[test]
    fn a_name_chosen_to_equal_another_pairs_tag_is_still_unique() {
        // Server `a__b` with tool `c` clashes with server `a` and tool `b__c`, so both are
        // tagged; a third server registers a tool named exactly like one of the tags.
        let tagged_name = assign(&[("a__b", "c"), ("a", "b__c")], "__", &[])[0].clone();
        let (server, tool) = tagged_name.split_once("__").unwrap();
        let pairs = [("a__b", "c"), ("a", "b__c"), (server, tool)];
        let names = assign(&pairs, "__", &[]);
        let distinct: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), 3, "{names:?}");
        assert!(names.iter().all(|name| name.len() <= MAX_TOOL_NAME));
    }
}
