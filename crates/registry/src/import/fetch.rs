//! Reading a peer registry's `/v0.1/servers`, every page, with bounds: a registry that is
//! down, slow, answers an error page or something that is not JSON fails the whole read
//! with a message saying which, so an import or a sync never works from half a list.

use std::time::Duration;

use serde_json::Value;

use super::{Entry, ImportError, documents};

/// Entries per page asked for (the API's maximum).
const PAGE_SIZE: usize = 100;
/// Pages read at most (100,000 entries): a registry that keeps sending cursors is cut off.
const MAX_PAGES: usize = 1_000;
/// Largest page accepted.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Time allowed for one page.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// What to read from a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryQuery {
    /// The registry's base URL (`https://registry.modelcontextprotocol.io`).
    pub url: String,
    /// A bearer credential, if the registry wants one (another mcpgw does).
    pub token: Option<String>,
    /// Only entries matching this search.
    pub search: Option<String>,
    /// Deleted entries too (a sync needs them, to apply deletions).
    pub include_deleted: bool,
}

/// Reads the latest version of every server `query` selects.
pub async fn fetch_registry(
    client: &reqwest::Client,
    query: &RegistryQuery,
) -> Result<Vec<Entry>, ImportError> {
    let base = query.url.trim_end_matches('/');
    let mut endpoint = url::Url::parse(&format!("{base}/v0.1/servers"))
        .map_err(|error| unreachable(base, &format!("not a URL: {error}")))?;
    if !matches!(endpoint.scheme(), "http" | "https") {
        return Err(unreachable(
            base,
            "only http and https registries can be read",
        ));
    }
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        {
            let mut pairs = endpoint.query_pairs_mut();
            pairs.clear();
            pairs.append_pair("limit", &PAGE_SIZE.to_string());
            pairs.append_pair("version", "latest");
            if let Some(search) = &query.search {
                pairs.append_pair("search", search);
            }
            if query.include_deleted {
                pairs.append_pair("include_deleted", "true");
            }
            if let Some(cursor) = &cursor {
                pairs.append_pair("cursor", cursor);
            }
        }
        let page = fetch_page(client, &endpoint, query.token.as_deref()).await?;
        entries.extend(documents(&page).map_err(|error| in_page(&endpoint, error))?);
        let value: Value = serde_json::from_slice(&page).map_err(ImportError::NotJson)?;
        match value
            .pointer("/metadata/nextCursor")
            .and_then(Value::as_str)
            .filter(|next| !next.is_empty())
        {
            Some(next) if Some(next) != cursor.as_deref() => cursor = Some(next.to_owned()),
            Some(_) => {
                return Err(unreachable(base, "the registry sent the same cursor twice"));
            }
            None => return Ok(entries),
        }
    }
    Err(unreachable(
        base,
        &format!("more than {MAX_PAGES} pages; narrow the import with a search"),
    ))
}

/// One page's bytes, or why there are none.
async fn fetch_page(
    client: &reqwest::Client,
    endpoint: &url::Url,
    token: Option<&str>,
) -> Result<Vec<u8>, ImportError> {
    let shown = endpoint.as_str();
    let mut request = client
        .get(endpoint.clone())
        .header("accept", "application/json")
        .timeout(PAGE_TIMEOUT);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request
        .send()
        .await
        .map_err(|error| unreachable(shown, &describe(&error)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(unreachable(
            shown,
            &format!("the registry answered HTTP {}", status.as_u16()),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| unreachable(shown, &describe(&error)))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(unreachable(
                shown,
                &format!("a page larger than {} MiB", MAX_PAGE_BYTES / (1024 * 1024)),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    if serde_json::from_slice::<Value>(&body).is_err() {
        let start = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        return Err(ImportError::Invalid {
            field: shown.to_owned(),
            message: format!("the page is not JSON (it starts with {start:?})"),
        });
    }
    Ok(body)
}

/// A transport error in a sentence (reqwest's own text hides the cause in its source).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn unreachable(url: &str, why: &str) -> ImportError {
    ImportError::Unreachable(format!("{url}: {why}"))
}

/// An entry error, said to be in a page of `endpoint`.
fn in_page(endpoint: &url::Url, error: ImportError) -> ImportError {
    match error {
        ImportError::Invalid { field, message } => ImportError::Invalid {
            field: format!("{endpoint} {field}"),
            message,
        },
        other => other,
    }
}
