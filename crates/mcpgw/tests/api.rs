//! The registry REST API and the Python-registry routes, driven over HTTP against the
//! real binary: every route, every error case, and "a rejected request changes nothing".

mod common;

use common::{Launch, error_code, http_server};
use serde_json::json;

async fn gateway() -> (tempfile::TempDir, common::Gateway) {
    let dir = tempfile::tempdir().unwrap();
    let gateway = Launch::new(&dir.path().join("data")).start().await;
    (dir, gateway)
}

#[tokio::test]
async fn api_requires_a_valid_bearer_token() {
    let (_dir, gw) = gateway().await;
    for (method, path) in [
        ("GET", "/api/servers"),
        ("POST", "/api/servers"),
        ("GET", "/api/servers/x"),
        ("GET", "/api/server_details/all"),
        ("POST", "/register"),
        ("POST", "/toggle/x"),
    ] {
        let missing = common::reply(gw.request(method, path).send().await.unwrap()).await;
        assert_eq!(missing.status, 401, "{method} {path}");
        assert_eq!(error_code(&missing), "missing_credentials");
        assert_eq!(missing.headers["www-authenticate"], "Bearer");

        let wrong = common::reply(
            gw.request(method, path)
                .bearer_auth("not-the-token")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(wrong.status, 401);
        assert_eq!(error_code(&wrong), "invalid_token");
    }
    let basic = common::reply(
        gw.request("GET", "/api/servers")
            .basic_auth("a", Some("b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(error_code(&basic), "malformed_credentials");
    // The dual-token header of the Python gateway is accepted for the gateway's token.
    let dual = gw
        .request("GET", "/api/servers")
        .header("x-authorization", format!("Bearer {}", common::TOKEN));
    assert_eq!(common::reply(dual.send().await.unwrap()).await.status, 200);
}

#[tokio::test]
async fn health_is_open_and_reports_the_registry() {
    let (_dir, gw) = gateway().await;
    let health = common::reply(gw.request("GET", "/health").send().await.unwrap()).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "healthy");
    assert_eq!(health.body["database"], common::database::backend());
    assert_eq!(health.body["servers"]["total"], 0);
    assert!(health.body["version"].is_string());
    assert!(health.body["uptime_seconds"].is_u64());
}

#[tokio::test]
async fn register_show_update_toggle_remove() {
    let (_dir, gw) = gateway().await;
    let url = common::faults::down_url().await;
    let created = gw
        .api(
            "POST",
            "/api/servers",
            Some(json!({
                "path": "/weather/", "name": "Weather", "description": "forecasts",
                "proxy_pass_url": url, "tags": ["a", "b"], "license": "MIT", "version": "1.2.0",
                "headers": {"X-Api-Key": "secret-value"}
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.headers["location"], "/api/servers/weather");
    assert_eq!(created.body["path"], "weather");
    assert_eq!(created.body["transport"], "streamable-http");
    assert_eq!(created.body["url"], url.as_str());
    assert_eq!(created.body["enabled"], true);
    assert_eq!(
        created.body["headers"]["X-Api-Key"], "<redacted>",
        "secrets never leave the gateway"
    );
    assert!(created.body["created_at"].is_string());

    let listed = gw.api("GET", "/api/servers", None).await;
    assert_eq!(listed.body["count"], 1);
    assert_eq!(listed.body["servers"][0]["name"], "Weather");

    let shown = gw.api("GET", "/api/servers/weather", None).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["tags"], json!(["a", "b"]));

    let updated = gw
        .api(
            "PUT",
            "/api/servers/weather",
            Some(json!({"description": "new", "tags": "x, y"})),
        )
        .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(updated.body["description"], "new");
    assert_eq!(updated.body["name"], "Weather", "absent fields are kept");
    assert_eq!(updated.body["tags"], json!(["x", "y"]));

    // Round-tripping the redacted value keeps the stored secret.
    let same = gw
        .api(
            "PATCH",
            "/api/servers/weather",
            Some(json!({"headers": updated.body["headers"].clone()})),
        )
        .await;
    assert_eq!(same.status, 200, "{same:?}");

    let off = gw
        .api(
            "POST",
            "/api/servers/weather/toggle",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.body["enabled"], false);
    let on = gw
        .api(
            "POST",
            "/api/servers/weather/toggle",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(on.body["enabled"], true);

    let tools = gw.api("GET", "/api/servers/weather/tools", None).await;
    assert_eq!(tools.status, 200);
    assert_eq!(tools.body["tools"], json!([]));

    let refreshed = gw.api("POST", "/api/servers/weather/refresh", None).await;
    assert_eq!(refreshed.status, 200);
    assert_eq!(refreshed.body["health"]["status"], "unhealthy");
    assert_eq!(refreshed.body["health"]["reason"], "connection refused");

    let removed = gw.api("DELETE", "/api/servers/weather", None).await;
    assert_eq!(removed.status, 204);
    let gone = gw.api("GET", "/api/servers/weather", None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(error_code(&gone), "not_found");
}

#[tokio::test]
async fn python_registry_routes_work() {
    let (_dir, gw) = gateway().await;
    let url = common::faults::down_url().await;
    let form = [
        ("name", "Current Time"),
        ("description", "time"),
        ("path", "/currenttime"),
        ("proxy_pass_url", url.as_str()),
        ("tags", "time, utility"),
        ("num_tools", "1"),
        ("num_stars", "5"),
        ("is_python", "true"),
        ("license", "MIT"),
    ];
    let registered = common::reply(
        gw.request("POST", "/register")
            .bearer_auth(common::TOKEN)
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(registered.status, 201, "{registered:?}");
    assert_eq!(registered.body["path"], "currenttime");
    assert_eq!(registered.body["tags"], json!(["time", "utility"]));

    let details = gw.api("GET", "/api/server_details/currenttime", None).await;
    assert_eq!(details.body["name"], "Current Time");
    let slash = gw
        .api("GET", "/api/server_details//currenttime", None)
        .await;
    assert_eq!(
        slash.status, 200,
        "a leading slash as in the Python registry works"
    );
    let all = gw.api("GET", "/api/server_details/all", None).await;
    assert!(all.body["currenttime"].is_object());
    let tools = gw.api("GET", "/api/tools/currenttime", None).await;
    assert_eq!(tools.body["path"], "currenttime");
    let refreshed = gw.api("POST", "/api/refresh/currenttime", None).await;
    assert_eq!(refreshed.body["health"]["status"], "unhealthy");

    // The Python toggle form: `enabled=on` enables, an absent field disables.
    let off = common::reply(
        gw.request("POST", "/toggle/currenttime")
            .bearer_auth(common::TOKEN)
            .form(&[("x", "")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.body["new_enabled_state"], false);
    let on = common::reply(
        gw.request("POST", "/toggle/currenttime")
            .bearer_auth(common::TOKEN)
            .form(&[("enabled", "on")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(on.body["new_enabled_state"], true);
    assert_eq!(
        gw.api("GET", "/api/servers/currenttime", None).await.body["enabled"],
        true
    );

    let unknown = gw
        .api("GET", "/api/server_details/nothing-here", None)
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let (_dir, gw) = gateway().await;
    let url = common::faults::down_url().await;
    assert_eq!(
        gw.api("POST", "/api/servers", Some(http_server("existing", &url)))
            .await
            .status,
        201
    );
    let before = gw.api("GET", "/api/servers", None).await.body;

    // Malformed bodies: 400.
    for body in ["{\"path\": ", "not json", "[1,2]", ""] {
        let reply = common::reply(
            gw.request("POST", "/api/servers")
                .bearer_auth(common::TOKEN)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, 400, "body {body:?}: {reply:?}");
        assert_eq!(error_code(&reply), "bad_request");
    }
    let bad_form = common::reply(
        gw.request("POST", "/register")
            .bearer_auth(common::TOKEN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("path=%zz&name")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bad_form.status, 400, "{bad_form:?}");

    // Invalid or unknown fields: 422 naming the field.
    let cases = [
        (json!({"path": "ok", "url": url, "colour": "red"}), "colour"),
        (json!({"path": "Bad Path", "url": url}), "path"),
        (json!({"path": "api", "url": url}), "path"),
        (json!({"path": "mcp", "url": url}), "path"),
        (json!({"path": "v0.1", "url": url}), "path"),
        (json!({"path": "metrics", "url": url}), "path"),
        (json!({"path": "health", "url": url}), "path"),
        (json!({"path": ".well-known", "url": url}), "path"),
        (json!({"path": "ws", "url": url}), "path"),
        (json!({"path": "static", "url": url}), "path"),
        (json!({"path": "ok", "url": "ftp://example.com/"}), "url"),
        (json!({"path": "ok", "url": "localhost:8000"}), "url"),
        (json!({"path": "ok"}), "url"),
        (json!({"path": "ok", "transport": "stdio"}), "command"),
        (
            json!({"path": "ok", "url": url, "enabled": "yes"}),
            "enabled",
        ),
        (
            json!({"path": "ok", "url": url, "transport": "websocket"}),
            "transport",
        ),
    ];
    for (body, field) in cases {
        let reply = gw.api("POST", "/api/servers", Some(body.clone())).await;
        assert_eq!(reply.status, 422, "{body}: {reply:?}");
        assert_eq!(error_code(&reply), "invalid_field");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field}:"))
                || message.contains(&format!("invalid {field}")),
            "{body}: {message}"
        );
    }
    let form_unknown = common::reply(
        gw.request("POST", "/register")
            .bearer_auth(common::TOKEN)
            .form(&[
                ("path", "ok"),
                ("proxy_pass_url", url.as_str()),
                ("colour", "red"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(form_unknown.status, 422);
    assert!(
        form_unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("colour")
    );

    // Duplicate: 409. Unknown server: 404 on every route.
    let duplicate = gw
        .api("POST", "/api/servers", Some(http_server("existing", &url)))
        .await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(error_code(&duplicate), "conflict");
    for (method, path, body) in [
        ("GET", "/api/servers/missing", None),
        (
            "PUT",
            "/api/servers/missing",
            Some(json!({"description": "x"})),
        ),
        ("DELETE", "/api/servers/missing", None),
        (
            "POST",
            "/api/servers/missing/toggle",
            Some(json!({"enabled": true})),
        ),
        ("GET", "/api/servers/missing/tools", None),
        ("POST", "/api/servers/missing/refresh", None),
        ("GET", "/api/tools/missing", None),
        ("POST", "/api/refresh/missing", None),
    ] {
        let reply = gw.api(method, path, body).await;
        assert_eq!(reply.status, 404, "{method} {path}");
        assert_eq!(error_code(&reply), "not_found");
    }

    // Invalid updates: 422, nothing changed.
    let moved = gw
        .api(
            "PUT",
            "/api/servers/existing",
            Some(json!({"path": "elsewhere"})),
        )
        .await;
    assert_eq!(moved.status, 422);
    let bad_url = gw
        .api(
            "PATCH",
            "/api/servers/existing",
            Some(json!({"url": "gopher://x"})),
        )
        .await;
    assert_eq!(bad_url.status, 422);
    let bad_toggle = gw
        .api(
            "POST",
            "/api/servers/existing/toggle",
            Some(json!({"enabled": "maybe"})),
        )
        .await;
    assert_eq!(bad_toggle.status, 422);

    // Unknown route and wrong method: JSON errors too.
    let no_route = gw.api("GET", "/api/nothing", None).await;
    assert_eq!(no_route.status, 404);
    assert_eq!(error_code(&no_route), "not_found");
    let wrong_method = gw.api("PATCH", "/api/servers", None).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(error_code(&wrong_method), "method_not_allowed");

    // An oversized body: 413.
    let huge = "x".repeat(2 * 1024 * 1024);
    let too_big = gw
        .api(
            "POST",
            "/api/servers",
            Some(json!({"path": "big", "url": url, "description": huge})),
        )
        .await;
    assert_eq!(too_big.status, 413);
    assert_eq!(error_code(&too_big), "payload_too_large");

    // Wait for the registration's background health check, then compare: the check is
    // the only writer, so any difference would come from a rejected request.
    gw.wait_for_server("existing", std::time::Duration::from_secs(20), |s| {
        s["health"]["status"] != "unknown"
    })
    .await;
    let settled = gw.api("GET", "/api/servers", None).await.body;
    assert_eq!(settled["count"], before["count"]);
    let mut before_definition = before["servers"][0].clone();
    let mut after_definition = settled["servers"][0].clone();
    for value in [&mut before_definition, &mut after_definition] {
        value.as_object_mut().unwrap().remove("health");
    }
    assert_eq!(
        before_definition, after_definition,
        "a rejected request must change nothing"
    );
}

#[tokio::test]
async fn secrets_stay_with_their_destination() {
    let (_dir, gw) = gateway().await;
    let url = common::faults::down_url().await;
    let with_password = url.replace("http://", "http://user:pa55@");
    let body = json!({"path": "svc", "url": with_password, "headers": {"X-Api-Key": "k1"}});
    let created = gw.api("POST", "/api/servers", Some(body)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let shown = created.body["url"].as_str().unwrap().to_owned();
    assert!(
        !shown.contains("pa55"),
        "URL passwords are never shown: {shown}"
    );
    assert!(shown.contains("user:%3Credacted%3E@"), "{shown}");

    // Sending back what was shown keeps the secret.
    let same = gw
        .api("PATCH", "/api/servers/svc", Some(json!({"url": shown})))
        .await;
    assert_eq!(same.status, 200, "{same:?}");
    // Moving to another host without re-entering the header values is refused: they
    // might be credentials for the old host only.
    let moved = gw
        .api(
            "PATCH",
            "/api/servers/svc",
            Some(json!({"url": "http://127.0.0.2:9/mcp"})),
        )
        .await;
    assert_eq!(moved.status, 422, "{moved:?}");
    assert!(
        moved.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid headers")
    );
    let redacted_again =
        json!({"url": "http://127.0.0.2:9/mcp", "headers": {"X-Api-Key": "<redacted>"}});
    assert_eq!(
        gw.api("PATCH", "/api/servers/svc", Some(redacted_again))
            .await
            .status,
        422
    );
    let resent = json!({"url": "http://127.0.0.2:9/mcp", "headers": {"X-Api-Key": "k2"}});
    assert_eq!(
        gw.api("PATCH", "/api/servers/svc", Some(resent))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn undecodable_paths_get_json_errors() {
    let (_dir, gw) = gateway().await;
    for path in [
        "/api/servers/%FF",
        "/api/servers/%FF/tools",
        "/api/server_details/%FF",
    ] {
        let reply = gw.api("GET", path, None).await;
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        assert_eq!(error_code(&reply), "bad_request");
    }
}
