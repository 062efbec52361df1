//! The process group of a stdio server: how everything it started is stopped with it.
//!
//! A registered command is often a launcher (`npx` → `node`, `uvx` → `python`, `sh -c`):
//! killing only the direct child leaves the real server running as an orphan. The child is
//! therefore made the leader of a new process group, and signals go to the whole group.

use std::io;

/// A process group created for one stdio server (its id is the leader's pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessGroup(libc::pid_t);

/// Signals a process group can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Asks politely.
    Terminate,
    /// Cannot be ignored.
    Kill,
}

impl ProcessGroup {
    /// The group led by the process `leader`, which was spawned with `process_group(0)`.
    ///
    /// Ids 0 and 1 are refused: `kill(0, …)` and `kill(-1, …)` would signal our own group
    /// or every process we may signal.
    pub(crate) fn led_by(leader: u32) -> Option<ProcessGroup> {
        libc::pid_t::try_from(leader)
            .ok()
            .filter(|pid| *pid > 1)
            .map(ProcessGroup)
    }

    /// Sends `signal` to every process in the group; false if none was left to receive it.
    ///
    /// The group id stays reserved while any member lives, even after the leader was
    /// reaped, so helpers the leader left behind are still reached.
    pub(crate) fn signal(self, signal: Signal) -> bool {
        let number = match signal {
            Signal::Terminate => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        // SAFETY: `kill` has no memory-safety preconditions; the negative id addresses the
        // group, and `led_by` guarantees it is neither 0 nor -1.
        let sent = unsafe { libc::kill(-self.0, number) } == 0;
        if !sent {
            let error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::ESRCH) {
                tracing::debug!(group = self.0, %error, "cannot signal process group");
            }
        }
        sent
    }

    /// True while any process (including a zombie not yet reaped) is in the group.
    pub(crate) fn is_alive(self) -> bool {
        // SAFETY: signal 0 only checks that the group exists; no signal is sent.
        let exists = unsafe { libc::kill(-self.0, 0) } == 0;
        // EPERM: a member exists that we may not signal (a set-uid helper, say).
        exists || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_ids_that_would_signal_everyone() {
        assert_eq!(ProcessGroup::led_by(0), None);
        assert_eq!(ProcessGroup::led_by(1), None);
        assert_eq!(ProcessGroup::led_by(u32::MAX), None);
        assert!(ProcessGroup::led_by(1234).is_some());
    }
}
