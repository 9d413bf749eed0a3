//! Which kernel the bench models: `--kernel horizon|ryujinx` (`xcbuf-emu run`).
//!
//! [`KernelProfile::Horizon`] (the default) follows Atmosphère's mesosphere
//! (`kern_k_server_session.cpp`, `kern_svc_ipc.cpp`); Eden's guest-to-guest kernel path
//! is a port of the same code and follows it too (horizon-ipc.md §10 "yuzu/torzu").
//!
//! [`KernelProfile::Ryujinx`] follows Ryujinx's kernel (`src/Ryujinx.HLE/HOS/Kernel`),
//! which copies messages by the same rules on success but fails differently
//! (horizon-ipc.md §10 "Ryujinx's kernel"). Every difference lives in its own module and
//! is reached through one small hook where the Horizon code decides:
//!
//! | difference | Ryujinx source | where the bench models it |
//! |---|---|---|
//! | no header restore and no 0x20401 after a failed receive; the server is never told (NotFound loops inside the svc) | `KServerSession.cs` `Receive`; `Syscall.cs` `ReplyAndReceive` | [`super::message::ryujinx::receive_message`] |
//! | header checks of the client's message on receive: the server gets the error with its index, the client success | `KServerSession.cs` `Receive` | same |
//! | reply failures before the copy (client header checks, A/B/W): the client gets success, the server the error | `KServerSession.cs` `Reply` | [`super::message::ryujinx::send_message`] |
//! | X data: only the client's range is checked, for read, both ways; the server's range unchecked | `KPageTableBase.cs` `CopyDataFromOrToCurrentProcess` | same module, `RyujinxChecks` |
//! | the index of a failed reply is 0, not −1 | `Syscall.cs` `ReplyAndReceive` | [`KernelProfile::failed_reply_index`] (svc.rs) |
//! | a reply is copied whatever state the client thread is in | `KServerSession.cs` `Reply` | `Kernel::send_reply` (server_session.rs) |
//! | closing the client drops the queued and the current request without waking anyone | `KServerSession.cs` `CancelAllRequestsClientDisconnected`, `KSession.cs` `DisconnectClient` | `Kernel::cancel_all_requests_client_disconnected` (here) |
//! | SendSyncRequest holds no reference on the client session | `Syscall.cs` `SendSyncRequest`, `KClientSession.cs` `SendSyncRequest` | [`KernelProfile::send_sync_request_holds_session`] |
#![forbid(unsafe_code)]

use core::fmt;
use core::str::FromStr;

/// The kernel whose behaviour the bench reproduces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KernelProfile {
    /// Atmosphère's mesosphere (and Eden, whose kernel path ports it).
    #[default]
    Horizon,
    /// Ryujinx's kernel (`Ryujinx.HLE/HOS/Kernel`).
    Ryujinx,
}

impl KernelProfile {
    /// Every profile, in `--kernel` order.
    pub const ALL: [KernelProfile; 2] = [KernelProfile::Horizon, KernelProfile::Ryujinx];

    /// The `--kernel` name.
    pub const fn name(self) -> &'static str {
        match self {
            KernelProfile::Horizon => "horizon",
            KernelProfile::Ryujinx => "ryujinx",
        }
    }

    /// The out index svcReplyAndReceive writes when its reply fails: −1 on Horizon
    /// (mesosphere `kern_svc_ipc.cpp` ReplyAndReceiveImpl sets `*out_index = -1` before
    /// the reply, horizon-ipc.md §4 step 1), 0 on Ryujinx (`Syscall.cs` ReplyAndReceive
    /// starts with `handleIndex = 0` and returns the reply's failure before any wait).
    pub const fn failed_reply_index(self) -> u64 {
        match self {
            KernelProfile::Horizon => u32::MAX as u64,
            KernelProfile::Ryujinx => 0,
        }
    }

    /// Whether a thread blocked in svcSendSyncRequest holds a reference on the client
    /// session (so that another thread's CloseHandle does not close the client side while
    /// the request is in flight). Horizon: yes (mesosphere `kern_svc_ipc.cpp`
    /// SendSyncRequestImpl keeps the `KScopedAutoObject` of the session for the whole
    /// call). Ryujinx: no (`Syscall.cs` SendSyncRequest looks the session up with
    /// `GetObject` and takes no reference; `KClientSession.cs` SendSyncRequest neither),
    /// so closing the last handle disconnects the client at once.
    pub const fn send_sync_request_holds_session(self) -> bool {
        matches!(self, KernelProfile::Horizon)
    }
}

impl super::Kernel {
    /// Ryujinx's `KServerSession.CancelAllRequestsClientDisconnected`, called from
    /// `KSession.DisconnectClient` when the client session is destroyed: the request
    /// being served (`_activeRequest`) and every queued one are removed
    /// (`IterateWithRemovalOfAllRequests`), and only asynchronous requests are answered;
    /// a thread blocked in svcSendSyncRequest is **not woken** (it stays blocked), and the
    /// server's later reply to the dropped request finds no active request: InvalidState
    /// 0xfa01 (`KServerSession.cs` Reply). The server threads are woken to see
    /// PortRemoteClosed 0xf601 on the session, as on Horizon.
    pub(super) fn cancel_all_requests_client_disconnected(&mut self, s: super::SessionId) {
        let sess = &mut self.sessions[s];
        sess.requests.clear();
        sess.current = None;
    }
}

impl fmt::Display for KernelProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<KernelProfile, String> {
        KernelProfile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown kernel `{s}` (expected horizon or ryujinx)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kernel::server_session::ReceiveOutcome;
    use crate::kernel::session::{KSession, SessionServer};
    use crate::kernel::thread::{ThreadState, Wait};
    use crate::kernel::{KObjectRef, Kernel, KernelOptions, ProcessId, SessionId, ThreadId};

    use xcbuf_common::result::kernel;

    /// Where each test process keeps data (the handle list of ReplyAndReceive).
    const DATA: u64 = 0x1000_0000;

    fn process_with_thread(k: &mut Kernel, name: &str) -> (ProcessId, ThreadId) {
        k.add_codeless_process(name, DATA)
    }

    fn write_words(k: &mut Kernel, t: ThreadId, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let th = &k.threads[t];
        k.processes[th.process].cpu.write(th.tls, &bytes).expect("tls write");
    }

    fn read_words(k: &Kernel, t: ThreadId, n: usize) -> Vec<u32> {
        let mut b = vec![0u8; 4 * n];
        let th = &k.threads[t];
        k.processes[th.process].cpu.read(th.tls, &mut b).expect("tls read");
        b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    struct Pair {
        k: Kernel,
        server: ProcessId,
        st: ThreadId,
        ct: ThreadId,
        client: ProcessId,
        client_handle: u32,
        server_handle: u32,
        s: SessionId,
    }

    /// A server and a client joined by one session under `profile`; the client's request
    /// (type 4, two raw words) is in its TLS, the server's buffer holds a bare header.
    fn pair(profile: KernelProfile) -> Pair {
        let mut k = Kernel::new(KernelOptions { kernel: profile, ..KernelOptions::default() });
        let (server, st) = process_with_thread(&mut k, "server");
        let (client, ct) = process_with_thread(&mut k, "client");
        let s = k.sessions.len();
        k.sessions.push(KSession::new(None, SessionServer::Guest));
        let server_handle = k.add_handle(server, KObjectRef::ServerSession(s)).expect("server handle");
        let client_handle = k.add_handle(client, KObjectRef::ClientSession(s)).expect("client handle");
        write_words(&mut k, st, &[0x1234_5678, 0]);
        write_words(&mut k, ct, &[4, 2, 0xAAAA_0001, 0xAAAA_0002]);
        Pair { k, server, st, ct, client, client_handle, server_handle, s }
    }

    fn svc_result(k: &Kernel, t: ThreadId) -> Option<u64> {
        k.threads[t].pending_writes.iter().rev().find(|(r, _)| *r == 0).map(|&(_, v)| v)
    }

    fn blocked_in_send_sync_request(k: &Kernel, t: ThreadId) -> bool {
        matches!(k.threads[t].state, ThreadState::Waiting(Wait::SyncRequest { .. }))
            && k.threads[t].pending_writes.is_empty()
    }

    #[test]
    fn ryujinx_closing_the_client_drops_the_current_request_so_the_reply_gets_invalid_state_and_nobody_is_woken() {
        // KServerSession.cs CancelAllRequestsClientDisconnected (via KSession.cs
        // DisconnectClient) clears _activeRequest without waking a synchronous client;
        // Reply then finds no active request: InvalidState 0xfa01.
        let mut p = pair(KernelProfile::Ryujinx);
        p.k.send_sync_request(p.ct, p.s).expect("queued");
        assert_eq!(p.k.receive_request(p.st, p.s), ReceiveOutcome::Received);
        p.k.close_handle(p.client, p.client_handle).expect("close");
        assert!(p.k.sessions[p.s].current.is_none(), "the current request is dropped on close");
        assert!(blocked_in_send_sync_request(&p.k, p.ct), "the client is not woken");
        write_words(&mut p.k, p.st, &[4, 0]);
        assert_eq!(p.k.send_reply(p.st, p.s), Err(kernel::INVALID_STATE));
        assert!(blocked_in_send_sync_request(&p.k, p.ct), "still not woken");
        // Horizon: the requester holds the client session (SendSyncRequestImpl), so the
        // close takes effect only after the reply, which goes through.
        let mut h = pair(KernelProfile::Horizon);
        h.k.send_sync_request(h.ct, h.s).expect("queued");
        assert_eq!(h.k.receive_request(h.st, h.s), ReceiveOutcome::Received);
        h.k.close_handle(h.client, h.client_handle).expect("close");
        assert!(h.k.sessions[h.s].current.is_some(), "the current request stays");
        write_words(&mut h.k, h.st, &[4, 0]);
        assert_eq!(h.k.send_reply(h.st, h.s), Ok(()));
        assert_eq!(svc_result(&h.k, h.ct), Some(0));
    }

    #[test]
    fn ryujinx_queued_requests_of_a_closed_client_are_removed_without_waking_the_client() {
        // KServerSession.cs CancelAllRequestsClientDisconnected: only async requests are
        // answered; SendSyncRequest (Syscall.cs, KClientSession.cs) holds no reference,
        // so closing the handle disconnects at once and the requester stays blocked.
        let mut p = pair(KernelProfile::Ryujinx);
        assert!(!p.k.options.kernel.send_sync_request_holds_session());
        p.k.send_sync_request(p.ct, p.s).expect("queued");
        p.k.close_handle(p.client, p.client_handle).expect("close");
        assert!(p.k.sessions[p.s].requests.is_empty(), "the queue is emptied");
        assert!(blocked_in_send_sync_request(&p.k, p.ct), "the client is not woken");
        assert!(p.k.sessions[p.s].server_signalled(), "the server sees the close");
        assert_eq!(p.k.receive_request(p.st, p.s), ReceiveOutcome::Error(kernel::SESSION_CLOSED));
        // Horizon: the requester holds the session; the request stays queued and is received.
        let mut h = pair(KernelProfile::Horizon);
        h.k.send_sync_request(h.ct, h.s).expect("queued");
        h.k.close_handle(h.client, h.client_handle).expect("close");
        assert_eq!(h.k.sessions[h.s].requests.len(), 1, "still queued");
        assert!(blocked_in_send_sync_request(&h.k, h.ct));
        assert_eq!(h.k.receive_request(h.st, h.s), ReceiveOutcome::Received);
    }

    #[test]
    fn ryujinx_a_reply_is_copied_into_the_client_whatever_state_its_thread_is_in() {
        // KServerSession.cs Reply checks only that a request is active; it never looks at
        // the client session's state or the client thread: the reply is written into the
        // client's message buffer and the server gets success.
        let mut p = pair(KernelProfile::Ryujinx);
        p.k.send_sync_request(p.ct, p.s).expect("queued");
        assert_eq!(p.k.receive_request(p.st, p.s), ReceiveOutcome::Received);
        p.k.threads[p.ct].state = ThreadState::Exited;
        write_words(&mut p.k, p.st, &[0x15, 1, 0xBEEF_0001]);
        assert_eq!(p.k.send_reply(p.st, p.s), Ok(()));
        assert_eq!(read_words(&p.k, p.ct, 3), [0x15, 1, 0xBEEF_0001], "the reply reached the client's memory");
        // Horizon: once the client process is gone (its handle table closed the client
        // side), the reply is refused with SessionClosed and the client's memory untouched.
        let mut h = pair(KernelProfile::Horizon);
        h.k.send_sync_request(h.ct, h.s).expect("queued");
        assert_eq!(h.k.receive_request(h.st, h.s), ReceiveOutcome::Received);
        h.k.terminate_process(h.client, crate::kernel::process::ProcessState::Exited { result: 0, how: "test".into() });
        write_words(&mut h.k, h.st, &[0x15, 1, 0xBEEF_0001]);
        assert_eq!(h.k.send_reply(h.st, h.s), Err(kernel::SESSION_CLOSED));
        assert_eq!(read_words(&h.k, h.ct, 3), [4, 2, 0xAAAA_0001]);
    }

    /// svcReplyAndReceive(handles = [server session], reply_target = server session,
    /// timeout 0) by the server thread; returns (w0, w1).
    fn reply_and_receive(p: &mut Pair) -> (u64, u64) {
        let cpu = &mut p.k.processes[p.server].cpu;
        cpu.write(DATA, &p.server_handle.to_le_bytes()).expect("handle list");
        for (reg, v) in [(0, 0), (1, DATA), (2, 1), (3, u64::from(p.server_handle)), (4, 0)] {
            cpu.set_x(reg, v).expect("register");
        }
        let _ = p.k.handle_svc(p.st, 0x43);
        let cpu = &p.k.processes[p.server].cpu;
        (cpu.x(0), cpu.x(1))
    }

    #[test]
    fn ryujinx_a_failed_reply_returns_its_error_at_index_0() {
        // Syscall.cs ReplyAndReceive: handleIndex starts at 0 and a failed Reply returns
        // at once. Here the reply carries an A descriptor: KServerSession.cs Reply gives
        // the server InvalidCombination 0xe801 and the client success.
        let mut p = pair(KernelProfile::Ryujinx);
        p.k.send_sync_request(p.ct, p.s).expect("queued");
        assert_eq!(p.k.receive_request(p.st, p.s), ReceiveOutcome::Received);
        // Reply: type 0, one A descriptor (size 0), no raw data.
        write_words(&mut p.k, p.st, &[1 << 20, 0, 0, 0, 0]);
        assert_eq!(reply_and_receive(&mut p), (0xe801, 0));
        assert_eq!(svc_result(&p.k, p.ct), Some(0), "the client gets success");
        // With no request to reply to: InvalidState 0xfa01, still at index 0.
        assert_eq!(reply_and_receive(&mut p), (0xfa01, 0));
        // Horizon: the client gets the error, the server succeeds; without a request
        // the reply fails with index -1.
        let mut h = pair(KernelProfile::Horizon);
        h.k.send_sync_request(h.ct, h.s).expect("queued");
        assert_eq!(h.k.receive_request(h.st, h.s), ReceiveOutcome::Received);
        write_words(&mut h.k, h.st, &[1 << 20, 0, 0, 0, 0]);
        let (w0, _) = reply_and_receive(&mut h);
        assert_eq!(w0, u64::from(kernel::TIMED_OUT.raw()), "the reply succeeded; the wait timed out");
        assert_eq!(svc_result(&h.k, h.ct), Some(0xe801));
        assert_eq!(reply_and_receive(&mut h), (0xfa01, u64::from(u32::MAX)));
    }

    #[test]
    fn horizon_is_the_default_and_names_round_trip() {
        assert_eq!(KernelProfile::default(), KernelProfile::Horizon);
        for p in KernelProfile::ALL {
            assert_eq!(p.name().parse::<KernelProfile>(), Ok(p));
        }
        assert!("eden".parse::<KernelProfile>().is_err());
    }

    #[test]
    fn a_failed_reply_writes_index_minus_one_on_horizon_and_zero_on_ryujinx() {
        assert_eq!(KernelProfile::Horizon.failed_reply_index() as u32 as i32, -1);
        assert_eq!(KernelProfile::Ryujinx.failed_reply_index(), 0);
    }
}
