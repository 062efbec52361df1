use std::collections::HashMap;

use async_trait::async_trait;

use super::*;
use crate::session_directory::KnownSession;

/// `allows` without a directory: unknown sessions pass (a server checks its own ids).
async fn may_use(owners: &SessionOwners, server: &str, session: &str, owner: &str) -> bool {
    owners.allows(server, session, owner, true).await.unwrap()
}

#[tokio::test]
async fn a_session_is_its_openers_and_unknown_ones_pass() {
    let owners = SessionOwners::default();
    assert!(
        may_use(&owners, "x", "s1", "alice").await,
        "unknown: let through"
    );
    owners.bind("x", "s1", "alice", None);
    assert!(may_use(&owners, "x", "s1", "alice").await);
    assert!(!may_use(&owners, "x", "s1", "bob").await);
    // The same id at another server is another session; a second bind moves nothing.
    assert!(may_use(&owners, "y", "s1", "bob").await);
    owners.bind("x", "s1", "bob", None);
    assert!(!may_use(&owners, "x", "s1", "bob").await);
    assert!(
        owners.step("x", "s1", "tools/call").len() == 1,
        "called before listing"
    );
    assert!(
        owners.step("x", "s1", "tools/call").is_empty(),
        "once per session"
    );
    assert!(
        owners.step("y", "s9", "tools/list").is_empty(),
        "unknown session"
    );
    owners.forget("x", "s1");
    assert!(
        may_use(&owners, "x", "s1", "bob").await,
        "ended: unknown again"
    );
    owners.bind("x", &"z".repeat(MAX_ID_BYTES + 1), "alice", None);
    assert_eq!(owners.inner.lock().unwrap().len, 0);
    assert!(
        !owners.allows("x", "s1", "bob", false).await.unwrap(),
        "where the gateway serves the session, unknown is refused"
    );
}

#[tokio::test]
async fn the_oldest_sessions_are_forgotten_first() {
    let owners = SessionOwners::default();
    for i in 0..MAX_SESSIONS + 10 {
        owners.bind("x", &format!("s{i}"), "alice", None);
    }
    let held = owners.inner.lock().unwrap().len;
    assert_eq!(held, MAX_SESSIONS);
    assert!(may_use(&owners, "x", "s0", "bob").await, "evicted");
    assert!(!may_use(&owners, "x", &format!("s{}", MAX_SESSIONS + 9), "bob").await);
}

/// A directory in memory, standing for the shared database.
#[derive(Default)]
struct Memory(Mutex<HashMap<(String, String), KnownSession>>);

#[async_trait]
impl SessionDirectory for Memory {
    async fn remember(
        &self,
        scope: &str,
        id: &str,
        owner: &str,
        state: Option<&str>,
    ) -> Result<(), String> {
        self.0.lock().unwrap().insert(
            (scope.into(), id.into()),
            KnownSession {
                owner: owner.into(),
                state: state.map(str::to_owned),
            },
        );
        Ok(())
    }
    async fn find(&self, scope: &str, id: &str) -> Result<Option<KnownSession>, String> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&(scope.into(), id.into()))
            .cloned())
    }
    async fn touch(&self, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    async fn forget(&self, scope: &str, id: &str) -> Result<(), String> {
        self.0.lock().unwrap().remove(&(scope.into(), id.into()));
        Ok(())
    }
}

#[tokio::test]
async fn replicas_find_each_others_sessions_in_the_directory() {
    let shared: Arc<dyn SessionDirectory> = Arc::new(Memory::default());
    let here = SessionOwners::default().with_directory(Arc::clone(&shared));
    let there = SessionOwners::default().with_directory(Arc::clone(&shared));
    here.open("x", "s1", "alice", None, Some("{}")).await;
    assert!(there.allows("x", "s1", "alice", true).await.unwrap());
    assert!(!there.allows("x", "s1", "bob", true).await.unwrap());
    assert!(
        !there.allows("x", "s2", "alice", true).await.unwrap(),
        "with a directory, a session nobody opened is refused"
    );
    there.end("x", "s1").await;
    let elsewhere = SessionOwners::default().with_directory(shared);
    assert!(
        !elsewhere.allows("x", "s1", "alice", true).await.unwrap(),
        "an ended session is not brought back"
    );
}
