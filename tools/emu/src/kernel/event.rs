//! KReadableEvent: the readable side of an event a host (HLE) service owns and signals,
//! handed to a guest as a copy handle (am's ICommonStateGetter 0 GetEventHandle, the
//! binder's GetNativeHandle). The guest waits on it (WaitSynchronization) and resets it
//! (svcResetSignal); only the service signals and clears it, so the bench models no
//! writable side (mesosphere `kern_k_readable_event.cpp`, `kern_k_event.cpp`).
//!
//! Events live as long as the kernel: the services that made them keep them.

use xcbuf_common::result::{ResultCode, kernel};

use super::Kernel;

pub type EventId = usize;

/// One event's readable side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KReadableEvent {
    /// Who made it, for reports (e.g. `am:ICommonStateGetter`).
    pub name: String,
    pub signalled: bool,
}

impl Kernel {
    /// A new event, not signalled.
    pub fn create_event(&mut self, name: &str) -> EventId {
        self.events.push(KReadableEvent { name: name.to_string(), signalled: false });
        self.events.len() - 1
    }

    /// KEvent::Signal / KEvent::Clear from the owning service: the waiters are woken by
    /// the scheduler's next poll of their waits.
    pub fn set_event(&mut self, event: EventId, signalled: bool) {
        if let Some(e) = self.events.get_mut(event) {
            e.signalled = signalled;
        }
    }

    /// svcResetSignal on a readable event: InvalidState (0xfa01) when it is not signalled
    /// (mesosphere `KReadableEvent::Reset`; `svc/kern_svc_synchronization.cpp` ResetSignal).
    pub fn reset_event(&mut self, event: EventId) -> Result<(), ResultCode> {
        let e = self.events.get_mut(event).ok_or(kernel::INVALID_HANDLE)?;
        if !e.signalled {
            return Err(kernel::INVALID_STATE);
        }
        e.signalled = false;
        Ok(())
    }
}
