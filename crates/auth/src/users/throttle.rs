//! Slows down password guessing: after [`MAX_FAILURES`] failed sign-ins for one user name
//! within [`WINDOW_SECS`], further attempts for that name are refused until the window
//! ends. An attempt is counted before the password is checked, so parallel guesses cannot
//! slip through together. Kept in memory per replica; when [`MAX_TRACKED`] names are
//! tracked the oldest is forgotten, so guesses at made-up names cannot grow the map, nor
//! stop it from counting a real name. (A per-name limit lets anyone delay a known name's
//! sign-in for a window; per-client limits are the rate limiter's.)

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

    /// Counts an attempt for `username`, or says how many seconds it must wait first.
    pub fn attempt(&self, username: &str, now: i64) -> Result<(), u64> {
        self.with(|map| {
            if let Some(entry) = map.get(username) {
                let ends = entry.since + WINDOW_SECS;
                if entry.count >= MAX_FAILURES && now < ends {
                    return Err((ends - now).unsigned_abs());
                }
            }
            if map.len() >= MAX_TRACKED && !map.contains_key(username) {
                map.retain(|_, entry| now < entry.since + WINDOW_SECS);
                if map.len() >= MAX_TRACKED
                    && let Some(oldest) = map
                        .iter()
                        .min_by_key(|(_, entry)| entry.since)
                        .map(|(name, _)| name.clone())
                {
                    map.remove(&oldest);
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
            Ok(())
        })
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
    fn refuses_after_too_many_attempts_until_the_window_ends() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(throttle.attempt("alice", 100), Ok(()));
        }
        assert_eq!(throttle.attempt("alice", 100), Err(WINDOW_SECS as u64));
        assert_eq!(throttle.attempt("alice", 150), Err(WINDOW_SECS as u64 - 50));
        assert_eq!(
            throttle.attempt("bob", 100),
            Ok(()),
            "other names are not affected"
        );
        assert_eq!(
            throttle.attempt("alice", 100 + WINDOW_SECS),
            Ok(()),
            "a new window"
        );
    }

    #[test]
    fn success_forgets_failures() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.attempt("alice", 0).unwrap();
        }
        throttle.succeeded("alice");
        throttle.attempt("alice", 0).unwrap();
        assert_eq!(throttle.attempt("alice", 0), Ok(()));
    }

    #[test]
    fn a_full_map_forgets_its_oldest_name_and_still_counts_new_ones() {
        let throttle = Throttle::default();
        for i in 0..MAX_TRACKED {
            throttle
                .attempt(&format!("junk-{i}"), (i % 10) as i64)
                .unwrap();
        }
        for _ in 0..MAX_FAILURES {
            throttle.attempt("alice", 20).unwrap();
        }
        assert!(throttle.attempt("alice", 20).is_err());
        assert!(throttle.with(|map| map.len()) <= MAX_TRACKED);
    }
}
