//! KThread: a guest thread's saved registers, priority, TLS and what it waits for.

use unicorn_engine::Context;

use super::{KObjectRef, ProcessId, SessionId};

/// Why a thread is not runnable (each maps to the svc it is blocked in, which the
/// deadlock report names).
#[derive(Debug, Clone)]
pub enum Wait {
    /// SendSyncRequest (0x21): until the server replies or the session closes.
    SyncRequest { session: SessionId },
    /// WaitSynchronization (0x18) or ReplyAndReceive (0x43) over `objects`;
    /// `deadline` in bench nanoseconds (`None` = infinite).
    Objects { objects: Vec<KObjectRef>, deadline: Option<u64>, receive: bool },
    /// SleepThread (0x0B).
    Sleep { deadline: u64 },
    /// sm GetServiceHandle deferred until the service registers (runtime-abi.md §5).
    SmDeferred { session: SessionId, service: String },
    /// A request an HLE service deferred, or stopped the run on; `what` says why.
    HleDeferred { session: SessionId, what: String },
}

impl Wait {
    /// Name of the blocking svc, for reports.
    pub fn svc_name(&self) -> String {
        match self {
            Wait::SyncRequest { session } => format!("SendSyncRequest (0x21) on session #{session}"),
            Wait::Objects { objects, deadline, receive } => format!(
                "{} over {} object(s), {}",
                if *receive { "ReplyAndReceive (0x43)" } else { "WaitSynchronization (0x18)" },
                objects.len(),
                match deadline {
                    Some(d) => format!("deadline {d} ns"),
                    None => "no timeout".to_string(),
                }
            ),
            Wait::Sleep { deadline } => format!("SleepThread (0x0b) until {deadline} ns"),
            Wait::SmDeferred { service, .. } => {
                format!(
                    "SendSyncRequest (0x21) to sm: GetServiceHandle(\"{service}\") deferred: no such service registered"
                )
            }
            Wait::HleDeferred { session, what } => format!("SendSyncRequest (0x21) on session #{session}: {what}"),
        }
    }

    pub fn deadline(&self) -> Option<u64> {
        match self {
            Wait::Objects { deadline, .. } => *deadline,
            Wait::Sleep { deadline } => Some(*deadline),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum ThreadState {
    /// Created by CreateThread, not started.
    Created,
    Runnable,
    Waiting(Wait),
    Exited,
}

/// Registers a thread starts with.
#[derive(Debug, Clone, Copy)]
pub struct InitialRegisters {
    pub pc: u64,
    pub sp: u64,
    pub x0: u64,
    pub x1: u64,
    pub lr: u64,
}

pub struct KThread {
    pub process: ProcessId,
    /// Index of the thread inside its process (0 = main), for reports.
    pub index_in_process: usize,
    pub priority: i32,
    pub tls: u64,
    pub state: ThreadState,
    /// Saved registers once the thread has run; `None` before its first slice.
    pub context: Option<Context>,
    pub initial: InitialRegisters,
    /// Register writes (x index, value) to apply when the thread next runs: the
    /// outputs of the svc it was blocked in.
    pub pending_writes: Vec<(usize, u64)>,
    /// The client session a SendSyncRequest of this thread holds a reference to until
    /// the svc returns (mesosphere SendSyncRequestImpl's KScopedAutoObject): set while
    /// the thread waits for the reply.
    pub sync_session: Option<SessionId>,
    /// Global creation order (scheduling tie-break).
    pub creation: u64,
    pub handle_in_own_process: u32,
    /// Guest instructions this thread has run (run.rs `run_thread` adds each slice),
    /// for the budget report.
    pub instructions: u64,
}

impl KThread {
    pub fn is_runnable(&self) -> bool {
        matches!(self.state, ThreadState::Runnable)
    }

    /// Makes the thread runnable with the given svc outputs.
    pub fn wake(&mut self, writes: &[(usize, u64)]) {
        self.pending_writes.extend_from_slice(writes);
        self.state = ThreadState::Runnable;
    }
}
