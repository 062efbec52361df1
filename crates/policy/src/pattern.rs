//! Names in the policy: exact, `*`/`all` for anything, or a glob (`get_*`, `jira_?et`).

use std::fmt;

/// One name pattern from the policy file. Matching is case-sensitive, as in the Python
/// gateway: `Weather` and `weather` are different servers and different tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*` or `all`: anything.
    Any,
    /// A name without wildcards.
    Exact(String),
    /// A name with `*` (any run of characters, `/` included) or `?` (one character).
    Glob(String),
}

impl Pattern {
    /// Reads a pattern as written in the file.
    pub fn new(text: &str) -> Pattern {
        match text {
            "*" | "all" => Pattern::Any,
            _ if text.contains(['*', '?']) => Pattern::Glob(text.to_owned()),
            _ => Pattern::Exact(text.to_owned()),
        }
    }

    /// A server pattern: written with or without leading and trailing `/`.
    pub fn server(text: &str) -> Pattern {
        Pattern::new(trim_slashes(text))
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(exact) => exact == name,
            Pattern::Glob(glob) => glob_matches(glob.as_bytes(), name.as_bytes()),
        }
    }

    /// The exact name, if this pattern is one.
    pub fn as_exact(&self) -> Option<&str> {
        match self {
            Pattern::Exact(exact) => Some(exact),
            _ => None,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Any => f.write_str("*"),
            Pattern::Exact(text) | Pattern::Glob(text) => f.write_str(text),
        }
    }
}

/// A server name as the policy compares it: without leading or trailing `/`.
pub fn trim_slashes(name: &str) -> &str {
    name.trim_matches('/')
}

/// Glob matching over bytes with `*` and `?`, in O(pattern × name) at worst: the last
/// `*` is the only backtracking point, so a hostile name cannot make it exponential.
/// `?` matches one byte; patterns and names are compared as UTF-8 bytes, so a `?`
/// against a multi-byte character needs one `?` per byte — patterns with `*` are what
/// people write for non-ASCII names.
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_exact_names_and_globs() {
        assert!(Pattern::new("*").matches("anything"));
        assert!(Pattern::new("all").matches(""));
        assert!(Pattern::new("get_weather").matches("get_weather"));
        assert!(!Pattern::new("get_weather").matches("Get_weather"));
        assert!(!Pattern::new("get_weather").matches("get_weather2"));
        let glob = Pattern::new("get_*");
        assert!(glob.matches("get_"));
        assert!(glob.matches("get_weather"));
        assert!(!glob.matches("set_weather"));
        assert!(!glob.matches("xget_weather"));
        assert!(Pattern::new("*_delete_*").matches("jira_delete_issue"));
        assert!(Pattern::new("a*b*c").matches("aXXbYYbc"));
        assert!(!Pattern::new("a*b*c").matches("aXXbYYb"));
        assert!(Pattern::new("jira_?et").matches("jira_get"));
        assert!(!Pattern::new("jira_?et").matches("jira_et"));
        assert!(Pattern::new("file:///docs/*").matches("file:///docs/a/b.md"));
    }

    #[test]
    fn servers_ignore_surrounding_slashes() {
        assert!(Pattern::server("/currenttime/").matches("currenttime"));
        assert!(Pattern::server("currenttime").matches("currenttime"));
        assert_eq!(Pattern::server("/*/"), Pattern::Any);
    }

    #[test]
    fn a_hostile_name_does_not_take_exponential_time() {
        let name = "a".repeat(10_000);
        assert!(!Pattern::new("*a*a*a*a*a*a*a*a*b").matches(&name));
    }
}
