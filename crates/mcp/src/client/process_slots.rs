//! The cap on stdio server processes the gateway runs at once (`[limits]
//! max_stdio_processes`): registered stdio servers, and the probes that start one to
//! check it, all count. Past the cap a start fails with a clear error instead of
//! exhausting the machine's processes or memory. The cap is process-wide, like the
//! processes it counts.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::ProbeError;

/// Most processes at once (unlimited until configured).
static MAX: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Processes running now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Sets the cap on stdio server processes running at once.
pub fn set_max_stdio_processes(max: usize) {
    MAX.store(max, Ordering::Release);
}

/// One running process's place under the cap, given back when dropped (when the
/// process has exited or been killed).
#[derive(Debug)]
pub struct ProcessSlot(());

impl Drop for ProcessSlot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A place for one more process, or [`ProbeError::TooManyProcesses`] at the cap.
pub fn take_slot() -> Result<ProcessSlot, ProbeError> {
    let max = MAX.load(Ordering::Acquire);
    RUNNING
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
            (running < max).then_some(running + 1)
        })
        .map(|_| ProcessSlot(()))
        .map_err(|_| ProbeError::TooManyProcesses(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back() {
        // The only test touching the cap (it is process-wide).
        let before = RUNNING.load(Ordering::Acquire);
        set_max_stdio_processes(before + 1);
        let slot = take_slot().unwrap();
        assert!(matches!(take_slot(), Err(ProbeError::TooManyProcesses(_))));
        drop(slot);
        let again = take_slot().unwrap();
        set_max_stdio_processes(usize::MAX);
        drop(again);
    }
}
