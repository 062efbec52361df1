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

fn service(dir: &std::path::Path, now: i64) -> TokenService {
    let keys = SigningKeys::load_or_create(dir, 3600, now).unwrap();
    TokenService::new(keys, "mcpgw".into(), 3600, Arc::new(Memory::default()))
}

#[tokio::test]
async fn minted_tokens_verify_until_they_expire_or_are_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let now = crate::now();
    let tokens = service(dir.path(), now);
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
    let tokens = service(dir.path(), now);
    let old = tokens
        .mint(&Principal::admin(), MintRequest::default(), now)
        .await
        .unwrap();
    tokens.rotate(now).unwrap();
    assert!(tokens.verify(&old.token, now).is_ok());
    assert_eq!(tokens.jwks(now)["keys"].as_array().unwrap().len(), 2);
    assert_eq!(tokens.jwks(now + 3601)["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_owner_holds_a_bounded_number_of_live_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let now = crate::now();
    let tokens = service(dir.path(), now).with_max_active_per_owner(2);
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
