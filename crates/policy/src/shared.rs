//! The policy in force, replaced whole on reload while requests keep reading it.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::policy::Policy;

/// A cheap-to-clone handle on the current policy. Readers never wait: a reload swaps in
/// a new [`Policy`] and requests already running keep the one they loaded.
#[derive(Debug, Clone)]
pub struct SharedPolicy {
    current: Arc<ArcSwap<Policy>>,
}

impl SharedPolicy {
    /// Starts with `policy`.
    pub fn new(policy: Policy) -> SharedPolicy {
        SharedPolicy {
            current: Arc::new(ArcSwap::from_pointee(policy)),
        }
    }

    /// The policy in force now.
    pub fn load(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Puts `policy` in force for every request that starts from now on.
    pub fn replace(&self, policy: Policy) {
        self.current.store(Arc::new(policy));
    }
}

impl Default for SharedPolicy {
    fn default() -> Self {
        SharedPolicy::new(Policy::admins_only())
    }
}
