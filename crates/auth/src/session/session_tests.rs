use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::principal::AuthMethod;

#[derive(Default)]
struct MemorySessions {
    sessions: Mutex<HashMap<String, SessionRecord>>,
    flows: Mutex<HashMap<String, LoginFlow>>,
}

#[async_trait]
impl SessionStore for MemorySessions {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), String> {
        self.sessions
            .lock()
            .unwrap()
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }
    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, String> {
        Ok(self.sessions.lock().unwrap().get(id_hash).cloned())
    }
    async fn delete_session(&self, id_hash: &str) -> Result<(), String> {
        self.sessions.lock().unwrap().remove(id_hash);
        Ok(())
    }
    async fn delete_sessions_of(&self, owner: &str) -> Result<u64, String> {
        let mut map = self.sessions.lock().unwrap();
        let before = map.len();
        map.retain(|_, session| session.owner != owner);
        Ok((before - map.len()) as u64)
    }
    async fn prune_sessions(&self, now: i64) -> Result<u64, String> {
        let mut map = self.sessions.lock().unwrap();
        let before = map.len();
        map.retain(|_, session| now < session.expires_at);
        Ok((before - map.len()) as u64)
    }
    async fn insert_login_flow(&self, flow: &LoginFlow) -> Result<(), String> {
        self.flows
            .lock()
            .unwrap()
            .insert(flow.state_hash.clone(), flow.clone());
        Ok(())
    }
    async fn take_login_flow(&self, state_hash: &str) -> Result<Option<LoginFlow>, String> {
        Ok(self.flows.lock().unwrap().remove(state_hash))
    }
}

fn alice() -> Principal {
    Principal {
        subject: "alice".into(),
        is_admin: false,
        groups: vec!["dev".into()],
        client_id: None,
        username: Some("alice".into()),
        scopes: Vec::new(),
        auth_method: AuthMethod::Password,
        expires_at: None,
    }
}

#[tokio::test]
async fn a_session_opens_until_it_expires_or_closes() {
    let store = Arc::new(MemorySessions::default());
    let sessions = SessionService::new(store.clone(), 100);
    let opened = sessions.open(alice(), 1000).await.unwrap();
    assert_eq!(opened.ttl, 100);
    assert_eq!(opened.session.principal.expires_at, Some(1100));
    let stored = store
        .sessions
        .lock()
        .unwrap()
        .values()
        .next()
        .cloned()
        .unwrap();
    assert_ne!(
        stored.id_hash, opened.cookie_value,
        "only a hash of the id is stored"
    );
    assert_eq!(stored.owner, "mcpgw:user#alice");

    let found = sessions
        .find(&opened.cookie_value, 1099)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, opened.session);
    assert_eq!(
        sessions.find(&opened.cookie_value, 1100).await.unwrap(),
        None
    );
    assert_eq!(sessions.find("junk", 1000).await.unwrap(), None);
    assert_eq!(sessions.find(&random_token(), 1000).await.unwrap(), None);

    sessions.close(&opened.cookie_value).await.unwrap();
    assert_eq!(
        sessions.find(&opened.cookie_value, 1001).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn all_sessions_of_a_user_close_together() {
    let sessions = SessionService::new(Arc::new(MemorySessions::default()), 100);
    let one = sessions.open(alice(), 0).await.unwrap();
    let two = sessions.open(alice(), 0).await.unwrap();
    assert_ne!(one.cookie_value, two.cookie_value);
    assert_ne!(one.session.csrf_token, two.session.csrf_token);
    assert_eq!(sessions.close_all_of("mcpgw:user#alice").await.unwrap(), 2);
    assert_eq!(sessions.find(&two.cookie_value, 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_login_flow_is_taken_once_and_not_after_it_expires() {
    let sessions = SessionService::new(Arc::new(MemorySessions::default()), 100);
    let flow = LoginFlow {
        state_hash: String::new(),
        provider: "idp".into(),
        verifier: random_token(),
        nonce: random_token(),
        redirect_uri: "http://127.0.0.1/auth/callback/idp".into(),
        next: "/".into(),
        expires_at: 50,
    };
    let state = sessions.begin_login(flow.clone()).await.unwrap();
    let taken = sessions.take_login(&state, 10).await.unwrap().unwrap();
    assert_eq!(taken.verifier, flow.verifier);
    assert_eq!(
        sessions.take_login(&state, 10).await.unwrap(),
        None,
        "replayed"
    );
    let late = sessions.begin_login(flow).await.unwrap();
    assert_eq!(
        sessions.take_login(&late, 50).await.unwrap(),
        None,
        "expired"
    );
}
