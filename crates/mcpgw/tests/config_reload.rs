//! The config file edited while two replicas serve (the same file, as a ConfigMap mounted
//! in every pod): both trust a newly added identity provider without a restart, a broken
//! edit changes nothing, and a setting that needs a restart is named in a warning.

mod common;

use std::time::Duration;

use common::oidc::{Provider, client};
use common::replicas::{Replicas, fresh_database, until};
use serde_json::json;

#[tokio::test]
async fn an_edited_config_file_is_in_force_on_every_replica_without_a_restart() {
    let Some(provider) = Provider::start(json!({"clients": [client("agent", "mcpgw-users",
        json!({"groups": ["team"]}))]}))
    .await
    else {
        return;
    };
    let Some(database) = fresh_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcpgw.toml");
    std::fs::write(&config, "[auth]\nleeway_secs = 30\n").unwrap();
    let path = config.display().to_string();
    let replicas = Replicas::start(2, &database, |launch| launch.args(&["--config", &path])).await;
    let token = provider.token("agent", None).await;
    for index in 0..2 {
        assert_eq!(
            replicas.at(index).get_as("/api/auth/me", &token).await.0,
            401
        );
    }

    // The provider is added to the file: both replicas trust it.
    std::fs::write(
        &config,
        format!(
            "[auth]\nleeway_secs = 30\n[[auth.issuers]]\nissuer = \"{}\"\n\
             audiences = [\"mcpgw-users\"]\npreset = \"keycloak\"\n",
            provider.issuer
        ),
    )
    .unwrap();
    for index in 0..2 {
        let replica = replicas.at(index);
        let took = until(
            "the new issuer trusted",
            Duration::from_secs(20),
            || async { replica.get_as("/api/auth/me", &token).await.0 == 200 },
        )
        .await;
        eprintln!("replica {index} trusts the issuer after {took:?}");
        let metadata: serde_json::Value = common::get_json(&format!(
            "{}/.well-known/oauth-protected-resource",
            replica.url
        ))
        .await;
        assert_eq!(metadata["authorization_servers"], json!([provider.issuer]));
    }

    // A broken edit is refused and changes nothing; a restart-only setting is named.
    std::fs::write(&config, "[auth\nbroken").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for index in 0..2 {
        assert_eq!(
            replicas.at(index).get_as("/api/auth/me", &token).await.0,
            200
        );
    }
    std::fs::write(
        &config,
        format!(
            "[gateway]\nmax_body_bytes = 1000000\n[[auth.issuers]]\nissuer = \"{}\"\n\
             audiences = [\"mcpgw-users\"]\npreset = \"keycloak\"\n",
            provider.issuer
        ),
    )
    .unwrap();
    let logs = |index: usize| common::files_in(&replicas.data_dir(index));
    until(
        "the restart-only change named",
        Duration::from_secs(20),
        || async {
            (0..2).all(|index| {
                let log = logs(index);
                common::files_contain(&log, "restart to use it")
                    && common::files_contain(&log, "config file rejected")
            })
        },
    )
    .await;
    // The issuer is removed again: its tokens are refused everywhere.
    std::fs::write(&config, "[auth]\n").unwrap();
    for index in 0..2 {
        let replica = replicas.at(index);
        until(
            "the issuer no longer trusted",
            Duration::from_secs(20),
            || async { replica.get_as("/api/auth/me", &token).await.0 == 401 },
        )
        .await;
    }
}
