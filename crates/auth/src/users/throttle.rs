//! Slows down password guessing: after [`MAX_FAILURES`] failed sign-ins for one user name
//! within [`WINDOW_SECS`], further attempts for that name are refused until the window
//! ends. Kept in memory per replica; the map is bounded so that guesses at made-up names
//! cannot grow it without limit.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures tolerated within a window.
const MAX_FAILURES: u32 = 10;
/// Length of the window, in seconds.
const WINDOW_SECS: i64 = 300;
/// Most names tracked at once.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: i64,
}

/// Failed sign-ins per user name.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl Throttle {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Failures>) -> T) -> T {
        match self.failures.lock() {
            Ok(mut map) => f(&mut map),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Seconds to wait before `username` may try again, if it must wait.
    pub fn wait(&self, username: &str, now: i64) -> Option<u64> {
        self.with(|map| {
            let entry = map.get(username)?;
            let ends = entry.since + WINDOW_SECS;
            (entry.count >= MAX_FAILURES && now < ends).then(|| (ends - now).unsigned_abs())
        })
    }

    /// Records a failed sign-in.
    pub fn failed(&self, username: &str, now: i64) {
        self.with(|map| {
            if map.len() >= MAX_TRACKED && !map.contains_key(username) {
                map.retain(|_, entry| now < entry.since + WINDOW_SECS);
                if map.len() >= MAX_TRACKED {
                    return;
                }
            }
            let entry = map.entry(username.to_owned()).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now >= entry.since + WINDOW_SECS {
                *entry = Failures {
                    count: 0,
                    since: now,
                };
            }
            entry.count += 1;
        });
    }

    /// Forgets the failures of a user who signed in.
    pub fn succeeded(&self, username: &str) {
        self.with(|map| map.remove(username));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_too_many_failures_until_the_window_ends() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(throttle.wait("alice", 100), None);
            throttle.failed("alice", 100);
        }
        assert_eq!(throttle.wait("alice", 100), Some(WINDOW_SECS as u64));
        assert_eq!(
            throttle.wait("bob", 100),
            None,
            "other names are not affected"
        );
        assert_eq!(throttle.wait("alice", 100 + WINDOW_SECS), None);
        throttle.failed("alice", 100 + WINDOW_SECS);
        assert_eq!(
            throttle.wait("alice", 100 + WINDOW_SECS),
            None,
            "a new window"
        );
    }

    #[test]
    fn success_forgets_failures() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed("alice", 0);
        }
        throttle.succeeded("alice");
        throttle.failed("alice", 0);
        assert_eq!(throttle.wait("alice", 0), None);
    }
}
