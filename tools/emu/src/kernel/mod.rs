//! The bench's model of the Horizon kernel: one file per kernel object, as in
//! mesosphere (`kern_k_*.cpp`): [`handle_table`], [`port`], [`session`],
//! [`server_session`] (a server session's requests: send, receive, reply), [`thread`],
//! [`process`]; the svc layer in [`svc`]. The message copy itself, [`message`] and
//! [`receive_list`] (horizon-ipc.md §3-§4), is plain Rust in the `xcbuf-kmodel` crate
//! (`tools/kmodel`); the bench implements its memory and handle traits over this kernel.
//!
//! Everything lives in one [`Kernel`] that owns every process (and so every unicorn
//! engine: they are `!Send`, emulator-bench.md B.5 test 6, so the whole bench runs on
//! one host thread). Objects are kept in arenas and named by index.

pub mod event;
pub mod handle_table;
pub mod memory_objects;
pub mod port;
pub mod process;
pub mod profile;
pub mod server_session;
pub mod session;
pub mod svc;
pub mod thread;

pub use xcbuf_kmodel::{message, receive_list};

use std::collections::BTreeMap;

use xcbuf_common::result::{ResultCode, kernel};

use self::handle_table::{CURRENT_PROCESS, CURRENT_THREAD};
use self::port::KPort;
use self::process::{KProcess, ProcessState};
use self::session::{KSession, SessionServer, SessionState};
use self::thread::{KThread, ThreadState};

pub type ProcessId = usize;
pub type ThreadId = usize;
pub type PortId = usize;
pub type SessionId = usize;

/// What a handle refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KObjectRef {
    Process(ProcessId),
    Thread(ThreadId),
    ServerPort(PortId),
    ClientPort(PortId),
    ServerSession(SessionId),
    ClientSession(SessionId),
    /// A KTransferMemory (`Kernel::transfer_memories`).
    TransferMemory(usize),
    /// A KSharedMemory (`Kernel::shared_memories`).
    SharedMemory(usize),
    /// A readable event an HLE service owns ([`event`]).
    ReadableEvent(event::EventId),
}

/// A registered service of the HLE `sm:`.
#[derive(Debug, Clone)]
pub struct RegisteredService {
    pub port: PortId,
    pub owner: ProcessId,
}

/// Options that change what the kernel prints.
#[derive(Debug, Clone, Default)]
pub struct KernelOptions {
    /// Print every IPC message header and descriptor as decoded.
    pub trace_ipc: bool,
    /// Print guest debug output on stdout as it arrives.
    pub echo_output: bool,
    /// Which kernel's behaviour to model (`--kernel`; [`profile`]).
    pub kernel: profile::KernelProfile,
}

pub struct Kernel {
    pub processes: Vec<KProcess>,
    pub threads: Vec<KThread>,
    pub ports: Vec<KPort>,
    pub sessions: Vec<KSession>,
    /// Readable events of the HLE services ([`event`]).
    pub events: Vec<event::KReadableEvent>,
    pub named_ports: BTreeMap<String, PortId>,
    /// sm's registry: service name -> port.
    pub services: BTreeMap<String, RegisteredService>,
    /// Bench time in nanoseconds: 1 ns per guest instruction plus skipped idle time.
    pub idle_ns: u64,
    pub options: KernelOptions,
    /// Trace lines (also printed when tracing).
    pub trace: Vec<String>,
    /// Counter snapshots taken at `@perf ` debug lines (perf/markers.rs).
    pub marks: Vec<crate::perf::Mark>,
    /// The HLE services and their shared state (crate::hle).
    pub hle: crate::hle::Hle,
    /// Transfer memories by id (svcCreateTransferMemory; memory_objects.rs).
    pub transfer_memories: Vec<memory_objects::KTransferMemory>,
    /// Shared memories by id (created by HLE services; memory_objects.rs).
    pub shared_memories: Vec<memory_objects::KSharedMemory>,
    next_creation: u64,
}

/// Kernel result codes the common crate does not name (module 1, AMS-RES
/// `svc_results.hpp`).
pub mod extra_results {
    use xcbuf_common::result::ResultCode;
    /// 0xe001: priority outside the process's allowed range.
    pub const INVALID_PRIORITY: ResultCode = ResultCode::new(1, 112);
    /// 0xe201: core outside the process's core mask.
    pub const INVALID_CORE_ID: ResultCode = ResultCode::new(1, 113);
    /// 0xf001: unknown GetInfo id.
    pub const INVALID_ENUM_VALUE: ResultCode = ResultCode::new(1, 120);
    /// 0xf401: a thread or process not in the right state.
    pub const BUSY: ResultCode = ResultCode::new(1, 122);
}

impl Kernel {
    pub fn new(options: KernelOptions) -> Kernel {
        Kernel {
            processes: Vec::new(),
            threads: Vec::new(),
            ports: Vec::new(),
            sessions: Vec::new(),
            events: Vec::new(),
            named_ports: BTreeMap::new(),
            services: BTreeMap::new(),
            idle_ns: 0,
            options,
            trace: Vec::new(),
            marks: Vec::new(),
            hle: crate::hle::Hle::default(),
            transfer_memories: Vec::new(),
            shared_memories: Vec::new(),
            next_creation: 0,
        }
    }

    /// Bench time: instructions of every engine (1 ns each) plus idle jumps.
    pub fn now_ns(&self) -> u64 {
        self.processes.iter().map(|p| p.cpu.instructions()).sum::<u64>() + self.idle_ns
    }

    /// The earliest wait deadline of a thread of a running process, if any thread waits
    /// with a timeout.
    pub fn next_deadline(&self) -> Option<u64> {
        self.threads
            .iter()
            .filter(|th| self.processes[th.process].is_running())
            .filter_map(|th| match &th.state {
                ThreadState::Waiting(w) => w.deadline(),
                _ => None,
            })
            .min()
    }

    /// The scheduler's choice: among the runnable threads of running processes (minus those
    /// `skip` names), ordered by (priority, creation), the first after `last`, wrapping
    /// round; returns its (priority, creation, thread).
    pub fn next_runnable(
        &self,
        last: Option<(i32, u64)>,
        skip: impl Fn(ThreadId) -> bool,
    ) -> Option<(i32, u64, ThreadId)> {
        let mut runnable: Vec<(i32, u64, ThreadId)> = self
            .threads
            .iter()
            .enumerate()
            .filter(|(i, th)| th.is_runnable() && self.processes[th.process].is_running() && !skip(*i))
            .map(|(i, th)| (th.priority, th.creation, i))
            .collect();
        runnable.sort();
        runnable.iter().find(|(p, c, _)| last.is_none_or(|l| (*p, *c) > l)).or_else(|| runnable.first()).copied()
    }

    pub fn trace_line(&mut self, line: String) {
        if self.options.trace_ipc {
            println!("[trace] {line}");
        }
        self.trace.push(line);
    }

    /// A process with no code for tests that drive the kernel from the host: one RW page
    /// at `data_page`, the default handle table, and one thread (not started) whose TLS is
    /// its message buffer. Its pid is 0x80 + its index.
    pub fn add_codeless_process(&mut self, name: &str, data_page: u64) -> (ProcessId, ThreadId) {
        let mut cpu = crate::cpu::Cpu::new().expect("unicorn engine");
        let mut space = crate::memory::AddressSpace::default();
        space
            .map(&mut cpu, data_page, crate::cpu::PAGE_SIZE, crate::cpu::Perm::RW, crate::memory::MemoryState::Normal)
            .expect("map the data page");
        let p = self.processes.len();
        self.processes.push(KProcess::codeless(
            name,
            0x80 + p as u64,
            0x0100_0000_0000_3000 + p as u64,
            cpu,
            space,
            handle_table::DEFAULT_TABLE_SIZE,
        ));
        let initial = thread::InitialRegisters { pc: 0, sp: 0, x0: 0, x1: 0, lr: 0 };
        let t = self.create_thread(p, initial, 44).expect("thread");
        (p, t)
    }

    /// Adds a thread object (not started) to `process`.
    pub fn create_thread(
        &mut self,
        process: ProcessId,
        initial: thread::InitialRegisters,
        priority: i32,
    ) -> Result<ThreadId, ResultCode> {
        let tls = self.alloc_tls(process)?;
        let tid = self.threads.len();
        let index_in_process = self.processes[process].threads.len();
        self.threads.push(KThread {
            process,
            index_in_process,
            priority,
            tls,
            state: ThreadState::Created,
            context: None,
            initial,
            pending_writes: Vec::new(),
            sync_session: None,
            creation: self.next_creation,
            handle_in_own_process: 0,
            instructions: 0,
        });
        self.next_creation += 1;
        self.processes[process].threads.push(tid);
        Ok(tid)
    }

    /// A zeroed 0x200-byte thread-local region (horizon-ipc.md §1.1; runtime-abi.md §0).
    fn alloc_tls(&mut self, process: ProcessId) -> Result<u64, ResultCode> {
        const TLS_SIZE: u64 = 0x200;
        let p = &mut self.processes[process];
        if let Some(addr) = p.free_tls.pop() {
            p.cpu.write(addr, &[0u8; TLS_SIZE as usize]).map_err(|_| kernel::OUT_OF_MEMORY)?;
            return Ok(addr);
        }
        let addr = p.next_tls;
        if addr % crate::cpu::PAGE_SIZE == 0 {
            p.space
                .map(
                    &mut p.cpu,
                    addr,
                    crate::cpu::PAGE_SIZE,
                    crate::cpu::Perm::RW,
                    crate::memory::MemoryState::ThreadLocal,
                )
                .map_err(|_| kernel::OUT_OF_MEMORY)?;
        }
        p.next_tls = addr + TLS_SIZE;
        Ok(addr)
    }

    /// Adds a handle for `object` to `process`'s table, counting the reference.
    pub fn add_handle(&mut self, process: ProcessId, object: KObjectRef) -> Result<u32, ResultCode> {
        let handle = self.processes[process].handles.add(object)?;
        self.open_ref(object);
        Ok(handle)
    }

    pub(crate) fn open_ref(&mut self, object: KObjectRef) {
        match object {
            KObjectRef::TransferMemory(m) => self.transfer_memories[m].refs += 1,
            KObjectRef::SharedMemory(m) => self.shared_memories[m].refs += 1,
            KObjectRef::ServerPort(p) => self.ports[p].server_refs += 1,
            KObjectRef::ClientPort(p) => self.ports[p].client_refs += 1,
            KObjectRef::ServerSession(s) => self.sessions[s].server_refs += 1,
            KObjectRef::ClientSession(s) => self.sessions[s].client_refs += 1,
            KObjectRef::Process(_) | KObjectRef::Thread(_) | KObjectRef::ReadableEvent(_) => {}
        }
    }

    /// Resolves a handle of `process` as seen by thread `tid` (pseudo-handles included).
    pub fn resolve(&self, process: ProcessId, tid: ThreadId, handle: u32) -> Option<KObjectRef> {
        match handle {
            CURRENT_THREAD => Some(KObjectRef::Thread(tid)),
            CURRENT_PROCESS => Some(KObjectRef::Process(process)),
            _ => self.processes[process].handles.get(handle),
        }
    }

    /// CloseHandle: drops the reference and tells the peer when a side closes.
    pub fn close_handle(&mut self, process: ProcessId, handle: u32) -> Result<(), ResultCode> {
        let object = self.processes[process].handles.remove(handle).ok_or(kernel::INVALID_HANDLE)?;
        self.close_ref(object);
        Ok(())
    }

    /// Drops one reference to `object`; a side whose last reference goes is destroyed.
    pub(crate) fn close_ref(&mut self, object: KObjectRef) {
        match object {
            KObjectRef::TransferMemory(m) => {
                let tm = &mut self.transfer_memories[m];
                tm.refs = tm.refs.saturating_sub(1);
                if tm.refs == 0 {
                    self.destroy_transfer_memory(m);
                }
            }
            KObjectRef::SharedMemory(m) => {
                let sm = &mut self.shared_memories[m];
                sm.refs = sm.refs.saturating_sub(1);
            }
            KObjectRef::ServerPort(p) => {
                let port = &mut self.ports[p];
                port.server_refs = port.server_refs.saturating_sub(1);
                if port.server_refs == 0 {
                    // KServerPort::Destroy -> CleanupSessions: the queue's reference to each
                    // session never accepted goes, so its server side is destroyed (its
                    // client sees 0xf601). Each stays counted on the port until its client
                    // side goes too (KSession::Finalize).
                    let pending: Vec<SessionId> = port.accept_queue.drain(..).collect();
                    for s in pending {
                        self.sessions[s].in_accept_queue = false;
                        self.destroy_server_session(s);
                    }
                }
            }
            KObjectRef::ClientPort(p) => {
                self.ports[p].client_refs = self.ports[p].client_refs.saturating_sub(1);
            }
            KObjectRef::ServerSession(s) => {
                let sess = &mut self.sessions[s];
                sess.server_refs = sess.server_refs.saturating_sub(1);
                if sess.server_refs == 0 && !sess.in_accept_queue {
                    self.destroy_server_session(s);
                }
            }
            KObjectRef::ClientSession(s) => {
                let sess = &mut self.sessions[s];
                sess.client_refs = sess.client_refs.saturating_sub(1);
                if sess.client_refs == 0 {
                    self.destroy_client_session(s);
                }
            }
            KObjectRef::Process(_) | KObjectRef::Thread(_) | KObjectRef::ReadableEvent(_) => {}
        }
    }

    /// KServerSession::Destroy: KSession::OnServerClosed, then CleanupRequests: the
    /// current and every queued request end; a client thread not terminating gets
    /// SessionClosed (horizon-ipc.md §3.1 OnRequest, §6.1 Close).
    pub(crate) fn destroy_server_session(&mut self, s: SessionId) {
        if self.sessions[s].server_destroyed {
            return;
        }
        let sess = &mut self.sessions[s];
        sess.server_destroyed = true;
        if sess.state == SessionState::Normal {
            sess.state = SessionState::ServerClosed;
        }
        let mut ended: Vec<_> = sess.current.take().into_iter().collect();
        ended.extend(sess.requests.drain(..));
        for req in ended {
            self.complete_request(req, kernel::SESSION_CLOSED);
        }
        self.finalize_if_done(s);
    }

    /// KClientSession::Destroy (the last reference, a handle or a thread's in-flight
    /// request, went): KSession::OnClientClosed, which (if the server had not closed
    /// first) runs KServerSession::OnClientClosed:
    /// - the current request stays for the server's reply, which then takes the
    ///   "client gone" path (0xf601, horizon-ipc.md §4 item 2); if its thread is
    ///   terminating, the request forgets the thread (ClearThread);
    /// - every queued request is taken off the queue; a synchronous one is released with
    ///   no EndWait. Only a terminating thread's request can be queued here: a live
    ///   requester holds a reference, so the client side cannot be destroyed under it;
    /// - the server side is signalled with SessionClosed, so ReceiveRequest returns it.
    fn destroy_client_session(&mut self, s: SessionId) {
        if self.sessions[s].client_destroyed {
            return;
        }
        // An HLE session's objects go away with its client (sm: Atmosphère ~UserService).
        crate::hle::on_session_closed(self, s);
        if self.options.kernel == profile::KernelProfile::Ryujinx {
            // Ryujinx drops the queued and the current request and wakes none (profile.rs).
            self.cancel_all_requests_client_disconnected(s);
        }
        self.sessions[s].client_destroyed = true;
        if self.sessions[s].state == SessionState::Normal {
            self.sessions[s].state = SessionState::ClientClosed;
            let threads = &self.threads;
            if let Some(current) = self.sessions[s].current.as_mut()
                && current.client_thread.is_some_and(|t| matches!(threads[t].state, ThreadState::Exited))
            {
                current.client_thread = None;
            }
            self.sessions[s].requests.clear();
        }
        if !matches!(self.sessions[s].server, SessionServer::Guest) {
            // An HLE server drops the session with its client.
            self.sessions[s].server_destroyed = true;
        }
        self.finalize_if_done(s);
    }

    /// KSession::Finalize once both sides are destroyed: the port's session count drops
    /// (KClientPort::OnSessionFinalized) and the owner's session resource is released
    /// (KSession::PostDestroy).
    fn finalize_if_done(&mut self, s: SessionId) {
        if !self.sessions[s].finalized() {
            return;
        }
        if let Some(p) = self.sessions[s].port.take() {
            self.ports[p].open_sessions = self.ports[p].open_sessions.saturating_sub(1);
        }
        if let Some(owner) = self.sessions[s].owner.take() {
            let q = &mut self.processes[owner];
            q.sessions_in_use = q.sessions_in_use.saturating_sub(1);
        }
    }

    /// KThread::RequestTerminate for a thread of a process being terminated: the thread
    /// never runs again. A wait it was in is cancelled with TerminationRequested (0x7601)
    /// and the svc returns, so a SendSyncRequest drops its reference to the client
    /// session (SendSyncRequestImpl's scoped references); its request stays where it is
    /// (queued or current) and no reply wakes it (SendReply and CleanupRequests skip
    /// terminating threads, `kern_k_server_session.cpp`).
    pub fn terminate_thread(&mut self, t: ThreadId) {
        if matches!(self.threads[t].state, ThreadState::Exited) {
            return;
        }
        self.threads[t].state = ThreadState::Exited;
        if let Some(s) = self.threads[t].sync_session.take() {
            self.close_ref(KObjectRef::ClientSession(s));
        }
    }

    /// Ends a process as KProcess::Terminate does: every thread is terminated first
    /// (TerminateChildren), then the handle table is finalized (FinalizeHandleTable), so
    /// each session whose last client reference this process held closes now
    /// (`kern_k_process.cpp`).
    pub fn terminate_process(&mut self, process: ProcessId, state: ProcessState) {
        if !self.processes[process].is_running() {
            return;
        }
        self.processes[process].state = state;
        for t in self.processes[process].threads.clone() {
            self.terminate_thread(t);
        }
        for (handle, _) in self.processes[process].handles.entries() {
            let _ = self.close_handle(process, handle);
        }
    }

    /// Thread name for reports: "process/thread#i".
    pub fn thread_name(&self, t: ThreadId) -> String {
        let th = &self.threads[t];
        format!("{}/thread#{}", self.processes[th.process].name, th.index_in_process)
    }
}
