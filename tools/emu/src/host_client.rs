//! A client process driven from the host: it talks to a guest service through the same
//! kernel path a guest `svcSendSyncRequest` takes ([`Kernel::send_sync_request`], then
//! the server's `svcReplyAndReceive` runs `receive_request`/`send_reply`, which copy
//! with the permission checks of `xcbuf_kmodel::message`), so a test can send any message,
//! well-formed or hostile, and see what the kernel and the server did with it.
//!
//! The host client is a [`KProcess`] with no code: its engine is only its memory (a
//! thread-local message buffer per host thread, a low and a high buffer region and a
//! read-only page), its threads never run. A request occupies one host thread (its TLS is
//! the message buffer) until the reply wakes it; several host threads let requests on
//! different sessions be pending at once.
//!
//! ```text
//! let mut bench = HostBench::start_sysmodule(Path::new("dist/.../exefs.nsp"), RunConfig::default())?;
//! let mut client = HostClient::new(&mut bench, "host")?;
//! let session = client.connect(&mut bench, "xcbuf")?;
//! let msg = ...;                                   // xcbuf_common::client::build_echo
//! let answer = client.send(&mut bench, session, &msg)?;
//! assert_eq!(answer.svc_result, ResultCode::SUCCESS);
//! client.close(&mut bench, session)?;
//! ```
//!
//! Between calls nothing runs: [`HostBench::settle`] runs the guests until no thread can
//! run (the sysmodule waiting in `svcReplyAndReceive`; a server that waits with a timeout
//! counts as settled at its wait, bench time is not jumped forward).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use xcbuf_common::result::{ResultCode, kernel};

use crate::cpu::{Cpu, PAGE_SIZE, Perm};
use crate::kernel::process::{KProcess, ProcessState};
use crate::kernel::thread::{InitialRegisters, ThreadState};
use crate::kernel::{KObjectRef, Kernel, KernelOptions, ProcessId, ThreadId};
use crate::loader::{self, ProcessSetup};
use crate::memory::{AddressSpace, MemoryState};
use crate::run::{self, RunConfig};
use crate::symbols::Symbols;

/// Message buffer size and words (horizon-ipc.md §1.1: the TLS message buffer is 0x100
/// bytes).
pub use xcbuf_common::hipc::{
    TLS_MESSAGE_BUFFER_SIZE as MESSAGE_BUFFER_SIZE, TLS_MESSAGE_BUFFER_WORDS as MESSAGE_WORDS,
};
/// A buffer region below 4 GiB (inside the ASLR region, memory.rs).
pub const LOW_BUFFERS: u64 = 0x1000_0000;
/// A buffer region above 4 GiB: X and C descriptors carry address bits 32-38
/// (horizon-ipc.md §2.1, §2.3).
pub const HIGH_BUFFERS: u64 = 0x40_0000_0000;
/// Size of each buffer region.
pub const BUFFER_REGION_SIZE: u64 = 0x4_0000;
/// A read-only page: a C descriptor there is not user-writable (horizon-ipc.md §3.3).
pub const READ_ONLY_PAGE: u64 = 0x2000_0000;
/// Host threads (concurrent requests) per host client.
pub const HOST_THREADS: usize = 32;
/// Instructions the server may run for one request before it counts as a hang.
pub const DEFAULT_REQUEST_BUDGET: u64 = 5_000_000;
/// Handle table of a host client (the kernel's default, handle_table.rs).
const HOST_HANDLE_TABLE: usize = crate::kernel::handle_table::DEFAULT_TABLE_SIZE;
/// Scheduling priority of host threads (never run; only for reports).
const HOST_PRIORITY: i32 = 44;

/// Why driving the guests for a request stopped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveError {
    /// A guest process faulted (its fault report).
    Fault(String),
    /// The request stayed unanswered: the budget ran out or every guest thread blocked
    /// with the request still pending (the blocked threads are listed).
    Hang(String),
    /// An HLE service stopped the run: a command the bench does not model (its report).
    HleStopped(String),
}

impl std::fmt::Display for DriveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriveError::Fault(r) => write!(f, "server fault: {r}"),
            DriveError::Hang(r) => write!(f, "hang: {r}"),
            DriveError::HleStopped(r) => write!(f, "stopped by the HLE: {r}"),
        }
    }
}

/// What a request gave: SendSyncRequest's result and the message buffer after it (the
/// reply when the result is success).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub svc_result: ResultCode,
    pub words: [u32; MESSAGE_WORDS],
}

/// A request queued by [`HostClient::begin`] and not yet answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub thread: ThreadId,
}

/// The kernel with one guest server process (the sysmodule) and host clients.
pub struct HostBench {
    pub kernel: Kernel,
    pub config: RunConfig,
    /// The guest server process.
    pub server: ProcessId,
    /// Processes owned by host clients (their threads never run).
    host_processes: Vec<ProcessId>,
    /// Results of finished host requests: thread -> SendSyncRequest's w0.
    done: BTreeMap<ThreadId, u32>,
    /// Instructions the guests may run for one request.
    pub request_budget: u64,
    started: Instant,
}

/// The server's resources as the bench sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerResources {
    /// Handles in the server's table.
    pub handles: usize,
    /// Bytes mapped as heap (SetHeapSize; 0 for a static heap in `.bss`).
    pub heap_mapped: u64,
    /// Bytes of all mappings of the server (image, `.bss`, stacks, TLS, heap).
    pub mapped: u64,
    /// Threads the server created (running or not).
    pub threads: usize,
    /// The last `@heap peak=` the runtime printed, if any.
    pub heap_peak_reported: Option<u64>,
    /// Bytes the server's allocator has allocated now, read from rt's heap statistics in
    /// its memory ([`crate::heap_stats`]); None without the sysmodule's ELF
    /// (`RunConfig::sysmodule_elf`).
    pub heap_used: Option<u64>,
    /// The most bytes the server's allocator had allocated at once, likewise.
    pub heap_peak: Option<u64>,
}

impl HostBench {
    /// Loads the sysmodule from `exefs.nsp` alone (no NRO) and runs it until it is
    /// idle, blocked in `svcReplyAndReceive`. Err when it does not load, faults while
    /// starting or registers neither `xcbuf` nor `xcbuf:i`. With
    /// `config.sysmodule_elf`, its symbols name fault sites and locate rt's heap
    /// statistics, which must then be readable (Err otherwise).
    pub fn start_sysmodule(exefs: &Path, config: RunConfig) -> Result<HostBench, String> {
        let bytes = std::fs::read(exefs).map_err(|e| format!("{}: {e}", exefs.display()))?;
        let mut setup = loader::sysmodule_from_exefs(&exefs.display().to_string(), &bytes)?;
        let elf = config.sysmodule_elf.clone();
        if let Some(path) = &elf {
            let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let symbols = Symbols::from_elf(&data).map_err(|e| format!("{}: {e}", path.display()))?;
            if symbols.object(crate::heap_stats::SYMBOL).is_none() {
                return Err(format!(
                    "{}: no {} symbol (not built with this rt?)",
                    path.display(),
                    crate::heap_stats::SYMBOL
                ));
            }
            setup.symbols = Some(symbols);
        }
        let bench = HostBench::start(setup, config, &xcbuf_common::xcbuf::SERVICES.map(|s| s.name))?;
        if let Some(path) = &elf {
            crate::heap_stats::read(&bench.kernel.processes[bench.server])
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(bench)
    }

    /// Starts `setup` as the server and runs it until idle; `services` must then be
    /// registered with sm.
    pub fn start(setup: ProcessSetup, config: RunConfig, services: &[&str]) -> Result<HostBench, String> {
        let mut k = Kernel::new(KernelOptions {
            trace_ipc: config.trace_ipc,
            echo_output: config.echo_output,
            kernel: config.kernel,
        });
        k.hle.shared.firmware = config.firmware;
        crate::hle::install(&mut k);
        let server = loader::spawn(&mut k, setup)?;
        let mut b = HostBench {
            kernel: k,
            config,
            server,
            host_processes: Vec::new(),
            done: BTreeMap::new(),
            request_budget: DEFAULT_REQUEST_BUDGET,
            started: Instant::now(),
        };
        b.settle()?;
        for name in services {
            if !b.kernel.services.contains_key(*name) {
                return Err(format!("the server did not register `{name}` with sm"));
            }
        }
        Ok(b)
    }

    /// Err with the fault report when the server process is no longer running.
    pub fn server_alive(&self) -> Result<(), DriveError> {
        match &self.kernel.processes[self.server].state {
            ProcessState::Running => Ok(()),
            ProcessState::Faulted { report } => Err(DriveError::Fault(report.clone())),
            ProcessState::Exited { result, how } => {
                Err(DriveError::Fault(format!("server exited ({how}) with {result:#x}")))
            }
        }
    }

    /// The server's handle count, mappings, threads and (with its ELF) heap use. The heap
    /// figures are None when they cannot be read; [`HostBench::start_sysmodule`] already
    /// checked that they can.
    pub fn server_resources(&self) -> ServerResources {
        let p = &self.kernel.processes[self.server];
        let heap = crate::heap_stats::read(p).ok().flatten();
        ServerResources {
            handles: p.handles.len(),
            heap_mapped: p.space.mapped_bytes(&[MemoryState::Normal]),
            mapped: p.space.regions().map(|r| r.size).sum(),
            threads: p.threads.len(),
            heap_peak_reported: p.counters.heap_peak_reported,
            heap_used: heap.map(|h| h.used),
            heap_peak: heap.map(|h| h.peak),
        }
    }

    /// Instructions the server has run so far.
    pub fn server_instructions(&self) -> u64 {
        self.kernel.processes[self.server].cpu.instructions()
    }

    fn is_host_thread(&self, t: ThreadId) -> bool {
        self.host_processes.contains(&self.kernel.threads[t].process)
    }

    /// Parks host threads a reply woke: records SendSyncRequest's result and leaves the
    /// thread not runnable, so no scheduler ever runs it.
    fn collect_host_wakeups(&mut self) {
        for &hp in &self.host_processes {
            for &t in &self.kernel.processes[hp].threads {
                let th = &mut self.kernel.threads[t];
                if th.is_runnable() {
                    let w0 = th.pending_writes.iter().rev().find(|(r, _)| *r == 0).map_or(0, |(_, v)| *v as u32);
                    th.pending_writes.clear();
                    th.state = ThreadState::Created;
                    self.done.insert(t, w0);
                }
            }
        }
    }

    /// Runs the guests until `stop` holds, every guest thread is blocked (with no deadline;
    /// with `jump_time` false, with or without one), or `budget` instructions ran. With
    /// `jump_time`, bench time jumps to the next deadline when no thread can run. Returns
    /// whether `stop` held.
    fn drive(&mut self, budget: u64, jump_time: bool, stop: &dyn Fn(&HostBench) -> bool) -> Result<bool, DriveError> {
        let start: u64 = self.guest_instructions();
        let mut last: Option<(i32, u64)> = None;
        loop {
            self.collect_host_wakeups();
            self.server_alive()?;
            if let Some(report) = &self.kernel.hle.stop {
                return Err(DriveError::HleStopped(report.clone()));
            }
            if stop(self) {
                return Ok(true);
            }
            if self.guest_instructions().saturating_sub(start) >= budget {
                return Ok(false);
            }
            let k = &mut self.kernel;
            for t in 0..k.threads.len() {
                if matches!(k.threads[t].state, ThreadState::Waiting(_))
                    && k.processes[k.threads[t].process].is_running()
                {
                    if let Some(writes) = k.poll_wait(t) {
                        k.threads[t].wake(&writes);
                    }
                }
            }
            self.collect_host_wakeups();
            if stop(self) {
                return Ok(true);
            }
            let k = &self.kernel;
            let Some((prio, creation, t)) = k.next_runnable(last, |i| self.is_host_thread(i)) else {
                let now = k.now_ns();
                match k.next_deadline() {
                    Some(d) if jump_time => {
                        self.kernel.idle_ns += d.saturating_sub(now).max(1);
                        continue;
                    }
                    _ => return Ok(false),
                }
            };
            last = Some((prio, creation));
            run::run_thread(&mut self.kernel, t, self.config.slice);
        }
    }

    fn guest_instructions(&self) -> u64 {
        self.kernel.processes.iter().map(|p| p.cpu.instructions()).sum()
    }

    /// Runs the guests until no thread can run (idle), without jumping bench time (as
    /// run.rs `settle` does, so a server polling with a timeout settles at its wait).
    /// Err when the server faults or the guests do not go idle within the request budget.
    pub fn settle(&mut self) -> Result<(), String> {
        let idle = self.drive(self.request_budget, false, &|_| false).map_err(|e| e.to_string())?;
        debug_assert!(!idle);
        if self.is_idle() {
            Ok(())
        } else {
            Err(format!("the guests did not go idle within {} instructions", self.request_budget))
        }
    }

    /// No guest thread can run: each is blocked (with or without a deadline), not
    /// started, or ended.
    pub fn is_idle(&self) -> bool {
        let k = &self.kernel;
        k.threads
            .iter()
            .enumerate()
            .all(|(i, th)| self.is_host_thread(i) || !k.processes[th.process].is_running() || !th.is_runnable())
    }

    /// Blocked guest threads, for hang reports.
    fn blocked(&self) -> String {
        let k = &self.kernel;
        let lines: Vec<String> = k
            .threads
            .iter()
            .enumerate()
            .filter(|(i, th)| !self.is_host_thread(*i) && k.processes[th.process].is_running())
            .map(|(i, th)| match &th.state {
                ThreadState::Waiting(w) => format!("{}: {}", k.thread_name(i), w.svc_name()),
                other => format!("{}: {other:?}", k.thread_name(i)),
            })
            .collect();
        lines.join("; ")
    }

    /// Wall time since the bench started.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// A host client process: its memory, handles and host threads.
pub struct HostClient {
    pub process: ProcessId,
    threads: Vec<ThreadId>,
    /// Host threads with no request pending.
    free: Vec<ThreadId>,
}

impl HostClient {
    /// Creates a host client process named `name` with [`HOST_THREADS`] message buffers,
    /// the buffer regions [`LOW_BUFFERS`] and [`HIGH_BUFFERS`] (RW) and
    /// [`READ_ONLY_PAGE`] (R).
    pub fn new(bench: &mut HostBench, name: &str) -> Result<HostClient, String> {
        let e = |e: crate::cpu::CpuError| format!("{name}: {e}");
        let mut cpu = Cpu::new().map_err(e)?;
        let mut space = AddressSpace::default();
        for base in [LOW_BUFFERS, HIGH_BUFFERS] {
            space.map(&mut cpu, base, BUFFER_REGION_SIZE, Perm::RW, MemoryState::Normal).map_err(e)?;
        }
        space.map(&mut cpu, READ_ONLY_PAGE, PAGE_SIZE, Perm::R, MemoryState::Normal).map_err(e)?;
        let k = &mut bench.kernel;
        let process = k.processes.len();
        k.processes.push(KProcess::codeless(
            name,
            0x50 + process as u64,
            0x0100_0000_0000_2000 + process as u64,
            cpu,
            space,
            HOST_HANDLE_TABLE,
        ));
        bench.host_processes.push(process);
        let mut threads = Vec::new();
        for _ in 0..HOST_THREADS {
            let initial = InitialRegisters { pc: 0, sp: 0, x0: 0, x1: 0, lr: 0 };
            let t = k.create_thread(process, initial, HOST_PRIORITY).map_err(|r| format!("{name}: thread: {r}"))?;
            threads.push(t);
        }
        let mut free = threads.clone();
        free.reverse();
        Ok(HostClient { process, threads, free })
    }

    /// Opens a session to the registered service `service` (ConnectToPort on the port
    /// sm holds for it, as GetServiceHandle does) and runs the server until it has
    /// accepted it. Returns the client session handle; OutOfSessions (0xe01) past the
    /// port's maximum; NotFound (0x7c01) for a name not registered.
    pub fn connect(&mut self, bench: &mut HostBench, service: &str) -> Result<u32, ResultCode> {
        let port = bench.kernel.services.get(service).map(|s| s.port).ok_or(kernel::NOT_FOUND)?;
        let handle = bench.kernel.connect_port(self.process, port)?;
        bench.settle().map_err(|_| kernel::SESSION_CLOSED)?;
        Ok(handle)
    }

    /// svcConnectToNamedPort(`name`) (e.g. `sm:`): a session to a named port, with
    /// the svc's results (NotFound 0xf201 for an unknown name).
    pub fn connect_named_port(&mut self, bench: &mut HostBench, name: &str) -> Result<u32, ResultCode> {
        let port = bench.kernel.named_ports.get(name).copied().ok_or(kernel::NOT_FOUND)?;
        bench.kernel.connect_port(self.process, port)
    }

    /// Closes a handle of the client (a session: the server sees 0xf601 on it) and
    /// runs the server until idle.
    pub fn close(&mut self, bench: &mut HostBench, handle: u32) -> Result<(), ResultCode> {
        bench.kernel.close_handle(self.process, handle)?;
        bench.settle().map_err(|_| kernel::SESSION_CLOSED)?;
        Ok(())
    }

    /// Closes a handle without running anything. A session with a request pending stays
    /// open until that request ends (the waiting thread holds it, mesosphere
    /// SendSyncRequestImpl): the request is still served, and the server sees the close
    /// after its reply. To reach the server's "client gone" path, also
    /// [`HostClient::terminate_request`].
    pub fn close_now(&mut self, bench: &mut HostBench, handle: u32) -> Result<(), ResultCode> {
        bench.kernel.close_handle(self.process, handle)
    }

    /// Terminates the host thread waiting on `pending`, as the kernel terminates the
    /// threads of an ending process (KThread::RequestTerminate): it is never answered
    /// and drops its reference to the session. If that was the session's last reference
    /// (its handle closed), the server sees the client gone: SessionClosed on receive
    /// for a queued request, SessionClosed with index -1 on the reply for a received
    /// one. The client gets a fresh host thread in its place.
    pub fn terminate_request(&mut self, bench: &mut HostBench, pending: Pending) -> Result<(), String> {
        bench.done.remove(&pending.thread);
        bench.kernel.terminate_thread(pending.thread);
        self.replace_thread(bench)
    }

    /// A new host thread for one that was terminated.
    fn replace_thread(&mut self, bench: &mut HostBench) -> Result<(), String> {
        let initial = InitialRegisters { pc: 0, sp: 0, x0: 0, x1: 0, lr: 0 };
        let t = bench
            .kernel
            .create_thread(self.process, initial, HOST_PRIORITY)
            .map_err(|r| format!("host thread: {r}"))?;
        self.threads.push(t);
        self.free.push(t);
        Ok(())
    }

    /// Handles in the client's table.
    pub fn handle_count(&self, bench: &HostBench) -> usize {
        bench.kernel.processes[self.process].handles.len()
    }

    /// Writes `bytes` at `address` of the client's memory.
    pub fn write(&self, bench: &mut HostBench, address: u64, bytes: &[u8]) -> Result<(), String> {
        bench.kernel.processes[self.process].cpu.write(address, bytes).map_err(|e| e.to_string())
    }

    /// Reads `len` bytes at `address` of the client's memory.
    pub fn read(&self, bench: &HostBench, address: u64, len: usize) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; len];
        bench.kernel.processes[self.process].cpu.read(address, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Queues `message` (at most 64 words; the rest of the buffer is zeroed) on session
    /// `handle` from a free host thread without running the server. `Err` is
    /// SendSyncRequest's immediate failure (InvalidHandle, SessionClosed), or
    /// OutOfResource (0xce01) when every host thread has a request pending.
    pub fn begin(&mut self, bench: &mut HostBench, handle: u32, message: &[u32]) -> Result<Pending, ResultCode> {
        if message.len() > MESSAGE_WORDS {
            return Err(kernel::OUT_OF_RESOURCE);
        }
        let Some(KObjectRef::ClientSession(s)) = bench.kernel.processes[self.process].handles.get(handle) else {
            return Err(kernel::INVALID_HANDLE);
        };
        let t = self.free.pop().ok_or(kernel::OUT_OF_RESOURCE)?;
        let mut bytes = [0u8; MESSAGE_BUFFER_SIZE];
        for (chunk, w) in bytes.chunks_exact_mut(4).zip(message) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        let tls = bench.kernel.threads[t].tls;
        if bench.kernel.processes[self.process].cpu.write(tls, &bytes).is_err() {
            self.free.push(t);
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        bench.done.remove(&t);
        match bench.kernel.send_sync_request(t, s) {
            Ok(()) => {
                bench.collect_host_wakeups();
                Ok(Pending { thread: t })
            }
            Err(e) => {
                self.free.push(t);
                Err(e)
            }
        }
    }

    /// Whether `pending` has been answered (by a reply or a closed session).
    pub fn is_answered(&self, bench: &HostBench, pending: Pending) -> bool {
        bench.done.contains_key(&pending.thread)
    }

    /// Runs the guests until `pending` is answered; its host thread is free again
    /// afterwards (also on a hang, where the request is abandoned: the caller should
    /// close the session).
    pub fn finish(&mut self, bench: &mut HostBench, pending: Pending) -> Result<Answer, DriveError> {
        let t = pending.thread;
        let answered = bench.drive(bench.request_budget, true, &|b| b.done.contains_key(&t));
        let answered = match answered {
            Ok(a) => a,
            Err(e) => {
                self.release(bench, t);
                return Err(e);
            }
        };
        if !answered {
            let report = format!("no answer after {} instructions; {}", bench.request_budget, bench.blocked());
            self.release(bench, t);
            return Err(DriveError::Hang(report));
        }
        let w0 = bench.done.remove(&t).unwrap_or(0);
        let mut bytes = [0u8; MESSAGE_BUFFER_SIZE];
        let tls = bench.kernel.threads[t].tls;
        let _ = bench.kernel.processes[self.process].cpu.read(tls, &mut bytes);
        let mut words = [0u32; MESSAGE_WORDS];
        for (w, c) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        self.free.push(t);
        Ok(Answer { svc_result: ResultCode::from_raw(w0), words })
    }

    /// Gives a host thread back after an abandoned request.
    fn release(&mut self, bench: &mut HostBench, t: ThreadId) {
        bench.done.remove(&t);
        if matches!(bench.kernel.threads[t].state, ThreadState::Created) {
            self.free.push(t);
            return;
        }
        // Still waiting: the request may sit in a session queue and holds its session
        // open. The thread is terminated (its session can then close) and replaced.
        bench.kernel.terminate_thread(t);
        let _ = self.replace_thread(bench);
    }

    /// SendSyncRequest of `message` on session `handle`, running the server until the
    /// request is answered. The answer's `svc_result` is what the svc returned (the
    /// kernel's error for a message it refused; SessionClosed when the server closed the
    /// session); `words` the message buffer after it.
    pub fn send(&mut self, bench: &mut HostBench, handle: u32, message: &[u32]) -> Result<Answer, DriveError> {
        match self.begin(bench, handle, message) {
            Ok(p) => self.finish(bench, p),
            Err(e) => Ok(Answer { svc_result: e, words: [0; MESSAGE_WORDS] }),
        }
    }

    /// Host threads of this client.
    pub fn threads(&self) -> &[ThreadId] {
        &self.threads
    }
}
