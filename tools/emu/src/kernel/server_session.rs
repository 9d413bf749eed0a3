//! KServerSession's request bookkeeping (mesosphere `kern_k_server_session.cpp`) around
//! the message copy of [`super::message`]: `send_sync_request` (client), `receive_request`
//! and `send_reply` (server), with the result routing of horizon-ipc.md §3.4 and §4.

use std::cell::RefCell;

use xcbuf_common::hipc::{MessageHeader, PointerDescriptor, ReceiveListEntry, SpecialHeader};
use xcbuf_common::result::{ResultCode, kernel};

use crate::cpu::Perm;

use super::handle_table::{CURRENT_PROCESS, CURRENT_THREAD};
use super::message::ryujinx;
use super::message::{self, HandleTranslator, MessageBuffer, MessageMemory, ServerOutcome, Side, UserAccess};
use super::profile::KernelProfile;
use super::session::{KSessionRequest, MessageLocation, SessionServer};
use super::thread::{ThreadState, Wait};
use super::{KObjectRef, Kernel, ProcessId, SessionId, ThreadId};

/// The two processes of one copy, as the message model sees them.
struct Transfer<'k> {
    k: &'k mut Kernel,
    client: ProcessId,
    server: ProcessId,
    client_thread: Option<ThreadId>,
    server_thread: ThreadId,
}

impl Transfer<'_> {
    fn process(&self, side: Side) -> ProcessId {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }
}

impl MessageMemory for Transfer<'_> {
    fn read(&mut self, side: Side, address: u64, out: &mut [u8]) -> Result<(), ResultCode> {
        let p = &self.k.processes[self.process(side)];
        if !p.space.check(address, out.len() as u64, Perm::NONE) {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        p.cpu.read(address, out).map_err(|_| kernel::INVALID_CURRENT_MEMORY)
    }

    fn write(&mut self, side: Side, address: u64, data: &[u8]) -> Result<(), ResultCode> {
        let pid = self.process(side);
        let p = &mut self.k.processes[pid];
        if !p.space.check(address, data.len() as u64, Perm::NONE) {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        p.cpu.write(address, data).map_err(|_| kernel::INVALID_CURRENT_MEMORY)
    }

    fn check_user_access(&mut self, side: Side, address: u64, size: u64, access: UserAccess) -> Result<(), ResultCode> {
        let need = match access {
            UserAccess::Read => Perm::R,
            UserAccess::ReadWrite => Perm::RW,
        };
        let p = &self.k.processes[self.process(side)];
        if p.space.check(address, size, need) { Ok(()) } else { Err(kernel::INVALID_CURRENT_MEMORY) }
    }
}

impl HandleTranslator for Transfer<'_> {
    fn process_id(&mut self, side: Side) -> u64 {
        self.k.processes[self.process(side)].pid
    }

    fn copy_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode> {
        let from_pid = self.process(from);
        let object = match handle {
            CURRENT_THREAD => match from {
                Side::Client => self.client_thread.map(KObjectRef::Thread),
                Side::Server => Some(KObjectRef::Thread(self.server_thread)),
            },
            CURRENT_PROCESS => Some(KObjectRef::Process(from_pid)),
            h => self.k.processes[from_pid].handles.get(h),
        }
        .ok_or(kernel::INVALID_HANDLE)?;
        self.k.add_handle(self.process(from.peer()), object)
    }

    fn move_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode> {
        let from_pid = self.process(from);
        let object = self.k.processes[from_pid].handles.remove(handle).ok_or(kernel::INVALID_HANDLE)?;
        let to = self.process(from.peer());
        match self.k.processes[to].handles.add(object) {
            Ok(h) => Ok(h),
            Err(e) => {
                // The reference the moved handle held goes away with it.
                self.k.close_ref(object);
                Err(e)
            }
        }
    }

    fn close_handle(&mut self, side: Side, handle: u32) {
        let _ = self.k.close_handle(self.process(side), handle);
    }
}

/// What the server's receive attempt on one session gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveOutcome {
    /// A request is now the session's current request.
    Received,
    /// Nothing to receive (the queue is empty or a request is being served): the
    /// session is not signalled.
    NotFound,
    /// The request failed without breaking the receive list: the server keeps waiting,
    /// and the wait starts again from the first handle (horizon-ipc.md §3.4; mesosphere
    /// ReplyAndReceiveImpl loops back into KSynchronizationObject::Wait, which scans from
    /// index 0).
    FailedSilently,
    /// Return this result with the session's index (0xf601, 0x20401).
    Error(ResultCode),
}

impl Kernel {
    fn tls_message(&self, t: ThreadId) -> MessageLocation {
        let th = &self.threads[t];
        MessageLocation {
            process: th.process,
            address: th.tls,
            size: xcbuf_common::hipc::TLS_MESSAGE_BUFFER_SIZE as u64,
        }
    }

    fn read_message_words(&self, loc: MessageLocation) -> Vec<u32> {
        let mut bytes = vec![0u8; loc.size as usize];
        let _ = self.processes[loc.process].cpu.read(loc.address, &mut bytes);
        bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    /// SendSyncRequest (0x21) by thread `t` on client session `s`. `Ok(())`: the thread
    /// is blocked until the reply (or already answered by the HLE `sm:`).
    ///
    /// The thread holds a reference to the client session until the request ends
    /// (mesosphere `svc/kern_svc_ipc.cpp` SendSyncRequestImpl): closing the session's last
    /// handle meanwhile does not close the client side; that happens when the request
    /// ends ([`Kernel::complete_request`]) or the thread is terminated.
    pub fn send_sync_request(&mut self, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
        let sess = &self.sessions[s];
        // KServerSession::OnRequest: refused once either side has closed.
        if sess.server_closed() {
            return Err(kernel::SESSION_CLOSED);
        }
        let message = self.tls_message(t);
        let process = self.threads[t].process;
        self.processes[process].counters.requests_sent += 1;
        if self.options.trace_ipc {
            let words = self.read_message_words(message);
            let line = format!("{} request on session #{s}: {}", self.thread_name(t), describe_message(&words));
            self.trace_line(line);
        }
        // Horizon: the requester holds the client session until its request ends
        // (SendSyncRequestImpl); Ryujinx takes no reference (profile.rs).
        if self.options.kernel.send_sync_request_holds_session() {
            self.sessions[s].client_refs += 1;
            self.threads[t].sync_session = Some(s);
        }
        let hle = match self.sessions[s].server {
            SessionServer::Hle(_) => Some(crate::hle::handle_request(self, t, s)),
            SessionServer::Guest => None,
        };
        if let Some(result) = hle {
            // Answered at once, or deferred (the reference stays until its answer); an sm
            // request may also have answered other deferred threads.
            self.release_ended_sync_requests();
            return result;
        }
        self.sessions[s].requests.push_back(KSessionRequest { client_thread: Some(t), message });
        self.threads[t].state = ThreadState::Waiting(Wait::SyncRequest { session: s });
        Ok(())
    }

    /// Drops the client-session reference of thread `t`'s SendSyncRequest (the svc
    /// returns); the client side closes if that was its last reference.
    fn release_sync_request(&mut self, t: ThreadId) {
        if let Some(s) = self.threads[t].sync_session.take() {
            self.close_ref(KObjectRef::ClientSession(s));
        }
    }

    /// [`Kernel::release_sync_request`] for every thread whose SendSyncRequest is no
    /// longer waiting (the HLE servers answer by waking the thread themselves).
    fn release_ended_sync_requests(&mut self) {
        for t in 0..self.threads.len() {
            let waiting = matches!(
                self.threads[t].state,
                ThreadState::Waiting(Wait::SyncRequest { .. } | Wait::SmDeferred { .. } | Wait::HleDeferred { .. })
            );
            if !waiting && self.threads[t].sync_session.is_some() {
                self.release_sync_request(t);
            }
        }
    }

    /// KServerSession::ReceiveRequest for server thread `t` on session `s`
    /// (horizon-ipc.md §3.1, §3.4).
    pub fn receive_request(&mut self, t: ThreadId, s: SessionId) -> ReceiveOutcome {
        // Checked before the queue: a closed client's requests are never received
        // (mesosphere's ReceiveRequest; the queue was already emptied on close).
        if self.sessions[s].client_closed() {
            return ReceiveOutcome::Error(kernel::SESSION_CLOSED);
        }
        let sess = &self.sessions[s];
        if sess.current.is_some() {
            return ReceiveOutcome::NotFound;
        }
        let Some(request) = self.sessions[s].requests.pop_front() else {
            return ReceiveOutcome::NotFound;
        };
        // A request without its thread is dropped (ReceiveRequest's null-thread check).
        if request.client_thread.is_none() {
            return ReceiveOutcome::Error(kernel::SESSION_CLOSED);
        }
        let server = self.threads[t].process;
        let dst = MessageBuffer::thread_local(self.threads[t].tls);
        let src = MessageBuffer::thread_local(request.message.address);
        let client_name = request.client_thread.map(|c| self.thread_name(c));
        let profile = self.options.kernel;
        let cell = RefCell::new(Transfer {
            k: self,
            client: request.message.process,
            server,
            client_thread: request.client_thread,
            server_thread: t,
        });
        // The copy of the modelled kernel (profile.rs): (client's result, what the server
        // sees, description) on failure.
        let result = match profile {
            KernelProfile::Horizon => message::receive_message(&mut MemView(&cell), &mut HandleView(&cell), dst, src)
                .map_err(|f| {
                    let server = match f.server_sees {
                        ServerOutcome::NotFound => ReceiveOutcome::FailedSilently,
                        ServerOutcome::ReceiveListBroken => ReceiveOutcome::Error(kernel::RECEIVE_LIST_BROKEN),
                    };
                    (f.client_result, server, f.to_string())
                }),
            KernelProfile::Ryujinx => ryujinx::receive_message(&mut MemView(&cell), &mut HandleView(&cell), dst, src)
                .map_err(|f| {
                    let server = match f.server {
                        ryujinx::ServerResult::KeepWaiting => ReceiveOutcome::FailedSilently,
                        ryujinx::ServerResult::Return(rc) => ReceiveOutcome::Error(rc),
                    };
                    (f.client_result, server, f.to_string())
                }),
        };
        drop(cell);
        match result {
            Ok(report) => {
                self.sessions[s].current = Some(request);
                let p = &mut self.processes[server].counters;
                p.requests_received += 1;
                p.ipc_bytes_copied += report.total_bytes();
                if self.options.trace_ipc {
                    let line = format!(
                        "{} received on session #{s} from {}: {} bytes ({} X)",
                        self.thread_name(t),
                        client_name.unwrap_or_else(|| "host".into()),
                        report.total_bytes(),
                        report.pointer_count
                    );
                    self.trace_line(line);
                }
                ReceiveOutcome::Received
            }
            Err((client_result, server, failure)) => {
                let server_sees = match server {
                    ReceiveOutcome::Error(rc) => rc,
                    _ => kernel::NOT_FOUND,
                };
                let line = format!(
                    "request on session #{s} failed: client gets {client_result}, server sees {server_sees}: {failure}"
                );
                self.trace_line(line);
                self.complete_request(request, client_result);
                server
            }
        }
    }

    /// Ends a request: the client's SendSyncRequest returns `result` and drops its
    /// session reference. A terminated client thread is not woken (the `EndWait` calls of
    /// `kern_k_server_session.cpp` skip threads whose termination was requested).
    pub(crate) fn complete_request(&mut self, request: KSessionRequest, result: ResultCode) {
        if let Some(c) = request.client_thread {
            if matches!(self.threads[c].state, ThreadState::Waiting(Wait::SyncRequest { .. })) {
                self.threads[c].wake(&[(0, u64::from(result.raw()))]);
                self.release_sync_request(c);
            }
        }
    }

    /// KServerSession::SendReply by server thread `t` on session `s` (horizon-ipc.md §4).
    /// The result is the server's; the client's goes to the client thread.
    pub fn send_reply(&mut self, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
        let Some(request) = self.sessions[s].current.take() else {
            return Err(kernel::INVALID_STATE);
        };
        // Ryujinx's Reply never looks at the client (KServerSession.cs Reply): a current
        // request is always copied; closing the client removed it (profile.rs).
        let profile = self.options.kernel;
        let server = self.threads[t].process;
        let src = MessageBuffer::thread_local(self.threads[t].tls);
        // The client is gone when the request lost its thread (the client side closed
        // while the thread was terminating) or the client side is closed. Then no copy:
        // CleanupServerHandles closes the reply's move handles, and both sides get
        // SessionClosed (if that cleanup fails, the server gets success and the client
        // the failure). A client thread that was terminated while its session stays open
        // is not "gone": the reply is copied into its buffer and the server gets success
        // (mesosphere KServerSession::SendReply).
        if profile == KernelProfile::Horizon && (request.client_thread.is_none() || self.sessions[s].client_closed()) {
            let cell = RefCell::new(Transfer {
                k: self,
                client: request.message.process,
                server,
                client_thread: request.client_thread,
                server_thread: t,
            });
            let cleanup = message::cleanup_reply_to_closed_client(&mut MemView(&cell), &mut HandleView(&cell), src);
            drop(cell);
            let (server_result, client_result) = match cleanup {
                Ok(()) => (Err(kernel::SESSION_CLOSED), kernel::SESSION_CLOSED),
                Err(e) => (Ok(()), e),
            };
            let line = format!("reply on session #{s}: the client is gone, client gets {client_result}");
            self.trace_line(line);
            self.complete_request(request, client_result);
            return server_result;
        }
        let dst = MessageBuffer::thread_local(request.message.address);
        if self.options.trace_ipc {
            let words = self.read_message_words(self.tls_message(t));
            let line = format!("{} reply on session #{s}: {}", self.thread_name(t), describe_message(&words));
            self.trace_line(line);
        }
        let cell = RefCell::new(Transfer {
            k: self,
            client: request.message.process,
            server,
            client_thread: request.client_thread,
            server_thread: t,
        });
        // (client's result, server's result, description) on failure; Horizon: the
        // server's reply succeeds whatever the client gets (horizon-ipc.md §4 step 4).
        let result = match profile {
            KernelProfile::Horizon => message::send_message(&mut MemView(&cell), &mut HandleView(&cell), src, dst)
                .map_err(|f| (f.client_result, ResultCode::SUCCESS, f.to_string())),
            KernelProfile::Ryujinx => ryujinx::send_message(&mut MemView(&cell), &mut HandleView(&cell), src, dst)
                .map_err(|f| (f.client_result, f.server_result, f.to_string())),
        };
        drop(cell);
        self.processes[server].counters.replies_sent += 1;
        match result {
            Ok(report) => {
                self.processes[server].counters.ipc_bytes_copied += report.total_bytes();
                self.complete_request(request, ResultCode::SUCCESS);
            }
            Err((client_result, server_result, failure)) => {
                let line = format!("reply on session #{s} failed: client gets {client_result}: {failure}");
                self.trace_line(line);
                self.complete_request(request, client_result);
                server_result.into_result()?;
            }
        }
        Ok(())
    }
}

/// The memory half of a [`Transfer`].
struct MemView<'a, 'k>(&'a RefCell<Transfer<'k>>);
/// The handle half of a [`Transfer`].
struct HandleView<'a, 'k>(&'a RefCell<Transfer<'k>>);

impl MessageMemory for MemView<'_, '_> {
    fn read(&mut self, side: Side, address: u64, out: &mut [u8]) -> Result<(), ResultCode> {
        self.0.borrow_mut().read(side, address, out)
    }
    fn write(&mut self, side: Side, address: u64, data: &[u8]) -> Result<(), ResultCode> {
        self.0.borrow_mut().write(side, address, data)
    }
    fn check_user_access(&mut self, side: Side, address: u64, size: u64, access: UserAccess) -> Result<(), ResultCode> {
        self.0.borrow_mut().check_user_access(side, address, size, access)
    }
}

impl HandleTranslator for HandleView<'_, '_> {
    fn process_id(&mut self, side: Side) -> u64 {
        self.0.borrow_mut().process_id(side)
    }
    fn copy_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode> {
        self.0.borrow_mut().copy_handle(from, handle)
    }
    fn move_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode> {
        self.0.borrow_mut().move_handle(from, handle)
    }
    fn close_handle(&mut self, side: Side, handle: u32) {
        self.0.borrow_mut().close_handle(side, handle)
    }
}

/// One-line decoding of a message: header, special header, X descriptors, C entries
/// (for `--trace-ipc`).
pub fn describe_message(words: &[u32]) -> String {
    if words.len() < 2 {
        return "(short message)".to_string();
    }
    let header = MessageHeader::decode([words[0], words[1]]);
    let mut out = format!("{header:?}");
    let mut idx = 2usize;
    if words[1] & (1 << 31) != 0 {
        if let Some(&w) = words.get(idx) {
            let special = SpecialHeader::decode(w);
            out.push_str(&format!(" {special:?}"));
            idx += 1 + special.data_words();
        }
    }
    let x_count = ((words[0] >> 16) & 0xf) as usize;
    for i in 0..x_count {
        if let (Some(&a), Some(&b)) = (words.get(idx), words.get(idx + 1)) {
            let d = PointerDescriptor::decode([a, b]);
            out.push_str(&format!(" X[{i}]{{index {}, address {:#x}, size {:#x}}}", d.index(), d.address(), d.size()));
        }
        idx += 2;
    }
    let abw = (((words[0] >> 20) & 0xf) + ((words[0] >> 24) & 0xf) + ((words[0] >> 28) & 0xf)) as usize;
    idx += 3 * abw;
    let raw = (words[1] & 0x3ff) as usize;
    let mode = (words[1] >> 10) & 0xf;
    let offset = ((words[1] >> 20) & 0x7ff) as usize;
    let list_idx = if offset != 0 { offset } else { idx + raw };
    let entries = match mode {
        0 | 1 => 0,
        2 => 1,
        n => (n - 2) as usize,
    };
    for i in 0..entries {
        let at = list_idx + 2 * i;
        if let (Some(&a), Some(&b)) = (words.get(at), words.get(at + 1)) {
            let e = ReceiveListEntry::decode([a, b]);
            out.push_str(&format!(" C[{i}]{{address {:#x}, size {:#x}}}", e.address(), e.size()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kernel::KernelOptions;

    use crate::kernel::process::ProcessState;
    use crate::kernel::session::{KSession, SessionServer};

    /// A codeless process with one thread (a TLS message buffer) and one RW page at
    /// 0x1000_0000.
    fn process_with_thread(k: &mut Kernel, name: &str) -> (ProcessId, ThreadId) {
        k.add_codeless_process(name, 0x1000_0000)
    }

    fn write_words(k: &mut Kernel, t: ThreadId, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let th = &k.threads[t];
        k.processes[th.process].cpu.write(th.tls, &bytes).expect("tls write");
    }

    fn first_word(k: &Kernel, t: ThreadId) -> u32 {
        let mut b = [0u8; 4];
        let th = &k.threads[t];
        k.processes[th.process].cpu.read(th.tls, &mut b).expect("tls read");
        u32::from_le_bytes(b)
    }

    /// A server and a client joined by one session; returns (server thread, client
    /// thread, client process, client handle, session).
    fn pair() -> (Kernel, ThreadId, ThreadId, ProcessId, u32, SessionId) {
        let mut k = Kernel::new(KernelOptions::default());
        let (server, st) = process_with_thread(&mut k, "server");
        let (client, ct) = process_with_thread(&mut k, "client");
        let s = k.sessions.len();
        k.sessions.push(KSession::new(None, SessionServer::Guest));
        k.add_handle(server, KObjectRef::ServerSession(s)).expect("server handle");
        let h = k.add_handle(client, KObjectRef::ClientSession(s)).expect("client handle");
        // The server's pre-receive header: no receive list (mode 0), raw 0.
        write_words(&mut k, st, &[0x1234_5678, 0]);
        // The client's request: type 4, raw 2 words, no descriptors.
        write_words(&mut k, ct, &[4, 2, 0xAAAA_0001, 0xAAAA_0002]);
        (k, st, ct, client, h, s)
    }

    fn svc_result(k: &Kernel, t: ThreadId) -> Option<u64> {
        k.threads[t].pending_writes.iter().rev().find(|(r, _)| *r == 0).map(|&(_, v)| v)
    }

    /// The server's reply with one move handle (a handle to the server's own thread):
    /// returns the moved handle.
    fn reply_moving_a_handle(k: &mut Kernel, st: ThreadId) -> u32 {
        let server = k.threads[st].process;
        let h = k.add_handle(server, KObjectRef::Thread(st)).expect("handle to move");
        // Type 0, special header (bit 31), raw 0; special: 1 move handle.
        write_words(k, st, &[0, 1 << 31, 1 << 5, h]);
        h
    }

    #[test]
    fn closing_the_last_handle_under_a_queued_request_does_not_close_the_client_side() {
        // mesosphere SendSyncRequestImpl: the blocked thread holds a reference to the
        // client session, so the close only takes effect when the request ends. The
        // request is received and answered normally; then the server sees the close.
        let (mut k, st, ct, client, h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        k.close_handle(client, h).expect("close");
        assert!(!k.sessions[s].client_closed(), "the in-flight request keeps the client side open");
        assert_eq!(k.sessions[s].requests.len(), 1, "the request stays queued");
        assert!(!k.threads[ct].is_runnable(), "the client is not woken by the close");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        assert_eq!(first_word(&k, st), 4);
        write_words(&mut k, st, &[4, 0]);
        assert_eq!(k.send_reply(st, s), Ok(()));
        assert_eq!(svc_result(&k, ct), Some(0), "the reply reaches the client");
        // The request ended: its reference was the last one.
        assert!(k.sessions[s].client_closed());
        assert!(k.sessions[s].server_signalled());
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Error(kernel::SESSION_CLOSED));
    }

    #[test]
    fn closing_the_last_handle_under_a_received_request_lets_the_reply_through() {
        let (mut k, st, ct, client, h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        k.close_handle(client, h).expect("close");
        assert!(!k.sessions[s].client_closed());
        write_words(&mut k, st, &[4, 0]);
        assert_eq!(k.send_reply(st, s), Ok(()));
        assert_eq!(svc_result(&k, ct), Some(0));
        assert!(k.sessions[s].client_closed());
    }

    #[test]
    fn a_terminated_client_process_releases_its_queued_request_without_waking_it() {
        // KProcess::Terminate: threads first (RequestTerminate; the SendSyncRequest
        // returns and drops its reference), then the handle table: the client side
        // closes and OnClientClosed takes the queued request off the queue with no
        // EndWait; the server's receive then gives SessionClosed.
        let (mut k, st, ct, client, _h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        k.terminate_process(client, ProcessState::Exited { result: 0, how: "test".into() });
        assert!(k.sessions[s].requests.is_empty(), "the queue is emptied");
        assert!(k.threads[ct].pending_writes.is_empty(), "the terminated thread is not woken");
        assert!(k.sessions[s].server_signalled());
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Error(kernel::SESSION_CLOSED));
        assert_eq!(first_word(&k, st), 0x1234_5678, "nothing was copied to the server");
    }

    #[test]
    fn a_reply_to_a_terminated_client_process_is_session_closed_and_closes_its_move_handles() {
        // OnClientClosed clears the terminating thread from the current request
        // (ClearThread); SendReply then takes the closed path: CleanupServerHandles
        // closes the reply's move handles in the server, and the server gets 0xf601.
        let (mut k, st, ct, client, _h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        k.terminate_process(client, ProcessState::Exited { result: 0, how: "test".into() });
        assert_eq!(k.sessions[s].current.map(|r| r.client_thread), Some(None));
        let server = k.threads[st].process;
        let moved = reply_moving_a_handle(&mut k, st);
        let before = k.processes[server].handles.len();
        assert_eq!(k.send_reply(st, s), Err(kernel::SESSION_CLOSED));
        assert_eq!(k.processes[server].handles.get(moved), None, "the move handle is closed");
        assert_eq!(k.processes[server].handles.len(), before - 1);
        assert!(k.threads[ct].pending_writes.is_empty());
    }

    #[test]
    fn a_reply_to_a_terminated_thread_whose_session_stays_open_is_copied_and_succeeds() {
        // The client side is still open (its process keeps the handle): SendReply is not
        // on the closed path, copies into the terminated thread's buffer and the server
        // gets success; the thread is not woken.
        let (mut k, st, ct, _client, _h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        k.terminate_thread(ct);
        assert!(!k.sessions[s].client_closed(), "the process still holds the handle");
        write_words(&mut k, st, &[7, 0]);
        assert_eq!(k.send_reply(st, s), Ok(()));
        assert_eq!(first_word(&k, ct), 7, "the reply was copied");
        assert!(k.threads[ct].pending_writes.is_empty());
    }

    #[test]
    fn a_queued_request_of_a_terminated_thread_whose_session_stays_open_is_received() {
        let (mut k, st, ct, _client, _h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        k.terminate_thread(ct);
        assert_eq!(k.sessions[s].requests.len(), 1);
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        assert_eq!(first_word(&k, st), 4);
    }

    #[test]
    fn a_reply_when_the_client_is_gone_but_the_message_does_not_fit_gives_the_server_success() {
        // SendReply's closed path: when CleanupServerHandles fails (the message is larger
        // than the buffer: InvalidCombination), the server's result is success.
        let (mut k, st, ct, client, _h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        k.terminate_process(client, ProcessState::Exited { result: 0, how: "test".into() });
        // Raw count 0x3ff words: far larger than the 0x100-byte buffer.
        write_words(&mut k, st, &[0, 0x3ff]);
        assert_eq!(k.send_reply(st, s), Ok(()));
    }
}
