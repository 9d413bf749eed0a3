//! The kernel model's object rules at the svc level (sessions, ports, waits), on
//! code-less processes whose registers the test sets before each svc.
//! Each test names the rule it proves and cites the mesosphere function it follows.

use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_emu::kernel::handle_table::{CURRENT_PROCESS, CURRENT_THREAD};
use xcbuf_emu::kernel::process::ProcessState;
use xcbuf_emu::kernel::session::{KSession, SessionServer};
use xcbuf_emu::kernel::svc::{SvcFlow, UNWRITTEN_INDEX_POISON};
use xcbuf_emu::kernel::thread::InitialRegisters;
use xcbuf_emu::kernel::{KObjectRef, Kernel, KernelOptions, ProcessId, SessionId, ThreadId};

/// A RW page of every test process (handle lists, port names).
const DATA: u64 = 0x1000_0000;
/// Nothing is mapped here.
const UNMAPPED: u64 = 0x5000_0000;

const SVC_EXIT_PROCESS: u32 = 0x07;
const SVC_CLOSE_HANDLE: u32 = 0x16;
const SVC_WAIT_SYNCHRONIZATION: u32 = 0x18;
const SVC_SEND_SYNC_REQUEST: u32 = 0x21;
const SVC_CREATE_SESSION: u32 = 0x40;
const SVC_ACCEPT_SESSION: u32 = 0x41;
const SVC_REPLY_AND_RECEIVE: u32 = 0x43;
const SVC_CREATE_PORT: u32 = 0x70;
const SVC_CONNECT_TO_PORT: u32 = 0x72;

fn new_kernel() -> Kernel {
    Kernel::new(KernelOptions::default())
}

/// A code-less process with one thread and the [`DATA`] page.
fn process(k: &mut Kernel, name: &str) -> (ProcessId, ThreadId) {
    let (p, t) = k.add_codeless_process(name, DATA);
    k.threads[t].state = xcbuf_emu::kernel::thread::ThreadState::Runnable;
    (p, t)
}

fn thread(k: &mut Kernel, p: ProcessId) -> ThreadId {
    let initial = InitialRegisters { pc: 0, sp: 0, x0: 0, x1: 0, lr: 0 };
    let t = k.create_thread(p, initial, 44).expect("thread");
    k.threads[t].state = xcbuf_emu::kernel::thread::ThreadState::Runnable;
    t
}

fn svc(k: &mut Kernel, t: ThreadId, n: u32, regs: &[(usize, u64)]) -> SvcFlow {
    k.call_svc(t, n, regs).expect("register")
}

fn x(k: &Kernel, t: ThreadId, n: usize) -> u64 {
    k.register(t, n)
}

fn w0(k: &Kernel, t: ThreadId) -> ResultCode {
    ResultCode::from_raw(x(k, t, 0) as u32)
}

/// The result a blocked thread was woken with.
fn woken_result(k: &Kernel, t: ThreadId) -> Option<u32> {
    k.threads[t].pending_writes.iter().rev().find(|(r, _)| *r == 0).map(|&(_, v)| v as u32)
}

/// Writes `handles` at [`DATA`] of `t`'s process.
fn put_handles(k: &mut Kernel, t: ThreadId, handles: &[u32]) {
    let p = k.threads[t].process;
    let bytes: Vec<u8> = handles.iter().flat_map(|h| h.to_le_bytes()).collect();
    k.processes[p].cpu.write(DATA, &bytes).expect("write");
}

fn write_tls(k: &mut Kernel, t: ThreadId, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let (p, tls) = (k.threads[t].process, k.threads[t].tls);
    k.processes[p].cpu.write(tls, &bytes).expect("tls");
}

fn tls_word(k: &Kernel, t: ThreadId, i: u64) -> u32 {
    let (p, tls) = (k.threads[t].process, k.threads[t].tls);
    k.processes[p].cpu.read_u32(tls + 4 * i).expect("tls")
}

/// ReplyAndReceive over `handles` with `reply_target` and `timeout`.
fn reply_and_receive(k: &mut Kernel, t: ThreadId, handles: &[u32], reply_target: u32, timeout: i64) -> SvcFlow {
    put_handles(k, t, handles);
    svc(
        k,
        t,
        SVC_REPLY_AND_RECEIVE,
        &[(1, DATA), (2, handles.len() as u64), (3, u64::from(reply_target)), (4, timeout as u64)],
    )
}

fn wait_synchronization(k: &mut Kernel, t: ThreadId, handles: &[u32], timeout: i64) -> SvcFlow {
    put_handles(k, t, handles);
    svc(k, t, SVC_WAIT_SYNCHRONIZATION, &[(1, DATA), (2, handles.len() as u64), (3, timeout as u64)])
}

/// A session between `server` and `client` made directly (no port): (server handle,
/// client handle, session).
fn session(k: &mut Kernel, server: ProcessId, client: ProcessId) -> (u32, u32, SessionId) {
    let s = k.sessions.len();
    k.sessions.push(KSession::new(None, SessionServer::Guest));
    let sh = k.add_handle(server, KObjectRef::ServerSession(s)).expect("server handle");
    let ch = k.add_handle(client, KObjectRef::ClientSession(s)).expect("client handle");
    (sh, ch, s)
}

/// Client thread `ct` sends a plain request (type 4, 2 raw words) on `handle`.
fn send_request(k: &mut Kernel, ct: ThreadId, handle: u32) -> SvcFlow {
    write_tls(k, ct, &[4, 2, 0xAAAA_0001, 0xAAAA_0002]);
    svc(k, ct, SVC_SEND_SYNC_REQUEST, &[(0, u64::from(handle))])
}

/// svcCreatePort(max) in `t`'s process: (server port, client port).
fn create_port(k: &mut Kernel, t: ThreadId, max: u64) -> (u32, u32) {
    assert_eq!(svc(k, t, SVC_CREATE_PORT, &[(2, max), (3, 0), (4, 0)]), SvcFlow::Continue);
    assert_eq!(w0(k, t), ResultCode::SUCCESS);
    (x(k, t, 1) as u32, x(k, t, 2) as u32)
}

/// svcConnectToPort by `t` on its client port handle `port`: Ok(session handle).
fn connect(k: &mut Kernel, t: ThreadId, port: u32) -> Result<u32, ResultCode> {
    svc(k, t, SVC_CONNECT_TO_PORT, &[(1, u64::from(port))]);
    match w0(k, t) {
        ResultCode::SUCCESS => Ok(x(k, t, 1) as u32),
        e => Err(e),
    }
}

fn close(k: &mut Kernel, t: ThreadId, handle: u32) {
    svc(k, t, SVC_CLOSE_HANDLE, &[(0, u64::from(handle))]);
    assert_eq!(w0(k, t), ResultCode::SUCCESS, "close {handle:#x}");
}

// ---------------------------------------------------------------------------------------
// Item 5: svcReplyAndReceive's out index.

#[test]
fn reply_and_receive_argument_failures_leave_the_index_poisoned() {
    // mesosphere ReplyAndReceiveImpl: the count (0xee01), the handle array (0xe601) and
    // the wait handles (0xe401) are checked before anything else and write no index.
    let mut k = new_kernel();
    let (p, t) = process(&mut k, "server");
    let (_sh, ch, _s) = session(&mut k, p, p);
    svc(&mut k, t, SVC_REPLY_AND_RECEIVE, &[(1, DATA), (2, 0x41), (3, 0), (4, 0)]);
    assert_eq!((w0(&k, t).raw(), x(&k, t, 1)), (0xee01, UNWRITTEN_INDEX_POISON));
    svc(&mut k, t, SVC_REPLY_AND_RECEIVE, &[(1, UNMAPPED), (2, 1), (3, 0), (4, 0)]);
    assert_eq!((w0(&k, t).raw(), x(&k, t, 1)), (0xe601, UNWRITTEN_INDEX_POISON));
    reply_and_receive(&mut k, t, &[0xdead], 0, 0);
    assert_eq!((w0(&k, t).raw(), x(&k, t, 1)), (0xe401, UNWRITTEN_INDEX_POISON));
    reply_and_receive(&mut k, t, &[ch], 0, 0);
    assert_eq!((w0(&k, t).raw(), x(&k, t, 1)), (0xe401, UNWRITTEN_INDEX_POISON));
    // As W1 the poison is a positive index past any list.
    assert_eq!(UNWRITTEN_INDEX_POISON as u32, 0x7e7e_7e7e);
}

#[test]
fn an_invalid_reply_target_is_invalid_handle_with_the_index_poisoned_and_nothing_replied() {
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let (sh, ch, s) = session(&mut k, server, client);
    assert_eq!(send_request(&mut k, ct, ch), SvcFlow::Block);
    reply_and_receive(&mut k, st, &[sh], 0, -1);
    assert_eq!(w0(&k, st), ResultCode::SUCCESS);
    // The reply target is the client's handle value, not a server session of the server.
    reply_and_receive(&mut k, st, &[sh], 0xdead, -1);
    assert_eq!((w0(&k, st).raw(), x(&k, st, 1)), (0xe401, UNWRITTEN_INDEX_POISON));
    assert!(k.sessions[s].current.is_some(), "the request is still unanswered");
    assert_eq!(woken_result(&k, ct), None);
}

#[test]
fn timed_out_leaves_the_index_poisoned_for_both_waits() {
    // ReplyAndReceiveImpl throws TimedOut without writing the index; so does
    // WaitSynchronization (KSynchronizationObject::Wait).
    let mut k = new_kernel();
    let (p, t) = process(&mut k, "server");
    let (sh, _ch, _s) = session(&mut k, p, p);
    reply_and_receive(&mut k, t, &[sh], 0, 0);
    assert_eq!((w0(&k, t), x(&k, t, 1)), (kernel::TIMED_OUT, UNWRITTEN_INDEX_POISON));
    wait_synchronization(&mut k, t, &[sh], 0);
    assert_eq!((w0(&k, t), x(&k, t, 1)), (kernel::TIMED_OUT, UNWRITTEN_INDEX_POISON));
    // A wait that blocked and then timed out gets the poison with its wake-up.
    assert_eq!(reply_and_receive(&mut k, t, &[sh], 0, 1000), SvcFlow::Block);
    k.idle_ns += 2000;
    let writes = k.poll_wait(t).expect("deadline passed");
    assert!(writes.contains(&(1, UNWRITTEN_INDEX_POISON)), "{writes:x?}");
}

#[test]
fn a_failed_reply_writes_index_minus_one_and_receives_nothing() {
    // ReplyAndReceiveImpl's ON_RESULT_FAILURE around SendReply: index -1. A server
    // session with no current request: InvalidState 0xfa01.
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let (sh, ch, s) = session(&mut k, server, client);
    assert_eq!(send_request(&mut k, ct, ch), SvcFlow::Block);
    reply_and_receive(&mut k, st, &[sh], sh, -1);
    assert_eq!((w0(&k, st).raw(), x(&k, st, 1) as u32), (0xfa01, u32::MAX));
    assert_eq!(k.sessions[s].requests.len(), 1, "the queued request was not received");
}

#[test]
fn a_receive_writes_the_index_on_success_and_on_session_closed() {
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let (sh0, ch0, _) = session(&mut k, server, client);
    let (sh1, ch1, _) = session(&mut k, server, client);
    assert_eq!(send_request(&mut k, ct, ch1), SvcFlow::Block);
    reply_and_receive(&mut k, st, &[sh0, sh1], 0, -1);
    assert_eq!((w0(&k, st), x(&k, st, 1)), (ResultCode::SUCCESS, 1));
    close(&mut k, ct, ch0);
    reply_and_receive(&mut k, st, &[sh0, sh1], 0, -1);
    assert_eq!((w0(&k, st), x(&k, st, 1)), (kernel::SESSION_CLOSED, 0));
}

// ---------------------------------------------------------------------------------------
// Item 6: wait lists, silent failures, handle order, session counts and the connect order.

#[test]
fn a_client_session_or_a_pseudo_handle_in_a_wait_list_is_invalid_handle() {
    // KHandleTable::GetMultipleObjects<KSynchronizationObject>: a KClientSession is not a
    // synchronization object and a pseudo-handle has reserved bits set (GetObjectImpl).
    let mut k = new_kernel();
    let (p, t) = process(&mut k, "p");
    let (_sh, ch, _s) = session(&mut k, p, p);
    for list in [[ch], [CURRENT_THREAD], [CURRENT_PROCESS]] {
        reply_and_receive(&mut k, t, &list, 0, 0);
        assert_eq!(w0(&k, t), kernel::INVALID_HANDLE, "ReplyAndReceive {list:x?}");
        wait_synchronization(&mut k, t, &list, 0);
        assert_eq!(w0(&k, t), kernel::INVALID_HANDLE, "WaitSynchronization {list:x?}");
        assert_eq!(x(&k, t, 1), UNWRITTEN_INDEX_POISON);
    }
}

#[test]
fn a_client_port_in_a_wait_list_is_signalled_while_it_has_room() {
    // KClientPort is a synchronization object: IsSignaled = sessions < maximum.
    let mut k = new_kernel();
    let (_p, t) = process(&mut k, "p");
    let (_server_port, client_port) = create_port(&mut k, t, 1);
    wait_synchronization(&mut k, t, &[client_port], 0);
    assert_eq!((w0(&k, t), x(&k, t, 1)), (ResultCode::SUCCESS, 0));
    connect(&mut k, t, client_port).expect("one session fits");
    wait_synchronization(&mut k, t, &[client_port], 0);
    assert_eq!(w0(&k, t), kernel::TIMED_OUT);
}

#[test]
fn after_a_silent_receive_failure_the_wait_restarts_from_the_first_handle() {
    // ReplyAndReceiveImpl: ReceiveRequest's NotFound (a request that failed without
    // breaking the receive list) goes back into KSynchronizationObject::Wait, which scans
    // from index 0. Session 0 has a bad request then a good one, session 1 a good one:
    // the server receives session 0's second request (index 0), not session 1's.
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, c0) = process(&mut k, "client");
    let c1 = thread(&mut k, client);
    let c2 = thread(&mut k, client);
    let (sh0, ch0, _) = session(&mut k, server, client);
    let (sh1, ch1, _) = session(&mut k, server, client);
    // A copy handle the client does not have: InvalidHandle to the client; the server
    // (no receive list) sees NotFound.
    write_tls(&mut k, c0, &[4, 1 << 31, 1 << 1, 0xdead]);
    assert_eq!(svc(&mut k, c0, SVC_SEND_SYNC_REQUEST, &[(0, u64::from(ch0))]), SvcFlow::Block);
    write_tls(&mut k, c1, &[4, 1, 0x1111_1111]);
    assert_eq!(svc(&mut k, c1, SVC_SEND_SYNC_REQUEST, &[(0, u64::from(ch0))]), SvcFlow::Block);
    write_tls(&mut k, c2, &[4, 1, 0x2222_2222]);
    assert_eq!(svc(&mut k, c2, SVC_SEND_SYNC_REQUEST, &[(0, u64::from(ch1))]), SvcFlow::Block);
    // The server's (empty) receive list sits at word 0x30, past anything written.
    write_tls(&mut k, st, &[0, 0x30 << 20]);
    reply_and_receive(&mut k, st, &[sh0, sh1], 0, -1);
    assert_eq!(woken_result(&k, c0), Some(0xe401), "the bad request failed");
    assert_eq!((w0(&k, st), x(&k, st, 1)), (ResultCode::SUCCESS, 0));
    assert_eq!(tls_word(&k, st, 2), 0x1111_1111, "session 0's second request");
}

#[test]
fn create_port_adds_the_client_handle_before_the_server_handle() {
    // svc/kern_svc_port.cpp CreatePort: client port first; CreateSession
    // (kern_svc_session.cpp): server session first. A handle's low 15 bits are its slot.
    let mut k = new_kernel();
    let (_p, t) = process(&mut k, "p");
    let (server_port, client_port) = create_port(&mut k, t, 4);
    assert!(client_port & 0x7fff < server_port & 0x7fff, "client {client_port:#x} server {server_port:#x}");
    svc(&mut k, t, SVC_CREATE_SESSION, &[(2, 0), (3, 0)]);
    assert_eq!(w0(&k, t), ResultCode::SUCCESS);
    let (server_session, client_session) = (x(&k, t, 1) as u32, x(&k, t, 2) as u32);
    assert!(server_session & 0x7fff < client_session & 0x7fff);
}

#[test]
fn a_session_never_accepted_counts_on_its_port_until_it_is_finalized() {
    // KClientPort::OnSessionFinalized runs from KSession::Finalize, once both sides are
    // destroyed. A session whose client closed while it waits in the accept queue still
    // counts; accepting it and closing the server side finalizes it.
    let mut k = new_kernel();
    let (_server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let (server_port, client_port) = create_port(&mut k, st, 1);
    let cp = k
        .add_handle(client, k.processes[k.threads[st].process].handles.get(client_port).expect("client port"))
        .expect("handle");
    let first = connect(&mut k, ct, cp).expect("room for one");
    close(&mut k, ct, first);
    assert_eq!(connect(&mut k, ct, cp), Err(kernel::OUT_OF_SESSIONS), "still counted");
    svc(&mut k, st, SVC_ACCEPT_SESSION, &[(1, u64::from(server_port))]);
    assert_eq!(w0(&k, st), ResultCode::SUCCESS);
    let accepted = x(&k, st, 1) as u32;
    // Its client is gone: the receive says so at once.
    reply_and_receive(&mut k, st, &[accepted], 0, 0);
    assert_eq!(w0(&k, st), kernel::SESSION_CLOSED);
    close(&mut k, st, accepted);
    assert!(connect(&mut k, ct, cp).is_ok(), "finalized: the slot is free again");
}

#[test]
fn an_accepted_session_counts_until_both_sides_are_closed() {
    let mut k = new_kernel();
    let (_server, st) = process(&mut k, "server");
    let (server_port, client_port) = create_port(&mut k, st, 1);
    let session = connect(&mut k, st, client_port).expect("room");
    svc(&mut k, st, SVC_ACCEPT_SESSION, &[(1, u64::from(server_port))]);
    let accepted = x(&k, st, 1) as u32;
    close(&mut k, st, accepted);
    assert_eq!(connect(&mut k, st, client_port), Err(kernel::OUT_OF_SESSIONS), "the client side is still open");
    close(&mut k, st, session);
    assert!(connect(&mut k, st, client_port).is_ok());
}

#[test]
fn connect_checks_the_session_limit_then_the_port_maximum_then_the_closed_port() {
    // KClientPort::CreateSession: the resource-limit reservation (LimitReached 0x10801),
    // then the port's count (OutOfSessions 0xe01), then KPort::EnqueueSession
    // (PortClosed 0x10601). A never-accepted session of a closed server port counts until
    // its client closes.
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let (server_port, client_port) = create_port(&mut k, st, 1);
    let cp = k.add_handle(client, k.processes[server].handles.get(client_port).expect("client port")).expect("handle");
    k.processes[client].session_limit = 1;
    let first = connect(&mut k, ct, cp).expect("first session");
    assert_eq!(connect(&mut k, ct, cp), Err(kernel::LIMIT_REACHED), "limit before the port's maximum");
    k.processes[client].session_limit = 8;
    assert_eq!(connect(&mut k, ct, cp), Err(kernel::OUT_OF_SESSIONS));
    close(&mut k, st, server_port);
    assert_eq!(connect(&mut k, ct, cp), Err(kernel::OUT_OF_SESSIONS), "the port's maximum before PortClosed");
    close(&mut k, ct, first);
    assert_eq!(connect(&mut k, ct, cp), Err(kernel::PORT_CLOSED));
    assert_eq!(k.processes[client].sessions_in_use, 0, "the refused session was finalized");
    assert_eq!(k.ports.last().map(|p| p.open_sessions), Some(0));
}

#[test]
fn create_session_counts_against_the_session_limit() {
    let mut k = new_kernel();
    let (p, t) = process(&mut k, "p");
    k.processes[p].session_limit = 1;
    svc(&mut k, t, SVC_CREATE_SESSION, &[(2, 0), (3, 0)]);
    assert_eq!(w0(&k, t), ResultCode::SUCCESS);
    let (server, client) = (x(&k, t, 1) as u32, x(&k, t, 2) as u32);
    svc(&mut k, t, SVC_CREATE_SESSION, &[(2, 0), (3, 0)]);
    assert_eq!(w0(&k, t), kernel::LIMIT_REACHED);
    close(&mut k, t, server);
    close(&mut k, t, client);
    svc(&mut k, t, SVC_CREATE_SESSION, &[(2, 0), (3, 0)]);
    assert_eq!(w0(&k, t), ResultCode::SUCCESS, "released when the session is finalized");
}

// ---------------------------------------------------------------------------------------
// Item 4: synchronous requests hold their client session; process exit.

#[test]
fn closing_a_session_under_a_blocked_request_from_another_thread_takes_effect_after_the_reply() {
    // SendSyncRequestImpl holds the KClientSession: the close by another thread does not
    // reach the server until the request is answered.
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let other = thread(&mut k, client);
    let (sh, ch, _) = session(&mut k, server, client);
    assert_eq!(send_request(&mut k, ct, ch), SvcFlow::Block);
    close(&mut k, other, ch);
    write_tls(&mut k, st, &[0, 0]);
    reply_and_receive(&mut k, st, &[sh], 0, -1);
    assert_eq!((w0(&k, st), x(&k, st, 1)), (ResultCode::SUCCESS, 0), "the request is received");
    write_tls(&mut k, st, &[0x55, 0]);
    reply_and_receive(&mut k, st, &[sh], sh, 0);
    assert_eq!(woken_result(&k, ct), Some(0), "the reply reaches the client");
    assert_eq!((w0(&k, st), x(&k, st, 1)), (kernel::SESSION_CLOSED, 0), "then the close is seen");
    assert_eq!(tls_word(&k, ct, 0), 0x55);
}

#[test]
fn a_client_process_exiting_with_a_received_request_gives_the_reply_session_closed_and_index_minus_one() {
    // svcExitProcess by another thread: KProcess terminates the threads (the blocked
    // SendSyncRequest drops its reference), then finalizes the handle table: the client
    // side closes, OnClientClosed clears the thread from the current request and
    // SendReply takes the "client gone" path: 0xf601 with index -1.
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let other = thread(&mut k, client);
    let (sh, ch, s) = session(&mut k, server, client);
    assert_eq!(send_request(&mut k, ct, ch), SvcFlow::Block);
    write_tls(&mut k, st, &[0, 0]);
    reply_and_receive(&mut k, st, &[sh], 0, -1);
    assert_eq!(w0(&k, st), ResultCode::SUCCESS);
    assert_eq!(svc(&mut k, other, SVC_EXIT_PROCESS, &[]), SvcFlow::Ended);
    assert!(matches!(k.processes[client].state, ProcessState::Exited { .. }));
    write_tls(&mut k, st, &[0x55, 0]);
    reply_and_receive(&mut k, st, &[sh], sh, 0);
    assert_eq!((w0(&k, st), x(&k, st, 1) as u32), (kernel::SESSION_CLOSED, u32::MAX));
    assert_eq!(woken_result(&k, ct), None, "the terminated thread is not woken");
    close(&mut k, st, sh);
    assert!(k.sessions[s].finalized());
}

#[test]
fn a_client_process_exiting_with_a_queued_request_gives_the_server_session_closed_on_receive() {
    let mut k = new_kernel();
    let (server, st) = process(&mut k, "server");
    let (client, ct) = process(&mut k, "client");
    let other = thread(&mut k, client);
    let (sh, ch, s) = session(&mut k, server, client);
    assert_eq!(send_request(&mut k, ct, ch), SvcFlow::Block);
    assert_eq!(svc(&mut k, other, SVC_EXIT_PROCESS, &[]), SvcFlow::Ended);
    assert!(k.sessions[s].requests.is_empty());
    write_tls(&mut k, st, &[0x1234, 0]);
    reply_and_receive(&mut k, st, &[sh], 0, 0);
    assert_eq!((w0(&k, st), x(&k, st, 1)), (kernel::SESSION_CLOSED, 0));
    assert_eq!(tls_word(&k, st, 0), 0x1234, "nothing was received");
    assert_eq!(woken_result(&k, ct), None);
}
