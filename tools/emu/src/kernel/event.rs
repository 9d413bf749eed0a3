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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::svc::SvcFlow;
    use crate::kernel::{KObjectRef, KernelOptions};

    const PAGE: u64 = 0x1000_0000;

    /// WaitSynchronization(one handle, timeout 0) from the code-less thread: its result.
    fn wait_now(k: &mut Kernel, t: usize, handle: u32) -> u64 {
        let p = k.threads[t].process;
        k.processes[p].cpu.write(PAGE, &handle.to_le_bytes()).unwrap();
        for (reg, v) in [(1, PAGE), (2, 1), (3, 0)] {
            k.processes[p].cpu.set_x(reg, v).unwrap();
        }
        assert_eq!(k.handle_svc(t, 0x18), SvcFlow::Continue);
        k.processes[p].cpu.x(0)
    }

    fn reset(k: &mut Kernel, t: usize, handle: u32) -> u64 {
        let p = k.threads[t].process;
        k.processes[p].cpu.set_x(0, u64::from(handle)).unwrap();
        k.handle_svc(t, 0x17);
        k.processes[p].cpu.x(0)
    }

    #[test]
    fn a_readable_event_is_waitable_while_signalled_and_reset_signal_clears_it_once() {
        let mut k = Kernel::new(KernelOptions::default());
        let (p, t) = k.add_codeless_process("client", PAGE);
        let e = k.create_event("test");
        let h = k.add_handle(p, KObjectRef::ReadableEvent(e)).unwrap();
        assert_eq!(wait_now(&mut k, t, h), u64::from(kernel::TIMED_OUT.raw()));
        k.set_event(e, true);
        assert_eq!(wait_now(&mut k, t, h), 0);
        // mesosphere KReadableEvent::Reset: success once, InvalidState when not signalled.
        assert_eq!(reset(&mut k, t, h), 0);
        assert_eq!(reset(&mut k, t, h), u64::from(kernel::INVALID_STATE.raw()));
        assert_eq!(wait_now(&mut k, t, h), u64::from(kernel::TIMED_OUT.raw()));
        // ResetSignal on a handle that is not an event: InvalidHandle.
        assert_eq!(reset(&mut k, t, 0x1234), u64::from(kernel::INVALID_HANDLE.raw()));
    }
}
