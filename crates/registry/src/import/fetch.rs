//! Reading a peer registry's `/v0.1/servers`, every page, with bounds: a registry that is
//! down, slow, answers an error page or something that is not JSON fails the whole read
//! with a message saying which, so an import or a sync never works from half a list.

use std::time::Duration;

use super::{Entry, ImportError, documents};

/// Entries per page asked for (the API's maximum).
const PAGE_SIZE: usize = 100;
/// Pages read at most (100,000 entries): a registry that keeps sending cursors is cut off.
const MAX_PAGES: usize = 1_000;
/// Largest page accepted.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes read from one registry in all (a read is held in memory until planned).
const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;
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
    if !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(unreachable(
            &shown(&endpoint),
            "credentials in the URL are refused; give the registry's token instead",
        ));
    }
    check_token_transport(&endpoint, query.token.is_some())
        .map_err(|why| unreachable(base, &why))?;
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total = 0;
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
        total += page.len();
        if total > MAX_TOTAL_BYTES {
            return Err(unreachable(
                base,
                &format!(
                    "more than {} MiB in all; narrow the import with a search",
                    MAX_TOTAL_BYTES / (1024 * 1024)
                ),
            ));
        }
        // A page that is not JSON is the registry's failure (an error page, a proxy's
        // maintenance notice), said with how it starts.
        let found = documents(&page).map_err(|error| match error {
            ImportError::NotJson(_) => {
                let start = String::from_utf8_lossy(&page[..page.len().min(60)]).into_owned();
                unreachable(
                    &shown(&endpoint),
                    &format!("the page is not JSON (it starts with {start:?})"),
                )
            }
            other => in_page(&endpoint, other),
        })?;
        entries.extend(found);
        let next = next_cursor(&page);
        match next {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
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

/// Refuses to send a token over plain http, except on loopback (a test, or a registry
/// on the same machine).
pub(super) fn check_token_transport(url: &url::Url, has_token: bool) -> Result<(), String> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if has_token && url.scheme() == "http" && !loopback {
        return Err(
            "a token is sent to a registry over https only (plain http only on loopback)".into(),
        );
    }
    Ok(())
}

/// One page's bytes, or why there are none.
async fn fetch_page(
    client: &reqwest::Client,
    endpoint: &url::Url,
    token: Option<&str>,
) -> Result<Vec<u8>, ImportError> {
    let shown = &shown(endpoint);
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
    Ok(body)
}

/// `metadata.nextCursor` of a page, if it has a non-empty one.
fn next_cursor(page: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Page {
        metadata: Option<Metadata>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        #[serde(rename = "nextCursor")]
        next_cursor: Option<String>,
    }
    serde_json::from_slice::<Page>(page)
        .ok()?
        .metadata?
        .next_cursor
        .filter(|next| !next.is_empty())
}

/// A transport error in a few words: its innermost cause (a timeout says so itself).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer in time".to_owned();
    }
    mcpgw_mcp::client::root_cause(error)
}

/// A URL as errors show it: without credentials (a query may still carry a search).
fn shown(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A registry that could not be read, and why.
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
