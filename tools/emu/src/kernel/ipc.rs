//! KServerSession's request bookkeeping around the message copy of [`super::message`]:
//! `send_sync_request` (client), `receive_request` and `send_reply` (server), with the
//! result routing of horizon-ipc.md §3.4 and §4.

use std::cell::RefCell;

use xcbuf_common::hipc::{MessageHeader, PointerDescriptor, ReceiveListEntry, SpecialHeader};
use xcbuf_common::result::{ResultCode, kernel};

use crate::cpu::Perm;

use super::handle_table::{CURRENT_PROCESS, CURRENT_THREAD};
use super::message::ryujinx;
use super::message::{
    self, HandleTranslator, MessageBuffer, MessageMemory, ServerOutcome, Side, UserAccess,
};
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

    fn check_user_access(
        &mut self,
        side: Side,
        address: u64,
        size: u64,
        access: UserAccess,
    ) -> Result<(), ResultCode> {
        let need = match access {
            UserAccess::Read => Perm::R,
            UserAccess::ReadWrite => Perm::RW,
        };
        let p = &self.k.processes[self.process(side)];
        if p.space.check(address, size, need) {
            Ok(())
        } else {
            Err(kernel::INVALID_CURRENT_MEMORY)
        }
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
    /// Nothing to receive (or the request failed without breaking the receive list):
    /// keep waiting (horizon-ipc.md §3.4).
    NotFound,
    /// Return this result with the session's index (0xf601, 0x20401).
    Error(ResultCode),
}

impl Kernel {
    fn tls_message(&self, t: ThreadId) -> MessageLocation {
        let th = &self.threads[t];
        MessageLocation { process: th.process, address: th.tls, size: 0x100 }
    }

    fn read_message_words(&self, loc: MessageLocation) -> Vec<u32> {
        let mut bytes = vec![0u8; loc.size as usize];
        let _ = self.processes[loc.process].cpu.read(loc.address, &mut bytes);
        bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    /// SendSyncRequest (0x21) by thread `t` on client session `s`. `Ok(())`: the thread
    /// is blocked until the reply (or already answered by the HLE `sm:`).
    pub fn send_sync_request(&mut self, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
        let sess = &self.sessions[s];
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
        if let SessionServer::HleSm { .. } = self.sessions[s].server {
            return crate::sm::handle_request(self, t, s);
        }
        if let SessionServer::HleFsp(_) = self.sessions[s].server {
            return crate::fsp::handle_request(self, t, s);
        }
        self.sessions[s].requests.push_back(KSessionRequest { client_thread: Some(t), message });
        self.threads[t].state = ThreadState::Waiting(Wait::SyncRequest { session: s });
        Ok(())
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
                        ServerOutcome::NotFound => ReceiveOutcome::NotFound,
                        ServerOutcome::ReceiveListBroken => ReceiveOutcome::Error(kernel::RECEIVE_LIST_BROKEN),
                    };
                    (f.client_result, server, f.to_string())
                }),
            KernelProfile::Ryujinx => ryujinx::receive_message(&mut MemView(&cell), &mut HandleView(&cell), dst, src)
                .map_err(|f| {
                    let server = match f.server {
                        ryujinx::ServerResult::KeepWaiting => ReceiveOutcome::NotFound,
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
                let line =
                    format!("request on session #{s} failed: client gets {client_result}, server sees {server_sees}: {failure}");
                self.trace_line(line);
                self.complete_request(request, client_result);
                server
            }
        }
    }

    /// Ends a request: the client's SendSyncRequest returns `result`.
    fn complete_request(&mut self, request: KSessionRequest, result: ResultCode) {
        if let Some(c) = request.client_thread {
            if matches!(self.threads[c].state, ThreadState::Waiting(Wait::SyncRequest { .. })) {
                self.threads[c].wake(&[(0, u64::from(result.raw()))]);
            }
        }
    }

    /// KServerSession::SendReply by server thread `t` on session `s` (horizon-ipc.md §4).
    /// The result is the server's; the client's goes to the client thread.
    pub fn send_reply(&mut self, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
        let Some(request) = self.sessions[s].current.take() else {
            return Err(kernel::INVALID_STATE);
        };
        let client_alive = request
            .client_thread
            .is_some_and(|c| matches!(self.threads[c].state, ThreadState::Waiting(Wait::SyncRequest { .. })));
        // Ryujinx's Reply never looks at the client (KServerSession.cs Reply): a current
        // request is always copied; closing the client removed it (profile.rs).
        let profile = self.options.kernel;
        let checks_client = profile == KernelProfile::Horizon;
        if checks_client && (!client_alive || self.sessions[s].client_closed()) {
            self.complete_request(request, kernel::SESSION_CLOSED);
            return Err(kernel::SESSION_CLOSED);
        }
        let server = self.threads[t].process;
        let src = MessageBuffer::thread_local(self.threads[t].tls);
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
            out.push_str(&format!(
                " X[{i}]{{index {}, address {:#x}, size {:#x}}}",
                d.index(),
                d.address(),
                d.size()
            ));
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
    use crate::cpu::{Cpu, PAGE_SIZE};
    use crate::kernel::handle_table::DEFAULT_TABLE_SIZE;
    use crate::kernel::process::KProcess;
    use crate::kernel::session::{KSession, SessionServer};
    use crate::kernel::thread::InitialRegisters;
    use crate::kernel::KernelOptions;
    use crate::memory::{AddressSpace, MemoryState};

    /// A codeless process with one thread (a TLS message buffer) and one RW page at
    /// 0x1000_0000.
    fn process_with_thread(k: &mut Kernel, name: &str) -> (ProcessId, ThreadId) {
        let mut cpu = Cpu::new().expect("unicorn engine");
        let mut space = AddressSpace::default();
        space.map(&mut cpu, 0x1000_0000, PAGE_SIZE, Perm::RW, MemoryState::Normal).expect("map");
        let p = k.processes.len();
        k.processes.push(KProcess::codeless(name, 0x80 + p as u64, 0x0100_0000_0000_3000 + p as u64, cpu, space, DEFAULT_TABLE_SIZE));
        let initial = InitialRegisters { pc: 0, sp: 0, x0: 0, x1: 0, lr: 0 };
        let t = k.create_thread(p, initial, 44).expect("thread");
        (p, t)
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

    #[test]
    fn a_request_queued_when_the_client_closes_ends_with_session_closed_and_is_never_received() {
        // horizon-ipc.md §3.1: ReceiveRequest returns SessionClosed once the client side
        // is closed; the queued request is taken off the queue (OnClientClosed) and its
        // SendSyncRequest ends with SessionClosed 0xf601.
        let (mut k, st, ct, client, h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        assert_eq!(k.sessions[s].requests.len(), 1);
        k.close_handle(client, h).expect("close");
        assert!(k.sessions[s].requests.is_empty(), "the queue is emptied on close");
        assert!(k.threads[ct].is_runnable(), "the client thread is woken");
        assert_eq!(svc_result(&k, ct), Some(0xf601));
        assert!(k.sessions[s].server_signalled(), "the server sees the close");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Error(kernel::SESSION_CLOSED));
        // Nothing was copied into the server's message buffer.
        assert_eq!(first_word(&k, st), 0x1234_5678);
        assert!(k.sessions[s].current.is_none());
    }

    #[test]
    fn a_received_request_whose_client_closes_ends_with_session_closed_at_the_reply() {
        // horizon-ipc.md §4 item 2: the current request stays until the reply, which then
        // gives SessionClosed to the server and to the client.
        let (mut k, st, ct, client, h, s) = pair();
        k.send_sync_request(ct, s).expect("queued");
        assert_eq!(k.receive_request(st, s), ReceiveOutcome::Received);
        assert_eq!(first_word(&k, st), 4);
        k.close_handle(client, h).expect("close");
        assert!(!k.threads[ct].is_runnable(), "the current request waits for the reply");
        write_words(&mut k, st, &[4, 0]);
        assert_eq!(k.send_reply(st, s), Err(kernel::SESSION_CLOSED));
        assert_eq!(svc_result(&k, ct), Some(0xf601));
    }
}
