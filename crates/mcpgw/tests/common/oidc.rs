//! A real OpenID provider for tests: npm `oidc-provider`, run by `tests/oidc/provider.mjs`
//! (installed by `scripts/test`), issuing JWT access tokens by client_credentials.

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// A running provider; killed when dropped.
pub struct Provider {
    _child: Child,
    _dir: tempfile::TempDir,
    /// The issuer URL (`iss` of its tokens).
    pub issuer: String,
    http: reqwest::Client,
}

/// The fixture's script and modules, or `None` outside `scripts/test` (asserted in CI).
fn fixture() -> Option<(String, String)> {
    match (
        std::env::var("MCPGW_TEST_OIDC_PROVIDER"),
        std::env::var("MCPGW_TEST_OIDC_MODULES"),
    ) {
        (Ok(script), Ok(modules)) => Some((script, modules)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "MCPGW_TEST_OIDC_PROVIDER and MCPGW_TEST_OIDC_MODULES must be set in CI"
            );
            eprintln!("oidc-provider not installed: skipping (run scripts/test)");
            None
        }
    }
}

/// Whether the fixture is installed (asserted in CI).
pub fn available() -> bool {
    fixture().is_some()
}

/// A client of the provider: its tokens carry `claims` and, by default, `audience`.
pub fn client(id: &str, audience: &str, claims: Value) -> Value {
    json!({"client_id": id, "client_secret": format!("{id}-secret"), "audience": audience,
        "scope": "mcp:read mcp:write", "claims": claims})
}

impl Provider {
    /// Starts the provider with `config` (see `provider.mjs`); `None` without the fixture.
    pub async fn start(config: Value) -> Option<Provider> {
        let (script, modules) = fixture()?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("provider.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let mut command = Command::new("node");
        command
            .arg(script)
            .arg(&path)
            .env("MCPGW_TEST_OIDC_MODULES", modules);
        let (child, issuer) = super::spawn_announcing(command, "oidc-provider listening on ").await;
        Some(Provider {
            _child: child,
            _dir: dir,
            issuer,
            http: super::client(),
        })
    }

    /// An access token for `client` (by client_credentials), for `resource` if given.
    pub async fn token(&self, client: &str, resource: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(format!("{client}-secret")))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "token request failed: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Signs `login` in like a browser: from the provider's `authorize_url` (where the
    /// gateway sent the browser) through the development login and consent pages, until
    /// the provider redirects away from itself. Returns that redirect (the gateway's
    /// callback with the code).
    pub async fn sign_in(&self, authorize_url: &str, login: &str) -> String {
        let mut jar: Vec<(String, String)> = Vec::new();
        let mut next = (reqwest::Method::GET, authorize_url.to_owned(), Vec::new());
        for _ in 0..12 {
            let (method, url, form) = next;
            let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut request = self
                .http
                .request(method, &url)
                .header("cookie", cookies.join("; "));
            if !form.is_empty() {
                request = request.form(&form);
            }
            let response = request.send().await.unwrap();
            for value in response.headers().get_all("set-cookie") {
                let pair = value.to_str().unwrap().split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                jar.retain(|(known, _)| known != name);
                jar.push((name.to_owned(), value.to_owned()));
            }
            if let Some(location) = response.headers().get("location") {
                let location = location.to_str().unwrap();
                let absolute = reqwest::Url::parse(&url).unwrap().join(location).unwrap();
                if !absolute.as_str().starts_with(&self.issuer) {
                    return absolute.into();
                }
                next = (reqwest::Method::GET, absolute.into(), Vec::new());
                continue;
            }
            let status = response.status();
            let page = response.text().await.unwrap();
            assert!(status.is_success(), "provider said {status}: {page}");
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("no form on the provider's page: {page}"));
            let action = reqwest::Url::parse(&url).unwrap().join(action).unwrap();
            let form = if page.contains("value=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let form = form
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            next = (reqwest::Method::POST, action.into(), form);
        }
        panic!("the provider never redirected back");
    }

    /// Replaces the signing key; the old one leaves the key set.
    pub async fn rotate(&self) {
        let response = self
            .http
            .post(format!("{}/__test/rotate", self.issuer))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    /// How many token revocation requests (RFC 7009) arrived.
    pub async fn revocations(&self) -> u64 {
        self.counter("revocations").await
    }

    /// How many token exchanges (RFC 8693) were granted.
    pub async fn exchanges(&self) -> u64 {
        self.counter("exchanges").await
    }

    /// How often the key set has been fetched.
    pub async fn jwks_hits(&self) -> u64 {
        self.counter("jwks-hits").await
    }

    /// One of the fixture's counters (`GET /__test/{name}`, `{"<key>": N}`).
    async fn counter(&self, name: &str) -> u64 {
        let body: Value = self
            .http
            .get(format!("{}/__test/{name}", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body.as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_u64)
            .unwrap()
    }
}

/// A protected upstream: mcpgw "B" on a known port, trusting `provider` for tokens
/// addressed to its own resources, whose policy lets holders of `mcp:read` use `clock`,
/// an example server it serves at `/clock/mcp`. Returns B, its base URL and what must
/// live as long as it (its directory, the example server).
pub async fn protected_upstream(
    provider: &Provider,
) -> (
    super::Gateway,
    String,
    tempfile::TempDir,
    super::upstreams::Upstream,
) {
    let port = super::upstreams::unused_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let scopes = dir.path().join("b-scopes.yml");
    std::fs::write(
        &scopes,
        "mcp:read:\n- server: clock\n  methods: ['*']\n  tools: ['*']\n",
    )
    .unwrap();
    let config = dir.path().join("b.toml");
    std::fs::write(
        &config,
        format!(
            "[policy]\nscopes_file = \"{}\"\n[[auth.issuers]]\nissuer = \"{}\"\n\
             preset = \"generic\"\naudiences = [\"{base}/*\"]\n",
            scopes.display(),
            provider.issuer
        ),
    )
    .unwrap();
    let upstream_b = super::Launch::quiet(&dir.path().join("b"))
        .listen(&format!("127.0.0.1:{port}"))
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    let clock = super::upstreams::example("currenttime", true).await;
    upstream_b
        .register_healthy(super::http_server("clock", &clock.url))
        .await;
    (upstream_b, base, dir, clock)
}
