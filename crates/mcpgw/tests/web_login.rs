//! Browser sign-in, driven like a browser and like the Python registry's scripts: the
//! login page and form, JSON sign-in, session cookies and their protections (HttpOnly,
//! SameSite, CSRF, server-side logout, expiry, restarts), local users, and sign-in at a
//! real OpenID provider (npm `oidc-provider`) with the authorization code flow and PKCE.

mod common;

use common::oidc::Provider;
use common::{Gateway, Launch, TOKEN, http_server};
use serde_json::{Value, json};

const SESSION: &str = "mcp_gateway_session";
/// The first admin's password (`MCPGW_ADMIN_PASSWORD`).
const ADMIN_PASSWORD: &str = "the first admin's password";

async fn start(dir: &std::path::Path, config: &str) -> Gateway {
    let path = dir.join("mcpgw.toml");
    std::fs::write(&path, config).unwrap();
    Launch::quiet(&dir.join("data"))
        .args(&["--config", path.to_str().unwrap()])
        .env("IDP_SECRET", "mcpgw-web-secret")
        .env("MCPGW_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .start()
        .await
}

/// The value `Set-Cookie` gives cookie `name`, and the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|header| header.starts_with(&format!("{name}=")))
        .map(|header| {
            let value = header[name.len() + 1..]
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            (value, header)
        })
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Signs in with JSON; returns the session cookie's value and the CSRF token.
async fn sign_in(gw: &Gateway, username: &str, password: &str) -> (String, String) {
    let response = gw
        .request("POST", "/login")
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (cookie, _) = set_cookie(&response, SESSION).expect("a session cookie");
    let body: Value = response.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

/// `GET /api/auth/me` with a session cookie.
async fn me(gw: &Gateway, cookie: &str) -> (u16, Value) {
    let response = gw
        .request("GET", "/api/auth/me")
        .header("cookie", format!("other=1; {SESSION}={cookie}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_login_form_opens_a_session_and_logout_ends_it_server_side() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;

    let page = gw
        .request("GET", "/login?next=/api/auth/me")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("action=\"/login\"") && html.contains("value=\"/api/auth/me\""),
        "{html}"
    );

    // The first admin's password is MCPGW_ADMIN_PASSWORD, never the admin token.
    let wrong = gw
        .request("POST", "/login")
        .form(&[("username", "admin"), ("password", TOKEN), ("next", "/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, SESSION).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("wrong user name or password")
    );
    let unknown = gw
        .request("POST", "/login")
        .form(&[("username", "nobody"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        401,
        "the same answer for a user that does not exist"
    );

    let ok = gw
        .request("POST", "/login")
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/api/auth/me"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/api/auth/me");
    let (cookie, header) = set_cookie(&ok, SESSION).unwrap();
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/"),
        "{header}"
    );
    assert!(
        !header.contains("Secure"),
        "plain http without a public https URL: {header}"
    );

    let (status, principal) = me(&gw, &cookie).await;
    assert_eq!(status, 200, "{principal}");
    assert_eq!(principal["subject"], "admin");
    assert_eq!(principal["is_admin"], true);
    assert_eq!(principal["auth_method"]["kind"], "password");
    let csrf = principal["csrf_token"].as_str().unwrap().to_owned();
    assert!(principal["expires_at"].as_i64().is_some());

    // A sign-in form never sends the browser to another site.
    for hostile in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let response = gw
            .request("POST", "/login")
            .form(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", hostile),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/", "{hostile}");
    }
    // Another site's page cannot sign the browser in (login CSRF).
    let forged = gw
        .request("POST", "/login")
        .header("origin", "http://evil.example")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // The landing page leads to the UI, whose pages name the user and carry the logout
    // form's token.
    let home = gw
        .request("GET", "/")
        .header("cookie", format!("{SESSION}={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (home.status().as_u16(), location(&home)),
        (303, "/ui/servers".into())
    );
    let servers = gw
        .request("GET", "/ui/servers")
        .header("cookie", format!("{SESSION}={cookie}"))
        .send()
        .await
        .unwrap();
    let html = servers.text().await.unwrap();
    assert!(
        html.contains("<span class=\"who\" title=\"Signed in\">admin") && html.contains(&csrf),
        "{html}"
    );
    let anonymous_home = gw.request("GET", "/").send().await.unwrap();
    assert_eq!(
        (anonymous_home.status().as_u16(), location(&anonymous_home)),
        (303, "/login".into())
    );

    // Logout from a browser needs the form's CSRF token.
    let logout = |token: &'static str| {
        gw.request("POST", "/logout")
            .header("cookie", format!("{SESSION}={cookie}"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("csrf_token", token)])
    };
    assert_eq!(logout("wrong").send().await.unwrap().status(), 403);
    assert_eq!(
        me(&gw, &cookie).await.0,
        200,
        "a refused logout changes nothing"
    );
    let csrf: &'static str = Box::leak(csrf.into_boxed_str());
    let out = logout(csrf).send().await.unwrap();
    assert_eq!(
        (out.status().as_u16(), location(&out)),
        (303, "/login".into())
    );
    let (_, cleared) = set_cookie(&out, SESSION).unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The server forgot the session: a kept copy of the cookie is useless.
    let (status, body) = me(&gw, &cookie).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("session_expired"))
    );
}

#[tokio::test]
async fn a_session_cookie_changes_nothing_from_another_site_and_never_reaches_mcp_routes() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let (cookie, csrf) = sign_in(&gw, "admin", ADMIN_PASSWORD).await;
    let register = |body: Value| {
        gw.request("POST", "/api/servers")
            .header("cookie", format!("{SESSION}={cookie}"))
            .json(&body)
    };
    let body = http_server("box", "http://127.0.0.1:9/mcp");
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        let response = register(body.clone())
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "csrf");
    }
    let no_token = register(body.clone())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403, "a browser must send the CSRF token");
    assert_eq!(
        gw.api("GET", "/api/servers/box", None).await.status,
        404,
        "nothing was registered"
    );

    let with_token = register(body.clone())
        .header("sec-fetch-site", "same-origin")
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 201);
    // Reading is safe from anywhere (the response is not readable cross-site anyway).
    let listed = gw
        .request("GET", "/api/servers")
        .header("cookie", format!("{SESSION}={cookie}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // A script (no Origin, no Sec-Fetch-Site) with the cookie works as the Python
    // registry's scripts do.
    let toggled = gw
        .request("POST", "/toggle/box")
        .header("cookie", format!("{SESSION}={cookie}"))
        .form(&[("enabled", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(toggled.status(), 200, "{}", toggled.text().await.unwrap());

    // MCP routes take bearer credentials only: the cookie neither authenticates there nor
    // reaches an upstream.
    let mcp = gw
        .request("POST", "/box/mcp")
        .header("cookie", format!("{SESSION}={cookie}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(mcp.status(), 401);
    // A bearer credential wins over the cookie.
    let bearer = gw
        .request("GET", "/api/auth/me")
        .header("cookie", format!("{SESSION}=junk"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let principal: Value = bearer.json().await.unwrap();
    assert_eq!(principal["auth_method"]["kind"], "admin_token");
    assert!(principal.get("csrf_token").is_none());
}

/// Runs `mcpgw user …` against `gw` with `stdin`.
async fn user_cli(gw: &Gateway, args: &[&str], stdin: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(common::binary())
        .arg("user")
        .args(args)
        .env("MCPGW_URL", &gw.url)
        .env("MCPGW_TOKEN", TOKEN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test]
async fn admins_manage_local_users_who_sign_in_and_change_their_password() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let created = gw
        .api(
            "POST",
            "/api/users",
            Some(json!({"username": "alice", "password": "alice's first password", "groups": ["dev"]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body.get("password_hash").is_none());
    assert_eq!(
        gw.api(
            "POST",
            "/api/users",
            Some(json!({"username": "alice", "password": "another long one"}))
        )
        .await
        .status,
        409
    );
    assert_eq!(
        gw.api(
            "POST",
            "/api/users",
            Some(json!({"username": "bob", "password": "short"}))
        )
        .await
        .status,
        422
    );

    let (cookie, csrf) = sign_in(&gw, "alice", "alice's first password").await;
    let (_, principal) = me(&gw, &cookie).await;
    assert_eq!(
        (
            principal["subject"].as_str(),
            principal["is_admin"].as_bool()
        ),
        (Some("alice"), Some(false))
    );
    assert_eq!(principal["groups"], json!(["dev"]));
    let as_alice = |method: &str, path: &str| {
        gw.request(method, path)
            .header("cookie", format!("{SESSION}={cookie}"))
            .header("x-csrf-token", &csrf)
    };
    assert_eq!(
        as_alice("GET", "/api/users").send().await.unwrap().status(),
        403
    );
    assert_eq!(
        as_alice("GET", "/api/servers")
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "not an admin"
    );

    // Her own password: only with the current one.
    let change = |current: &str| {
        as_alice("PUT", "/api/users/alice/password")
            .json(&json!({"password": "alice's second password", "current_password": current}))
    };
    assert_eq!(
        change("a wrong guess!!").send().await.unwrap().status(),
        403
    );
    assert_eq!(
        change("alice's first password")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        me(&gw, &cookie).await.0,
        401,
        "a password change ends the sessions"
    );
    let bad = gw
        .request("POST", "/login")
        .json(&json!({"username": "alice", "password": "alice's first password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let (cookie, _) = sign_in(&gw, "ALICE", "alice's second password").await;
    // A token for her agent, minted with her session (a script: no CSRF token needed).
    let minted: Value = gw
        .request("POST", "/api/tokens")
        .header("cookie", format!("{SESSION}={cookie}"))
        .json(&json!({"description": "alice's agent"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent_token = minted["token"].as_str().expect("minted").to_owned();
    let agent = || {
        gw.request("GET", "/api/auth/me")
            .bearer_auth(&agent_token)
            .send()
    };
    assert_eq!(agent().await.unwrap().status(), 200);

    // The CLI: list, add (password from stdin), passwd, remove.
    let (ok, out) = user_cli(
        &gw,
        &["add", "bob", "--group", "ops", "--admin"],
        "bob's long password\n",
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = user_cli(&gw, &["list"], "").await;
    assert!(
        ok && out.contains("alice  groups: dev") && out.contains("bob  admin  groups: ops"),
        "{out}"
    );
    let (_, bob) = me(&gw, &sign_in(&gw, "bob", "bob's long password").await.0).await;
    assert_eq!(bob["is_admin"], true);
    let (ok, out) = user_cli(&gw, &["passwd", "bob"], "").await;
    assert!(!ok && out.contains("standard input"), "{out}");
    let (ok, out) = user_cli(&gw, &["remove", "alice"], "").await;
    assert!(ok, "{out}");
    assert_eq!(
        agent().await.unwrap().status(),
        401,
        "a deleted user's tokens are revoked"
    );
    assert_eq!(
        me(&gw, &cookie).await.0,
        401,
        "a deleted user's sessions end"
    );
    let (ok, out) = user_cli(&gw, &["remove", "alice"], "").await;
    assert!(!ok && out.contains("no user 'alice'"), "{out}");
}

#[tokio::test]
async fn sessions_survive_a_restart_and_end_when_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let (cookie, _) = sign_in(&gw, "admin", ADMIN_PASSWORD).await;
    drop(gw);
    let gw = start(dir.path(), "[auth]\nsession_ttl_secs = 2\n").await;
    assert_eq!(
        me(&gw, &cookie).await.0,
        200,
        "kept in the database, with the lifetime it was opened with"
    );
    let (short, _) = sign_in(&gw, "admin", ADMIN_PASSWORD).await;
    assert_eq!(me(&gw, &short).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, body) = me(&gw, &short).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("session_expired"))
    );
}

#[tokio::test]
async fn signing_in_at_an_oidc_provider_opens_a_session_with_its_groups() {
    let accounts = json!({"alice": {
        "groups": ["dev"], "realm_access": {"roles": ["realm-ops"]},
        "preferred_username": "Alice A", "email": "alice@example.com"}});
    let config = json!({
        "clients": [{"client_id": "mcpgw-web", "client_secret": "mcpgw-web-secret",
            "redirect_uris": ["http://127.0.0.1/auth/callback/idp"]}],
        "accounts": accounts,
    });
    let Some(idp) = Provider::start(config).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start(
        dir.path(),
        &format!(
            "[[auth.oidc_login]]\nname = \"idp\"\ndisplay_name = \"Test IdP\"\nissuer = \"{}\"\n\
             client_id = \"mcpgw-web\"\nclient_secret_env = \"IDP_SECRET\"\n\
             scopes = [\"profile\", \"groups\"]\npreset = \"keycloak\"\n",
            idp.issuer
        ),
    )
    .await;
    let page = gw
        .request("GET", "/login")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/auth/login/idp?next=%2F\">Sign in with Test IdP"),
        "{page}"
    );

    let begin = || async {
        let started = gw
            .request("GET", "/auth/login/idp?next=/api/auth/me")
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 303);
        let (state, header) = set_cookie(&started, "mcpgw_login").unwrap();
        assert!(
            header.contains("Path=/auth/callback/") && header.contains("HttpOnly"),
            "{header}"
        );
        (location(&started), state)
    };
    let (authorize, login_cookie) = begin().await;
    let url = reqwest::Url::parse(&authorize).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(authorize.starts_with(&idp.issuer), "{authorize}");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["redirect_uri"],
        format!("{}/auth/callback/idp", gw.url)
    );
    assert_eq!(query["state"], login_cookie);
    assert!(query["scope"].starts_with("openid ") && query.contains_key("nonce"));

    let callback = idp.sign_in(&authorize, "alice").await;
    let path = callback
        .strip_prefix(&gw.url)
        .expect("back at the gateway")
        .to_owned();
    assert!(path.contains("code=") && path.contains("iss="), "{path}");

    // Without the cookie of the browser that started it, the callback is refused, and
    // the sign-in is not used up by the attempt.
    let stranger = gw.request("GET", &path).send().await.unwrap();
    assert_eq!(stranger.status(), 400);
    assert!(
        stranger
            .text()
            .await
            .unwrap()
            .contains("not started in this browser")
    );

    let finish = || {
        gw.request("GET", &path)
            .header("cookie", format!("mcpgw_login={login_cookie}"))
            .send()
    };
    let done = finish().await.unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/api/auth/me");
    let (session, _) = set_cookie(&done, SESSION).expect("a session");
    let (_, cleared) = set_cookie(&done, "mcpgw_login").unwrap();
    assert!(cleared.contains("Max-Age=0"));
    let (status, principal) = me(&gw, &session).await;
    assert_eq!(status, 200, "{principal}");
    assert_eq!(principal["subject"], "alice");
    assert_eq!(principal["username"], "Alice A");
    assert_eq!(
        principal["groups"],
        json!(["dev", "realm-ops"]),
        "the keycloak preset"
    );
    assert_eq!(
        principal["auth_method"],
        json!({"kind": "oidc_login", "issuer": idp.issuer})
    );
    assert_eq!(principal["is_admin"], false);

    // A code and state are good once.
    assert_eq!(finish().await.unwrap().status(), 400);

    // The provider's refusal, and a response naming another issuer, land on the login page.
    let (_, state) = begin().await;
    let refused = gw
        .request(
            "GET",
            &format!(
                "/auth/callback/idp?error=access_denied&error_description=no+way&state={state}"
            ),
        )
        .header("cookie", format!("mcpgw_login={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("access_denied no way")
    );
    let (_, state) = begin().await;
    let mixed_up = gw
        .request(
            "GET",
            &format!("/auth/callback/idp?code=x&iss=https%3A%2F%2Fother.example&state={state}"),
        )
        .header("cookie", format!("mcpgw_login={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(mixed_up.status(), 403);
    assert!(mixed_up.text().await.unwrap().contains("names issuer"));
    let unknown = gw.request("GET", "/auth/login/nope").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn without_a_chosen_password_the_first_admin_gets_a_random_one_in_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, log) = Launch::quiet(&dir.path().join("data"))
        .start_capturing()
        .await;
    let file = dir.path().join("data").join("admin-password");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains(&file.display().to_string()), "{log}");
    assert!(
        !log.contains(&password),
        "the password itself is never logged"
    );
    assert_ne!(password, TOKEN);
    let (cookie, _) = sign_in(&gw, "admin", &password).await;
    assert_eq!(me(&gw, &cookie).await.1["is_admin"], true);
}
