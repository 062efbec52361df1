use std::sync::Mutex;

use super::*;

/// Records in memory, for unit tests of the service's rules.
#[derive(Default)]
struct Memory(Mutex<Vec<TokenRecord>>);

#[async_trait]
impl TokenStore for Memory {
    async fn insert_token(&self, record: &TokenRecord) -> Result<(), String> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
    async fn list_tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, String> {
        let all = self.0.lock().unwrap().clone();
        Ok(all
            .into_iter()
            .filter(|r| owner.is_none_or(|o| r.owner == o))
            .collect())
    }
    async fn get_token(&self, id: &str) -> Result<Option<TokenRecord>, String> {
        Ok(self.0.lock().unwrap().iter().find(|r| r.id == id).cloned())
    }
    async fn revoke_token(&self, id: &str, at: i64) -> Result<(), String> {
        for record in self.0.lock().unwrap().iter_mut().filter(|r| r.id == id) {
            record.revoked_at.get_or_insert(at);
        }
        Ok(())
    }
    async fn revoked_tokens(&self, now: i64) -> Result<Vec<String>, String> {
        let all = self.0.lock().unwrap().clone();
        Ok(all
            .into_iter()
            .filter(|r| r.revoked_at.is_some() && r.expires_at > now)
            .map(|r| r.id)
            .collect())
    }
}

/// Signing keys in memory, counting how often they are read.
#[derive(Default)]
struct Keys(Mutex<Vec<keys::StoredKey>>, std::sync::atomic::AtomicUsize);

#[async_trait]
impl keys::KeyStore for Keys {
    async fn signing_keys(&self) -> Result<Vec<keys::StoredKey>, String> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.0.lock().unwrap().clone())
    }
    async fn add_signing_key(&self, key: &keys::StoredKey) -> Result<(), String> {
        let mut keys = self.0.lock().unwrap();
        if !keys.iter().any(|k| k.kid == key.kid) {
            keys.push(key.clone());
        }
        Ok(())
    }
    async fn rotate_signing_key(
        &self,
        key: &keys::StoredKey,
        at: i64,
        dropped_before: i64,
    ) -> Result<(), String> {
        let mut keys = self.0.lock().unwrap();
        for other in keys.iter_mut() {
            other.retired_at.get_or_insert(at);
        }
        keys.push(key.clone());
        keys.retain(|k| k.retired_at.is_none_or(|r| r >= dropped_before));
        Ok(())
    }
}

async fn service(dir: &std::path::Path, now: i64) -> TokenService {
    let keys = SigningKeys::load(Arc::new(Keys::default()), dir, 3600, now)
        .await
        .unwrap();
    TokenService::new(keys, "mcpgw".into(), 3600, Arc::new(Memory::default()))
}

#[tokio::test]
async fn minted_tokens_verify_until_they_expire_or_are_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let now = crate::now();
    let tokens = service(dir.path(), now).await;
    let minted = tokens
        .mint(
            &Principal::admin(),
            MintRequest {
                expires_in: Some(60),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let principal = tokens.verify(&minted.token, now).unwrap();
    assert_eq!(principal.subject, "admin");
    assert!(!principal.is_admin, "admin rights only when asked for");
    tokens
        .revoke(&Principal::admin(), &minted.record.id, now)
        .await
        .unwrap();
    let refused = tokens.verify(&minted.token, now).unwrap_err();
    assert!(refused.to_string().contains("revoked"), "{refused}");
}

#[tokio::test]
async fn a_rotated_key_is_accepted_for_the_overlap_only() {
    let dir = tempfile::tempdir().unwrap();
    let now = crate::now();
    let tokens = service(dir.path(), now).await;
    let old = tokens
        .mint(&Principal::admin(), MintRequest::default(), now)
        .await
        .unwrap();
    tokens.rotate(now).await.unwrap();
    assert!(tokens.verify(&old.token, now).is_ok());
    assert_eq!(tokens.jwks(now)["keys"].as_array().unwrap().len(), 2);
    assert_eq!(tokens.jwks(now + 3601)["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_owner_holds_a_bounded_number_of_live_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let now = crate::now();
    let tokens = service(dir.path(), now).await.with_max_active_per_owner(2);
    let admin = Principal::admin();
    let mint = |expires_in| {
        tokens.mint(
            &admin,
            MintRequest {
                expires_in: Some(expires_in),
                ..Default::default()
            },
            now,
        )
    };
    let first = mint(60).await.unwrap();
    mint(60).await.unwrap();
    let refused = mint(60).await.unwrap_err();
    assert!(
        refused.to_string().contains("revoke some first"),
        "{refused}"
    );
    tokens
        .revoke(&Principal::admin(), &first.record.id, now)
        .await
        .unwrap();
    mint(60).await.expect("a revoked token frees its place");
    assert!(mint(60).await.is_err());
}

#[tokio::test]
async fn keys_of_an_older_release_move_into_the_store_and_keep_their_tokens_valid() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let now = crate::now();
    let seed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    let legacy = serde_json::json!([{"kid": "mcpgw-legacy", "seed": seed,
        "created_at": now - 100, "retired_at": null}]);
    let file = dir.path().join("signing-keys.json");
    std::fs::write(&file, legacy.to_string()).unwrap();
    let store = Arc::new(Keys::default());
    let keys = SigningKeys::load(store.clone(), dir.path(), 3600, now)
        .await
        .unwrap();
    assert_eq!(keys.active().unwrap().0, "mcpgw-legacy");
    assert!(!file.exists(), "no plaintext copy is left behind");
    // Another replica on the same store verifies what this one signs.
    let here = TokenService::new(keys, "mcpgw".into(), 3600, Arc::new(Memory::default()));
    let minted = here
        .mint(&Principal::admin(), MintRequest::default(), now)
        .await
        .unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let there = TokenService::new(
        SigningKeys::load(store.clone(), other_dir.path(), 3600, now)
            .await
            .unwrap(),
        "mcpgw".into(),
        3600,
        Arc::new(Memory::default()),
    );
    assert!(there.verify(&minted.token, now).is_ok());
    // A rotation here is seen there after a reload (the change notification's effect).
    here.rotate(now).await.unwrap();
    let fresh = here
        .mint(&Principal::admin(), MintRequest::default(), now)
        .await
        .unwrap();
    assert!(
        there.verify(&fresh.token, now).is_err(),
        "not before it reads them"
    );
    // A token naming a key it does not know makes it read the keys again (the
    // notification of the rotation may be late, or lost).
    assert!(there.verify_fresh(&fresh.token, now).await.is_ok());
    // Made-up key ids read the database at most every two seconds.
    let forged = format!("eyJhbGciOiJFZERTQSIsImtpZCI6Im1hZGUtdXAifQ.{}", "e30.c2ln");
    let reads = store.1.load(std::sync::atomic::Ordering::Relaxed);
    assert!(there.verify_fresh(&forged, now).await.is_err());
    assert!(there.verify_fresh(&forged, now + 1).await.is_err());
    assert_eq!(
        store.1.load(std::sync::atomic::Ordering::Relaxed),
        reads,
        "no read for made-up keys within two seconds of the last"
    );
    assert!(there.verify_fresh(&forged, now + 2).await.is_err());
    assert_eq!(
        store.1.load(std::sync::atomic::Ordering::Relaxed),
        reads + 1
    );
}
