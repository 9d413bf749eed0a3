//! The svc layer: register conventions of runtime-abi.md §3 and horizon-ipc.md §7,
//! dispatch by number, and the waits of WaitSynchronization / ReplyAndReceive.
//!
//! An svc the bench does not implement stops the process with its name and number;
//! an svc the process's NPDM does not grant stops it too. Neither is ever a silent
//! success.

use xcbuf_common::result::{ResultCode, kernel};

use crate::cpu::{CpuError, PAGE_SIZE, Perm};
use crate::memory::{self, MemoryState};

use super::extra_results::{BUSY, INVALID_CORE_ID, INVALID_ENUM_VALUE, INVALID_PRIORITY};
use super::port::{KPort, PortServer};
use super::process::ProcessState;
use super::server_session::ReceiveOutcome;
use super::session::{KSession, SessionServer};
use super::thread::{InitialRegisters, ThreadState, Wait};
use super::{KObjectRef, Kernel, ProcessId, ThreadId};

/// What the scheduler does with the calling thread after an svc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcFlow {
    /// Outputs written; keep running.
    Continue,
    /// The thread waits; run another.
    Block,
    /// The thread stays runnable but gives up its slice (SleepThread 0/-1/-2).
    Yield,
    /// The process (or thread) ended.
    Ended,
}

/// Handles in one WaitSynchronization / ReplyAndReceive (`ArgumentHandleCountMax`).
pub const HANDLE_COUNT_MAX: u64 = 0x40;
/// What the bench writes into X1 when WaitSynchronization or ReplyAndReceive fails
/// without writing its out index (the argument checks, an invalid reply target,
/// TimedOut): on hardware the register then holds whatever the svc's output slot held
/// (mesosphere ReplyAndReceiveImpl leaves `*out_index` alone on those paths; Eden's
/// wrapper zero-initialises it, Ryujinx writes 0). A distinctive value, so guest code
/// that reads the index after such a failure shows up in tests and traces; as W1 it is
/// 0x7e7e7e7e, a positive index far past any handle list.
pub const UNWRITTEN_INDEX_POISON: u64 = 0x7e7e_7e7e_7e7e_7e7e;
/// Longest port name including its NUL (`NameLengthMax`, horizon-ipc.md §7).
pub const PORT_NAME_LENGTH_MAX: usize = 12;
/// SetHeapSize granularity: 2 MiB (emulator-bench.md §1).
pub const HEAP_SIZE_ALIGNMENT: u64 = 0x20_0000;

/// svc names, for reports (AMS-SVCDEF numbering).
pub fn svc_name(n: u32) -> &'static str {
    match n {
        0x01 => "SetHeapSize",
        0x02 => "SetMemoryPermission",
        0x03 => "SetMemoryAttribute",
        0x04 => "MapMemory",
        0x05 => "UnmapMemory",
        0x06 => "QueryMemory",
        0x07 => "ExitProcess",
        0x08 => "CreateThread",
        0x09 => "StartThread",
        0x0A => "ExitThread",
        0x0B => "SleepThread",
        0x0C => "GetThreadPriority",
        0x0D => "SetThreadPriority",
        0x0E => "GetThreadCoreMask",
        0x0F => "SetThreadCoreMask",
        0x10 => "GetCurrentProcessorNumber",
        0x11 => "SignalEvent",
        0x12 => "ClearEvent",
        0x13 => "MapSharedMemory",
        0x14 => "UnmapSharedMemory",
        0x15 => "CreateTransferMemory",
        0x16 => "CloseHandle",
        0x17 => "ResetSignal",
        0x18 => "WaitSynchronization",
        0x19 => "CancelSynchronization",
        0x1A => "ArbitrateLock",
        0x1B => "ArbitrateUnlock",
        0x1C => "WaitProcessWideKeyAtomic",
        0x1D => "SignalProcessWideKey",
        0x1E => "GetSystemTick",
        0x1F => "ConnectToNamedPort",
        0x20 => "SendSyncRequestLight",
        0x21 => "SendSyncRequest",
        0x22 => "SendSyncRequestWithUserBuffer",
        0x23 => "SendAsyncRequestWithUserBuffer",
        0x24 => "GetProcessId",
        0x25 => "GetThreadId",
        0x26 => "Break",
        0x27 => "OutputDebugString",
        0x28 => "ReturnFromException",
        0x29 => "GetInfo",
        0x40 => "CreateSession",
        0x41 => "AcceptSession",
        0x42 => "ReplyAndReceiveLight",
        0x43 => "ReplyAndReceive",
        0x44 => "ReplyAndReceiveWithUserBuffer",
        0x45 => "CreateEvent",
        0x70 => "CreatePort",
        0x71 => "ManageNamedPort",
        0x72 => "ConnectToPort",
        0x7F => "CallSecureMonitor",
        _ => "(unknown)",
    }
}

fn rc(r: ResultCode) -> u64 {
    u64::from(r.raw())
}

impl Kernel {
    pub(super) fn arg(&self, t: ThreadId, n: usize) -> u64 {
        self.processes[self.threads[t].process].cpu.x(n)
    }

    /// Writes outputs into the running thread's registers.
    fn out(&mut self, t: ThreadId, writes: &[(usize, u64)]) {
        let p = self.threads[t].process;
        for &(reg, v) in writes {
            let _ = self.processes[p].cpu.set_x(reg, v);
        }
    }

    pub(super) fn fail(&mut self, t: ThreadId, r: ResultCode) -> SvcFlow {
        self.out(t, &[(0, rc(r))]);
        SvcFlow::Continue
    }

    pub(super) fn ok(&mut self, t: ThreadId, outs: &[(usize, u64)]) -> SvcFlow {
        self.out(t, &[(0, 0)]);
        self.out(t, outs);
        SvcFlow::Continue
    }

    /// Stops the process with a report (svc not granted / not implemented / Break).
    pub fn fault_process(&mut self, p: ProcessId, report: String) {
        self.terminate_process(p, ProcessState::Faulted { report });
    }

    fn read_guest(&self, p: ProcessId, address: u64, len: u64, need: Perm) -> Option<Vec<u8>> {
        let proc_ = &self.processes[p];
        if !proc_.space.check(address, len, need) {
            return None;
        }
        let len = usize::try_from(len).ok()?;
        let mut buf = vec![0u8; len];
        proc_.cpu.read(address, &mut buf).ok()?;
        Some(buf)
    }

    /// Runs svc `n` for thread `t` as its `svc #n` would, with `regs` (register, value) set
    /// first and the others as they are: how host-driven kernel tests make a call.
    pub fn call_svc(&mut self, t: ThreadId, n: u32, regs: &[(usize, u64)]) -> Result<SvcFlow, CpuError> {
        let p = self.threads[t].process;
        for &(r, v) in regs {
            self.processes[p].cpu.set_x(r, v)?;
        }
        Ok(self.handle_svc(t, n))
    }

    /// Register `n` of thread `t` (an svc's outputs: x0 is its result).
    pub fn register(&self, t: ThreadId, n: usize) -> u64 {
        self.processes[self.threads[t].process].cpu.x(n)
    }

    /// Runs svc `n` for thread `t` (loaded in its process's engine).
    pub fn handle_svc(&mut self, t: ThreadId, n: u32) -> SvcFlow {
        let p = self.threads[t].process;
        *self.processes[p].counters.svcs.entry(n).or_insert(0) += 1;
        if !self.processes[p].svc_granted(n) {
            let pc = self.processes[p].cpu.pc().wrapping_sub(4);
            let at = self.processes[p].describe_address(pc);
            let report = format!(
                "svc {:#04x} {} at {at} by {} is not granted by the process's NPDM syscall mask",
                n,
                svc_name(n),
                self.thread_name(t)
            );
            self.fault_process(p, report);
            return SvcFlow::Ended;
        }
        match n {
            0x01 => self.svc_set_heap_size(t),
            0x06 => self.svc_query_memory(t),
            0x07 => {
                self.terminate_process(p, ProcessState::Exited { result: 0, how: "svcExitProcess".into() });
                SvcFlow::Ended
            }
            0x08 => self.svc_create_thread(t),
            0x09 => self.svc_start_thread(t),
            0x0A => {
                self.terminate_thread(t);
                let all_done =
                    self.processes[p].threads.iter().all(|&x| matches!(self.threads[x].state, ThreadState::Exited));
                if all_done {
                    self.terminate_process(p, ProcessState::Exited { result: 0, how: "last thread exited".into() });
                }
                SvcFlow::Ended
            }
            0x0B => self.svc_sleep_thread(t),
            0x0C => self.svc_get_thread_priority(t),
            0x13 => self.svc_map_shared_memory(t),
            0x14 => self.svc_unmap_shared_memory(t),
            0x15 => self.svc_create_transfer_memory(t),
            0x16 => {
                let h = self.arg(t, 0) as u32;
                match self.close_handle(p, h) {
                    Ok(()) => self.ok(t, &[]),
                    Err(e) => self.fail(t, e),
                }
            }
            0x17 => self.svc_reset_signal(t),
            0x18 => self.svc_wait(t, false),
            0x1E => {
                // 19.2 MHz ticks from bench nanoseconds: ns * 19.2e6 / 1e9 = ns * 12 / 625.
                let ticks = self.now_ns() / 625 * 12;
                self.out(t, &[(0, ticks)]);
                SvcFlow::Continue
            }
            0x1F => self.svc_connect_to_named_port(t),
            0x21 => self.svc_send_sync_request(t),
            0x24 => self.svc_get_process_id(t),
            0x25 => self.svc_get_thread_id(t),
            0x26 => self.svc_break(t),
            0x27 => self.svc_output_debug_string(t),
            0x29 => self.svc_get_info(t),
            0x40 => self.svc_create_session(t),
            0x41 => self.svc_accept_session(t),
            0x43 => self.svc_wait(t, true),
            0x70 => self.svc_create_port(t),
            0x71 => self.svc_manage_named_port(t),
            0x72 => self.svc_connect_to_port(t),
            _ => {
                let pc = self.processes[p].cpu.pc().wrapping_sub(4);
                let at = self.processes[p].describe_address(pc);
                let report = format!(
                    "svc {:#04x} {} at {at} by {} is not implemented by the bench",
                    n,
                    svc_name(n),
                    self.thread_name(t)
                );
                self.fault_process(p, report);
                SvcFlow::Ended
            }
        }
    }

    fn svc_set_heap_size(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let size = self.arg(t, 1);
        if size % HEAP_SIZE_ALIGNMENT != 0 {
            return self.fail(t, kernel::INVALID_SIZE);
        }
        if size > memory::HEAP_REGION_SIZE || size > self.processes[p].memory_limit {
            return self.fail(t, kernel::OUT_OF_MEMORY);
        }
        let proc_ = &mut self.processes[p];
        let old = proc_.heap_size;
        let base = memory::HEAP_REGION_BASE;
        if size < old {
            // Shrinking frees [size, old): every page there must be plain heap (Normal,
            // RW, no attribute: e.g. not locked by a transfer memory), else
            // InvalidCurrentMemory (mesosphere `KPageTableBase::SetHeapSize`,
            // CheckMemoryState with KMemoryState_All/Normal, KMemoryPermission_All/RW,
            // KMemoryAttribute_All/None).
            let freed = proc_.space.range_state(base + size, old - size);
            if freed != Some((MemoryState::Normal, Perm::RW, 0)) {
                return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
            }
            if proc_.space.unmap_range(&mut proc_.cpu, base + size, old - size).is_err() {
                return self.fail(t, kernel::OUT_OF_MEMORY);
            }
        } else if size > old {
            // Growing maps [old, size) and leaves the rest of the heap as it is (a locked
            // transfer memory stays locked).
            let mapped = proc_.space.map_merging(&mut proc_.cpu, base + old, size - old, Perm::RW, MemoryState::Normal);
            if mapped.is_err() {
                return self.fail(t, kernel::OUT_OF_MEMORY);
            }
        }
        proc_.heap_size = size;
        proc_.counters.heap_size_max = proc_.counters.heap_size_max.max(size);
        self.ok(t, &[(1, memory::HEAP_REGION_BASE)])
    }

    fn svc_query_memory(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let info_ptr = self.arg(t, 0);
        let address = self.arg(t, 2);
        let info = self.processes[p].space.query(address).encode();
        if !self.processes[p].space.check(info_ptr, info.len() as u64, Perm::RW) {
            return self.fail(t, kernel::INVALID_POINTER);
        }
        if self.processes[p].cpu.write(info_ptr, &info).is_err() {
            return self.fail(t, kernel::INVALID_POINTER);
        }
        self.ok(t, &[(1, 0)])
    }

    fn svc_create_thread(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let (entry, arg, stack_top) = (self.arg(t, 1), self.arg(t, 2), self.arg(t, 3));
        let priority = self.arg(t, 4) as u32 as i32;
        let core = self.arg(t, 5) as u32 as i32;
        let proc_ = &self.processes[p];
        if !(0..64).contains(&priority) || proc_.priority_mask & (1u64 << priority) == 0 {
            return self.fail(t, INVALID_PRIORITY);
        }
        // -2 = the process's default core (emulator-bench.md §1 CreateThread limits).
        if core != -2 && (!(0..64).contains(&core) || proc_.core_mask & (1u64 << core) == 0) {
            return self.fail(t, INVALID_CORE_ID);
        }
        let initial = InitialRegisters { pc: entry, sp: stack_top, x0: arg, x1: 0, lr: 0 };
        let new = match self.create_thread(p, initial, priority) {
            Ok(n) => n,
            Err(e) => return self.fail(t, e),
        };
        match self.add_handle(p, KObjectRef::Thread(new)) {
            Ok(h) => {
                self.threads[new].handle_in_own_process = h;
                self.ok(t, &[(1, u64::from(h))])
            }
            Err(e) => {
                self.threads[new].state = ThreadState::Exited;
                self.fail(t, e)
            }
        }
    }

    fn svc_start_thread(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let h = self.arg(t, 0) as u32;
        let Some(KObjectRef::Thread(target)) = self.resolve(p, t, h) else {
            return self.fail(t, kernel::INVALID_HANDLE);
        };
        if !matches!(self.threads[target].state, ThreadState::Created) {
            return self.fail(t, BUSY);
        }
        self.threads[target].state = ThreadState::Runnable;
        self.ok(t, &[])
    }

    /// ResetSignal on a readable event (mesosphere `svc/kern_svc_synchronization.cpp`
    /// ResetSignal -> `KReadableEvent::Reset`); any other handle is InvalidHandle (the
    /// process form, a process's signal, is not modelled).
    fn svc_reset_signal(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let h = self.arg(t, 0) as u32;
        match self.processes[p].handles.get(h) {
            Some(KObjectRef::ReadableEvent(e)) => match self.reset_event(e) {
                Ok(()) => self.ok(t, &[]),
                Err(r) => self.fail(t, r),
            },
            _ => self.fail(t, kernel::INVALID_HANDLE),
        }
    }

    fn svc_sleep_thread(&mut self, t: ThreadId) -> SvcFlow {
        let ns = self.arg(t, 0) as i64;
        self.out(t, &[(0, 0)]);
        if ns <= 0 {
            return SvcFlow::Yield;
        }
        let deadline = self.now_ns().saturating_add(ns as u64);
        self.threads[t].state = ThreadState::Waiting(Wait::Sleep { deadline });
        SvcFlow::Block
    }

    fn svc_get_thread_priority(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let h = self.arg(t, 1) as u32;
        match self.resolve(p, t, h) {
            Some(KObjectRef::Thread(x)) => {
                let prio = self.threads[x].priority as u32;
                self.ok(t, &[(1, u64::from(prio))])
            }
            _ => self.fail(t, kernel::INVALID_HANDLE),
        }
    }

    fn svc_get_process_id(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let h = self.arg(t, 1) as u32;
        let pid = match self.resolve(p, t, h) {
            Some(KObjectRef::Process(x)) => self.processes[x].pid,
            Some(KObjectRef::Thread(x)) => self.processes[self.threads[x].process].pid,
            _ => return self.fail(t, kernel::INVALID_HANDLE),
        };
        self.ok(t, &[(1, pid)])
    }

    fn svc_get_thread_id(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let h = self.arg(t, 1) as u32;
        match self.resolve(p, t, h) {
            Some(KObjectRef::Thread(x)) => self.ok(t, &[(1, 0x100 + x as u64)]),
            _ => self.fail(t, kernel::INVALID_HANDLE),
        }
    }

    fn svc_break(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let reason = self.arg(t, 0) as u32;
        let (ptr, size) = (self.arg(t, 1), self.arg(t, 2));
        // Bit 31: notification only; the kernel returns (emulator-bench.md §5).
        if reason & 0x8000_0000 != 0 {
            return self.ok(t, &[]);
        }
        let info = self
            .read_guest(p, ptr, size.min(0x100), Perm::R)
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
            .unwrap_or_else(|| "(unreadable)".into());
        let pc = self.processes[p].cpu.pc().wrapping_sub(4);
        let at = self.processes[p].describe_address(pc);
        let report = format!(
            "svcBreak(reason={reason:#x}, info={ptr:#x}+{size:#x}: {info}) at {at} by {}\n{}",
            self.thread_name(t),
            self.processes[p].cpu.dump()
        );
        self.fault_process(p, report);
        SvcFlow::Ended
    }

    fn svc_output_debug_string(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let (ptr, len) = (self.arg(t, 0), self.arg(t, 1));
        if len == 0 {
            return self.ok(t, &[]);
        }
        let Some(bytes) = self.read_guest(p, ptr, len.min(0x10000), Perm::R) else {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // Each call is one log entry, as in Eden and Ryujinx: one trailing newline is
        // dropped (emulator-bench.md §5).
        let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
        for line in text.split('\n') {
            self.guest_line(p, line);
        }
        self.ok(t, &[])
    }

    /// A line of guest debug output.
    fn guest_line(&mut self, p: ProcessId, line: &str) {
        if let Some(label) = line.strip_prefix(crate::perf::MARK_PREFIX) {
            let mark = crate::perf::Mark::take(self, p, label);
            self.marks.push(mark);
        }
        let proc_ = &mut self.processes[p];
        if let Some(peak) = crate::observe::reported_heap_peak(line) {
            let c = &mut proc_.counters;
            c.heap_peak_reported = Some(c.heap_peak_reported.unwrap_or(0).max(peak));
        }
        if self.options.echo_output {
            println!("[{}] {line}", proc_.name);
        }
        proc_.output.push(line.to_string());
    }

    fn svc_get_info(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let id = self.arg(t, 1) as u32;
        let handle = self.arg(t, 2) as u32;
        let sub = self.arg(t, 3);
        let per_process = matches!(id, 0..=7 | 12..=18 | 20..=23);
        if per_process {
            let Some(KObjectRef::Process(target)) = self.resolve(p, t, handle) else {
                return self.fail(t, kernel::INVALID_HANDLE);
            };
            if sub != 0 {
                return self.fail(t, kernel::INVALID_COMBINATION);
            }
            let q = &self.processes[target];
            let used = q.space.mapped_bytes(&[
                MemoryState::Code,
                MemoryState::CodeData,
                MemoryState::Normal,
                MemoryState::Stack,
                MemoryState::ThreadLocal,
            ]);
            let value = match id {
                0 => q.core_mask,
                1 => q.priority_mask,
                2 => memory::ALIAS_REGION_BASE,
                3 => memory::ALIAS_REGION_SIZE,
                4 => memory::HEAP_REGION_BASE,
                5 => memory::HEAP_REGION_SIZE,
                6 | 21 => q.memory_limit,
                7 | 22 => used,
                12 => memory::ASLR_REGION_BASE,
                13 => memory::ASLR_REGION_SIZE,
                14 => memory::STACK_REGION_BASE,
                15 => memory::STACK_REGION_SIZE,
                16 | 17 => 0,
                18 => q.program_id,
                20 => 0,
                23 => u64::from(q.kind != super::process::LaunchKind::Sysmodule),
                _ => 0,
            };
            return self.ok(t, &[(1, value)]);
        }
        match id {
            // DebuggerAttached: handle must be 0.
            8 if handle == 0 => self.ok(t, &[(1, 0)]),
            // ResourceLimit: no resource-limit object; the null handle.
            9 if handle == 0 => self.ok(t, &[(1, 0)]),
            // IdleTickCount of a core (-1 = current).
            10 => self.ok(t, &[(1, self.idle_ns / 625 * 12)]),
            // RandomEntropy: deterministic in the bench.
            11 if handle == 0 && sub < 4 => self.ok(t, &[(1, 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(sub + 1))]),
            8 | 9 | 11 => self.fail(t, kernel::INVALID_HANDLE),
            _ => {
                let line = format!("GetInfo id {id} (handle {handle:#x}, sub {sub:#x}) unknown: 0xf001");
                self.trace_line(line);
                self.fail(t, INVALID_ENUM_VALUE)
            }
        }
    }

    fn read_port_name(&self, p: ProcessId, address: u64) -> Result<String, ResultCode> {
        let mut name = Vec::new();
        for i in 0..PORT_NAME_LENGTH_MAX as u64 {
            let b = self.read_guest(p, address.wrapping_add(i), 1, Perm::R).ok_or(kernel::INVALID_POINTER)?[0];
            if b == 0 {
                return Ok(String::from_utf8_lossy(&name).into_owned());
            }
            name.push(b);
        }
        Err(kernel::OUT_OF_RANGE)
    }

    /// A new session through `port`; the client end goes to `p`'s table. Checks in
    /// mesosphere's order (`svc/kern_svc_port.cpp` ConnectToPort, KClientPort::CreateSession,
    /// KPort::EnqueueSession): a free handle slot (OutOfHandles 0xd201), `p`'s session
    /// resource limit (LimitReached 0x10801), the port's session count (OutOfSessions
    /// 0xe01), then the server port still open (PortClosed 0x10601; the session made for
    /// it is closed again and nothing stays counted).
    pub fn connect_port(&mut self, p: ProcessId, port: usize) -> Result<u32, ResultCode> {
        if self.processes[p].handles.is_full() {
            return Err(kernel::OUT_OF_HANDLES);
        }
        if self.processes[p].sessions_in_use >= self.processes[p].session_limit {
            return Err(kernel::LIMIT_REACHED);
        }
        let kp = &self.ports[port];
        if kp.open_sessions >= kp.max_sessions {
            return Err(kernel::OUT_OF_SESSIONS);
        }
        let server_closed = kp.server_closed();
        let server = match kp.server {
            PortServer::Guest => SessionServer::Guest,
            PortServer::Hle(service) => crate::hle::open_session(self, service),
        };
        let s = self.sessions.len();
        let mut session = KSession::new(Some(port), server);
        session.owner = Some(p);
        // The creation references of both sides (KSession::Initialize); the client's
        // becomes the handle's below.
        session.client_refs = 1;
        session.in_accept_queue = true;
        self.sessions.push(session);
        self.processes[p].sessions_in_use += 1;
        self.ports[port].open_sessions += 1;
        if server_closed {
            // EnqueueSession refused: CreateSession's failure path closes both sides.
            self.sessions[s].in_accept_queue = false;
            self.close_ref(KObjectRef::ClientSession(s));
            self.close_ref(KObjectRef::ServerSession(s));
            return Err(kernel::PORT_CLOSED);
        }
        if self.ports[port].server == PortServer::Guest {
            self.ports[port].accept_queue.push_back(s);
        } else {
            self.sessions[s].in_accept_queue = false;
        }
        match self.processes[p].handles.add(KObjectRef::ClientSession(s)) {
            Ok(h) => Ok(h),
            Err(e) => {
                // Not reached: the free slot was checked first.
                self.close_ref(KObjectRef::ClientSession(s));
                Err(e)
            }
        }
    }

    fn svc_connect_to_named_port(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let name = match self.read_port_name(p, self.arg(t, 1)) {
            Ok(n) => n,
            Err(e) => return self.fail(t, e),
        };
        let Some(&port) = self.named_ports.get(&name) else {
            return self.fail(t, kernel::NOT_FOUND);
        };
        match self.connect_port(p, port) {
            Ok(h) => self.ok(t, &[(1, u64::from(h))]),
            Err(e) => self.fail(t, e),
        }
    }

    fn svc_connect_to_port(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let Some(KObjectRef::ClientPort(port)) = self.resolve(p, t, self.arg(t, 1) as u32) else {
            return self.fail(t, kernel::INVALID_HANDLE);
        };
        match self.connect_port(p, port) {
            Ok(h) => self.ok(t, &[(1, u64::from(h))]),
            Err(e) => self.fail(t, e),
        }
    }

    fn svc_send_sync_request(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let Some(KObjectRef::ClientSession(s)) = self.resolve(p, t, self.arg(t, 0) as u32) else {
            return self.fail(t, kernel::INVALID_HANDLE);
        };
        match self.send_sync_request(t, s) {
            Ok(()) if self.threads[t].is_runnable() => {
                // Answered at once (HLE sm): its outputs are pending writes.
                let writes = std::mem::take(&mut self.threads[t].pending_writes);
                self.out(t, &writes);
                SvcFlow::Continue
            }
            Ok(()) => SvcFlow::Block,
            Err(e) => self.fail(t, e),
        }
    }

    /// CreateSession (0x40): the server handle is added first, then the client's
    /// (`svc/kern_svc_session.cpp` CreateSession); the session counts against the
    /// caller's session limit (LimitReached 0x10801).
    fn svc_create_session(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        if self.processes[p].sessions_in_use >= self.processes[p].session_limit {
            return self.fail(t, kernel::LIMIT_REACHED);
        }
        let s = self.sessions.len();
        let mut session = KSession::new(None, SessionServer::Guest);
        session.owner = Some(p);
        self.sessions.push(session);
        self.processes[p].sessions_in_use += 1;
        let server = match self.add_handle(p, KObjectRef::ServerSession(s)) {
            Ok(h) => h,
            Err(e) => {
                // Both creation references go: the session is finalized at once.
                self.sessions[s].server_refs = 1;
                self.sessions[s].client_refs = 1;
                self.close_ref(KObjectRef::ServerSession(s));
                self.close_ref(KObjectRef::ClientSession(s));
                return self.fail(t, e);
            }
        };
        match self.add_handle(p, KObjectRef::ClientSession(s)) {
            Ok(client) => self.ok(t, &[(1, u64::from(server)), (2, u64::from(client))]),
            Err(e) => {
                let _ = self.close_handle(p, server);
                self.sessions[s].client_refs = 1;
                self.close_ref(KObjectRef::ClientSession(s));
                self.fail(t, e)
            }
        }
    }

    fn svc_accept_session(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let Some(KObjectRef::ServerPort(port)) = self.resolve(p, t, self.arg(t, 1) as u32) else {
            return self.fail(t, kernel::INVALID_HANDLE);
        };
        // The handle slot is reserved before a session is taken (`svc/kern_svc_session.cpp`
        // AcceptSession).
        if self.processes[p].handles.is_full() {
            return self.fail(t, kernel::OUT_OF_HANDLES);
        }
        let Some(s) = self.ports[port].accept_queue.pop_front() else {
            return self.fail(t, kernel::NOT_FOUND);
        };
        // The queue's reference becomes the handle's.
        self.sessions[s].in_accept_queue = false;
        match self.add_handle(p, KObjectRef::ServerSession(s)) {
            Ok(h) => self.ok(t, &[(1, u64::from(h))]),
            Err(e) => {
                self.sessions[s].in_accept_queue = true;
                self.ports[port].accept_queue.push_front(s);
                self.fail(t, e)
            }
        }
    }

    /// A port with handles for both sides in `p`'s table: the client's first, then the
    /// server's (`svc/kern_svc_port.cpp` CreatePort). Returns (server, client, port).
    fn new_port(&mut self, p: ProcessId, name: String, max: u32, light: bool) -> Result<(u32, u32, usize), ResultCode> {
        let port = self.ports.len();
        self.ports.push(KPort::new(name, max, light, PortServer::Guest));
        let client = self.add_handle(p, KObjectRef::ClientPort(port))?;
        match self.add_handle(p, KObjectRef::ServerPort(port)) {
            Ok(server) => Ok((server, client, port)),
            Err(e) => {
                let _ = self.close_handle(p, client);
                Err(e)
            }
        }
    }

    fn svc_create_port(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let max = self.arg(t, 2) as u32 as i32;
        let light = self.arg(t, 3) as u32 != 0;
        if max <= 0 {
            return self.fail(t, kernel::OUT_OF_RANGE);
        }
        match self.new_port(p, format!("port#{}", self.ports.len()), max as u32, light) {
            Ok((server, client, _)) => self.ok(t, &[(1, u64::from(server)), (2, u64::from(client))]),
            Err(e) => self.fail(t, e),
        }
    }

    fn svc_manage_named_port(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let name = match self.read_port_name(p, self.arg(t, 1)) {
            Ok(n) => n,
            Err(e) => return self.fail(t, e),
        };
        let max = self.arg(t, 2) as u32 as i32;
        if max < 0 {
            return self.fail(t, kernel::OUT_OF_RANGE);
        }
        if max == 0 {
            return match self.named_ports.remove(&name) {
                Some(_) => self.ok(t, &[(1, 0)]),
                None => self.fail(t, kernel::NOT_FOUND),
            };
        }
        if self.named_ports.contains_key(&name) {
            return self.fail(t, kernel::INVALID_STATE);
        }
        match self.new_port(p, name.clone(), max as u32, false) {
            Ok((server, client, port)) => {
                // The name holds the client side; the caller gets only the server side.
                let _ = self.processes[p].handles.remove(client);
                self.named_ports.insert(name, port);
                self.ok(t, &[(1, u64::from(server))])
            }
            Err(e) => self.fail(t, e),
        }
    }

    /// A failure that leaves the out index unwritten: W0 = the result, X1 =
    /// [`UNWRITTEN_INDEX_POISON`].
    fn fail_without_index(&mut self, t: ThreadId, r: ResultCode) -> SvcFlow {
        self.out(t, &[(0, rc(r)), (1, UNWRITTEN_INDEX_POISON)]);
        SvcFlow::Continue
    }

    /// WaitSynchronization (`receive = false`) or ReplyAndReceive (`receive = true`), in
    /// mesosphere's order (`svc/kern_svc_synchronization.cpp` WaitSynchronization,
    /// `svc/kern_svc_ipc.cpp` ReplyAndReceiveImpl): the handle count (OutOfRange 0xee01),
    /// the handle array (InvalidPointer 0xe601), every handle a synchronization object
    /// (InvalidHandle 0xe401), then for ReplyAndReceive the reply target (InvalidHandle
    /// 0xe401) and the reply (a failure returns at once with index −1), then the wait.
    /// None of the checks writes the out index, nor does TimedOut: the bench writes
    /// [`UNWRITTEN_INDEX_POISON`] there.
    fn svc_wait(&mut self, t: ThreadId, receive: bool) -> SvcFlow {
        let p = self.threads[t].process;
        let (handles_ptr, count, timeout) =
            (self.arg(t, 1), self.arg(t, 2) as u32 as u64, self.arg(t, if receive { 4 } else { 3 }) as i64);
        if count > HANDLE_COUNT_MAX {
            return self.fail_without_index(t, kernel::OUT_OF_RANGE);
        }
        let Some(raw) = self.read_guest(p, handles_ptr, count * 4, Perm::R) else {
            return self.fail_without_index(t, kernel::INVALID_POINTER);
        };
        let mut objects = Vec::with_capacity(count as usize);
        for c in raw.chunks_exact(4) {
            let h = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            // KHandleTable::GetMultipleObjects<KSynchronizationObject>: a pseudo-handle
            // (reserved bits set) or a client session (not a synchronization object)
            // is InvalidHandle. A client port is one (signalled while it has room).
            match self.processes[p].handles.get(h) {
                Some(KObjectRef::ClientSession(_) | KObjectRef::TransferMemory(_) | KObjectRef::SharedMemory(_))
                | None => {
                    return self.fail_without_index(t, kernel::INVALID_HANDLE);
                }
                Some(o) => objects.push(o),
            }
        }
        if receive {
            let target = self.arg(t, 3) as u32;
            if target != 0 {
                let Some(KObjectRef::ServerSession(s)) = self.processes[p].handles.get(target) else {
                    return self.fail_without_index(t, kernel::INVALID_HANDLE);
                };
                if let Err(e) = self.send_reply(t, s) {
                    // A failed reply returns at once with index -1 (ReplyAndReceiveImpl's
                    // ON_RESULT_FAILURE; horizon-ipc.md §4 step 1), 0 on Ryujinx (profile.rs).
                    self.out(t, &[(0, rc(e)), (1, self.options.kernel.failed_reply_index())]);
                    return SvcFlow::Continue;
                }
            }
        }
        let deadline = match timeout {
            0 => Some(0),
            d if d < 0 => None,
            d => Some(self.now_ns().saturating_add(d as u64)),
        };
        self.threads[t].state = ThreadState::Waiting(Wait::Objects { objects, deadline, receive });
        match self.poll_wait(t) {
            Some(writes) => {
                self.threads[t].state = ThreadState::Runnable;
                self.out(t, &writes);
                SvcFlow::Continue
            }
            None => SvcFlow::Block,
        }
    }

    /// Re-checks what a waiting thread waits for; `Some(outputs)` when it can go on
    /// (the caller makes it runnable).
    pub fn poll_wait(&mut self, t: ThreadId) -> Option<Vec<(usize, u64)>> {
        let ThreadState::Waiting(wait) = self.threads[t].state.clone() else { return None };
        let now = self.now_ns();
        match wait {
            Wait::Sleep { deadline } => (now >= deadline).then(|| vec![(0, 0)]),
            Wait::SyncRequest { .. } | Wait::SmDeferred { .. } | Wait::HleDeferred { .. } => None,
            Wait::Objects { objects, deadline, receive } => {
                // KSynchronizationObject::Wait takes the first signalled object; after a
                // request failed silently, ReplyAndReceive waits again from index 0.
                'scan: loop {
                    for (i, object) in objects.iter().enumerate() {
                        let index = i as u64;
                        match *object {
                            KObjectRef::ServerSession(s) if receive => match self.receive_request(t, s) {
                                ReceiveOutcome::Received => return Some(vec![(0, 0), (1, index)]),
                                ReceiveOutcome::Error(e) => return Some(vec![(0, rc(e)), (1, index)]),
                                ReceiveOutcome::FailedSilently => continue 'scan,
                                ReceiveOutcome::NotFound => {}
                            },
                            KObjectRef::ServerSession(s) => {
                                if self.sessions[s].server_signalled() {
                                    return Some(vec![(0, 0), (1, index)]);
                                }
                            }
                            KObjectRef::ServerPort(port) => {
                                if !self.ports[port].accept_queue.is_empty() {
                                    return Some(vec![(0, 0), (1, index)]);
                                }
                            }
                            KObjectRef::ClientPort(port) => {
                                // KClientPort::IsSignaled: fewer sessions than the maximum.
                                if self.ports[port].open_sessions < self.ports[port].max_sessions {
                                    return Some(vec![(0, 0), (1, index)]);
                                }
                            }
                            KObjectRef::Thread(x) => {
                                if matches!(self.threads[x].state, ThreadState::Exited) {
                                    return Some(vec![(0, 0), (1, index)]);
                                }
                            }
                            KObjectRef::Process(x) => {
                                if !self.processes[x].is_running() {
                                    return Some(vec![(0, 0), (1, index)]);
                                }
                            }
                            KObjectRef::ReadableEvent(e) => {
                                if self.events.get(e).is_some_and(|e| e.signalled) {
                                    return Some(vec![(0, 0), (1, index)]);
                                }
                            }
                            // Refused when the wait started (svc_wait).
                            KObjectRef::ClientSession(_)
                            | KObjectRef::TransferMemory(_)
                            | KObjectRef::SharedMemory(_) => {}
                        }
                    }
                    break 'scan;
                }
                match deadline {
                    Some(d) if now >= d => Some(vec![(0, rc(kernel::TIMED_OUT)), (1, UNWRITTEN_INDEX_POISON)]),
                    _ => None,
                }
            }
        }
    }
}

/// Page-rounds a size up.
pub fn page_round_up(size: u64) -> Option<u64> {
    size.checked_add(PAGE_SIZE - 1).map(|s| s & !(PAGE_SIZE - 1))
}
