//! The query parameters of the registry API, read as the official registry reads them:
//! `limit` 1–100 (default 30, else 422), `updated_since` an RFC 3339 time (else 400),
//! booleans `true`/`false`, and `include_deleted=false` refused beside `updated_since`
//! (an incremental sync must see deletions). Unknown parameters are ignored.

use chrono::{DateTime, Utc};

use super::problem::Problem;

/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 30;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 100;

/// What `GET /v0.1/servers` was asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    /// Where the previous page ended (`name:version`), exclusive.
    pub cursor: Option<Cursor>,
    /// Largest page.
    pub limit: usize,
    /// Case-insensitive substring of the name, title or description.
    pub search: Option<String>,
    /// Only entries updated strictly after this time (deleted ones included).
    pub updated_since: Option<DateTime<Utc>>,
    /// `latest`, or one exact version.
    pub version: Option<String>,
    /// Whether deleted versions are listed.
    pub include_deleted: bool,
}

/// A position in the list, which is ordered by (name, version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The name of the last entry of the previous page.
    pub name: String,
    /// Its version, if the cursor has one (a bare name skips every version of it).
    pub version: Option<String>,
}

impl Cursor {
    /// Reads `name:version`, split at the first `:` (names have none; versions may).
    pub fn parse(text: &str) -> Cursor {
        match text.split_once(':') {
            Some((name, version)) => Cursor {
                name: name.to_owned(),
                version: Some(version.to_owned()),
            },
            None => Cursor {
                name: text.to_owned(),
                version: None,
            },
        }
    }

    /// The cursor that follows the entry `name`@`version`.
    pub fn after(name: &str, version: &str) -> String {
        format!("{name}:{version}")
    }

    /// True when the entry `name`@`version` comes after this position.
    pub fn is_before(&self, name: &str, version: &str) -> bool {
        match &self.version {
            Some(at) => (name, version) > (self.name.as_str(), at.as_str()),
            None => name > self.name.as_str(),
        }
    }
}

/// The query's `(name, value)` pairs, percent-decoded.
pub fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Problem> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|error| Problem::bad_request(format!("unreadable query string: {error}")))
}

/// The last value of `name`, if given.
fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// `include_deleted`, if given.
pub fn include_deleted(pairs: &[(String, String)]) -> Result<Option<bool>, Problem> {
    value(pairs, "include_deleted")
        .map(|text| match text {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(Problem::unprocessable(format!(
                "include_deleted must be true or false, not '{other}'"
            ))),
        })
        .transpose()
}

impl ListParams {
    /// Reads the list's parameters.
    pub fn parse(pairs: &[(String, String)]) -> Result<ListParams, Problem> {
        let limit = match value(pairs, "limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT as i64).contains(limit))
                .and_then(|limit| usize::try_from(limit).ok())
                .ok_or_else(|| {
                    Problem::unprocessable(format!(
                        "limit must be an integer from 1 to {MAX_LIMIT}, not '{text}'"
                    ))
                })?,
        };
        let updated_since = value(pairs, "updated_since")
            .map(|text| {
                DateTime::parse_from_rfc3339(text)
                    .map(|time| time.with_timezone(&Utc))
                    .map_err(|_| {
                        Problem::bad_request(
                            "Invalid updated_since format: expected RFC3339 timestamp \
                             (e.g., 2025-08-07T13:15:04.280Z)",
                        )
                    })
            })
            .transpose()?;
        let include_deleted = match (include_deleted(pairs)?, updated_since) {
            (Some(false), Some(_)) => {
                return Err(Problem::bad_request(
                    "Cannot set include_deleted=false when using updated_since \
                     (incremental sync requires deleted servers)",
                ));
            }
            (_, Some(_)) => true,
            (given, None) => given.unwrap_or(false),
        };
        let non_empty = |name: &str| {
            value(pairs, name)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        Ok(ListParams {
            cursor: non_empty("cursor").map(|text| Cursor::parse(&text)),
            limit,
            search: non_empty("search").map(|text| text.to_lowercase()),
            updated_since,
            version: non_empty("version"),
            include_deleted,
        })
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
