use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;

#[derive(Default)]
struct MemoryUsers(Mutex<BTreeMap<String, UserRecord>>);

#[async_trait]
impl UserStore for MemoryUsers {
    async fn insert_user(&self, user: &UserRecord) -> Result<bool, String> {
        let mut map = self.0.lock().unwrap();
        if map.contains_key(&user.username) {
            return Ok(false);
        }
        map.insert(user.username.clone(), user.clone());
        Ok(true)
    }
    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>, String> {
        Ok(self.0.lock().unwrap().get(username).cloned())
    }
    async fn list_users(&self) -> Result<Vec<UserRecord>, String> {
        Ok(self.0.lock().unwrap().values().cloned().collect())
    }
    async fn set_password(&self, username: &str, hash: &str, at: i64) -> Result<bool, String> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get_mut(username)
            .map(|user| {
                user.password_hash = hash.to_owned();
                user.updated_at = at;
            })
            .is_some())
    }
    async fn delete_user(&self, username: &str) -> Result<bool, String> {
        Ok(self.0.lock().unwrap().remove(username).is_some())
    }
}

fn service() -> UserService {
    UserService::new(Arc::new(MemoryUsers::default()))
}

fn alice() -> NewUser {
    NewUser {
        username: "alice".into(),
        password: "a long enough password".into(),
        groups: vec!["dev".into(), " dev ".into(), "ops".into()],
        admin: false,
    }
}

#[tokio::test]
async fn a_created_user_signs_in_with_their_password_only() {
    let users = service();
    let record = users.create(alice(), 10).await.unwrap();
    assert_eq!(record.groups, ["dev", "ops"], "trimmed and deduplicated");
    let principal = users
        .sign_in("alice", "a long enough password", 20)
        .await
        .unwrap();
    assert_eq!(principal.subject, "alice");
    assert_eq!(principal.groups, ["dev", "ops"]);
    assert!(!principal.is_admin);
    assert_eq!(principal.auth_method, AuthMethod::Password);
    assert_eq!(principal.owner(), "mcpgw:user#alice");
    for (name, password) in [
        ("alice", "wrong password!!"),
        ("bob", "a long enough password"),
        ("nul\0", "a long enough password"),
    ] {
        assert!(matches!(
            users.sign_in(name, password, 20).await,
            Err(UserError::BadCredentials)
        ));
    }
    let json = serde_json::to_value(&record).unwrap();
    assert!(
        json.get("password_hash").is_none(),
        "the hash never leaves: {json}"
    );
}

#[tokio::test]
async fn bad_names_short_passwords_and_duplicates_are_refused() {
    let users = service();
    for name in ["", "-x", "has space", "a/b", "nul\0", &"x".repeat(65)] {
        let user = NewUser {
            username: name.into(),
            ..alice()
        };
        assert!(
            matches!(users.create(user, 0).await, Err(UserError::Invalid(_))),
            "{name:?}"
        );
    }
    let short = NewUser {
        password: "short".into(),
        ..alice()
    };
    assert!(matches!(
        users.create(short, 0).await,
        Err(UserError::Invalid(_))
    ));
    users.create(alice(), 0).await.unwrap();
    assert!(matches!(
        users.create(alice(), 0).await,
        Err(UserError::Exists(_))
    ));
}

#[tokio::test]
async fn the_first_admin_is_created_only_when_there_is_no_user() {
    let dir = tempfile::tempdir().unwrap();
    let users = service();
    let outcome = users.bootstrap_admin(dir.path(), None, 0).await.unwrap();
    let path = dir.path().join(PASSWORD_FILE);
    assert_eq!(outcome, Bootstrapped::PasswordFile(path.clone()));
    let password = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert!(password.len() >= MIN_PASSWORD_CHARS);
    let admin = users.sign_in("Admin", &password, 1).await.unwrap();
    assert!(admin.is_admin, "user names are case-insensitive");
    let again = users
        .bootstrap_admin(dir.path(), Some("a chosen password".into()), 0)
        .await
        .unwrap();
    assert_eq!(again, Bootstrapped::NotNeeded);

    // Deleting admin once another user exists sticks.
    users.create(alice(), 0).await.unwrap();
    users.delete("admin").await.unwrap();
    let after = users.bootstrap_admin(dir.path(), None, 0).await.unwrap();
    assert_eq!(after, Bootstrapped::NotNeeded);

    let fresh = service();
    let short = fresh
        .bootstrap_admin(dir.path(), Some("short".into()), 0)
        .await;
    assert!(
        matches!(short, Err(UserError::Invalid(_))),
        "the environment's password is checked too"
    );
    let chosen = fresh
        .bootstrap_admin(dir.path(), Some("a chosen password".into()), 0)
        .await
        .unwrap();
    assert_eq!(chosen, Bootstrapped::FromEnvironment);
    assert!(fresh.sign_in("admin", "a chosen password", 1).await.is_ok());
}

#[tokio::test]
async fn a_changed_password_replaces_the_old_one() {
    let users = service();
    users.create(alice(), 0).await.unwrap();
    users
        .set_password("alice", "the new password".into(), 5)
        .await
        .unwrap();
    assert!(
        users
            .sign_in("alice", "a long enough password", 6)
            .await
            .is_err()
    );
    assert!(users.sign_in("alice", "the new password", 6).await.is_ok());
    assert!(matches!(
        users
            .set_password("nobody", "the new password".into(), 5)
            .await,
        Err(UserError::NotFound(_))
    ));
    users.delete("alice").await.unwrap();
    assert!(users.sign_in("alice", "the new password", 7).await.is_err());
}

#[tokio::test]
async fn guessing_is_throttled_per_name() {
    let users = service();
    users.create(alice(), 0).await.unwrap();
    let mut throttled = false;
    for _ in 0..20 {
        if let Err(UserError::Throttled(_)) = users.sign_in("alice", "guess guess guess", 0).await {
            throttled = true;
            break;
        }
    }
    assert!(throttled);
    assert!(
        matches!(
            users.sign_in("alice", "a long enough password", 0).await,
            Err(UserError::Throttled(_))
        ),
        "even the right password waits out the window"
    );
    assert!(
        users
            .sign_in("alice", "a long enough password", 301)
            .await
            .is_ok()
    );
}
