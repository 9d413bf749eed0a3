//! The serve loop's rules (`xcbuf_common::sf::serve_loop`), driven by a scripted fake
//! kernel: each test names the rule it proves.
use std::collections::VecDeque;

use xcbuf_common::client::{self, Buffer};
use xcbuf_common::cmif;
use xcbuf_common::hipc::{Message, ReceiveListMode};
use xcbuf_common::result::ResultCode;
use xcbuf_common::sf::ServiceIdentity;
use xcbuf_common::xcbuf::{INDEXED, MAX_SESSIONS, POINTER_BUFFER_SIZE, RECEIVE_LIST_OFFSET, SINGLE, Xcbuf};

use xcbuf_common::sf::Server;
use xcbuf_common::sf::serve_loop::*;
use xcbuf_common::text::{Line, Piece};

/// A pointer buffer for either service, 16-byte aligned like the kernel's packing.
#[repr(C, align(16))]
struct PointerBuffer([u8; 0x800]);

impl PointerBuffer {
    fn new() -> PointerBuffer {
        PointerBuffer([0; 0x800])
    }
}

const PORT: Handle = 0x100;
const PB_ADDR: u64 = 0x7_0000_1000;

/// What the fake kernel does on the next svcReplyAndReceive.
enum Event {
    /// Success with this index (0 = the port).
    Signal(usize),
    /// A request delivered into the message buffer, from the session at `index`.
    Request(usize, Vec<u32>),
    /// Failure with (result, index).
    Fail(u32, i32),
}

#[derive(Clone, Debug)]
struct Call {
    handles: Vec<Handle>,
    reply_target: Handle,
    message: [u32; 64],
}

struct FakeKernel {
    msg: [u32; 64],
    script: VecDeque<Event>,
    calls: Vec<Call>,
    next_session: Handle,
    closed: Vec<Handle>,
    log: Vec<String>,
}

impl FakeKernel {
    fn new(script: Vec<Event>) -> FakeKernel {
        FakeKernel {
            msg: [0; 64],
            script: script.into(),
            calls: Vec::new(),
            next_session: 0x200,
            closed: Vec::new(),
            log: Vec::new(),
        }
    }
}

impl ServerSyscalls for FakeKernel {
    fn message(&mut self) -> &mut [u32] {
        &mut self.msg
    }
    fn reply_and_receive(&mut self, handles: &[Handle], reply_target: Handle) -> Result<usize, WaitError> {
        self.calls.push(Call { handles: handles.to_vec(), reply_target, message: self.msg });
        match self.script.pop_front().expect("script ran out") {
            Event::Signal(i) => Ok(i),
            Event::Request(i, words) => {
                // The kernel writes the request up to its raw data; the rest (the server's
                // receive list) keeps what the server had there (horizon-ipc.md §3.2).
                self.msg[..words.len()].copy_from_slice(&words);
                Ok(i)
            }
            Event::Fail(rc, index) => Err(WaitError { result: ResultCode::from_raw(rc), index }),
        }
    }
    fn accept_session(&mut self, _port: Handle) -> Result<Handle, ResultCode> {
        self.next_session += 1;
        Ok(self.next_session)
    }
    fn close_handle(&mut self, handle: Handle) -> Result<(), ResultCode> {
        self.closed.push(handle);
        Ok(())
    }
    fn log(&mut self, line: &[Piece<'_>]) {
        self.log.push(Line(line).to_string());
    }
}

/// The request words up to the end of its raw data (what the kernel copies).
fn request(build: impl FnOnce(&mut [u32]) -> usize) -> Vec<u32> {
    let mut buf = [0u32; 64];
    build(&mut buf);
    let m = Message::parse(&buf).unwrap();
    let end = m.layout().raw_idx() + usize::from(m.header().raw_count);
    buf[..end].to_vec()
}

fn get_info() -> Vec<u32> {
    request(|b| client::build_get_info(b).unwrap())
}

fn close() -> Vec<u32> {
    request(|b| cmif::build_close(b).unwrap())
}

fn serve(service: ServiceIdentity, script: Vec<Event>, pb: &mut PointerBuffer) -> ServeLoop<'_, FakeKernel, Xcbuf> {
    let server = Server::new(Xcbuf, service.config(PB_ADDR)).unwrap();
    let size = service.pointer_buffer_size;
    ServeLoop::new(FakeKernel::new(script), server, service.name, PORT, &mut pb.0[..size])
}

fn receive_list(msg: &[u32]) -> (ReceiveListMode, u16, Vec<(u64, u16)>) {
    let m = Message::parse(msg).unwrap();
    let list = m.receive_list().map(|e| (e.address(), e.size())).collect();
    (m.header().receive_list_mode, m.header().receive_list_offset, list)
}

#[test]
fn start_arms_the_single_receive_list_at_the_fixed_offset() {
    let mut pb = PointerBuffer::new();
    let mut l = serve(SINGLE, vec![Event::Fail(0xea01, -1)], &mut pb);
    let (mode, offset, list) = receive_list(&l.syscalls().msg);
    assert_eq!(mode, ReceiveListMode::ToSingleBuffer);
    assert_eq!(usize::from(offset), RECEIVE_LIST_OFFSET);
    assert_eq!(list, vec![(PB_ADDR, 0x800)]);
    assert!(l.syscalls().log[0].contains("xcbuf: serving, receive mode 2 (single), pointer buffer 0x800 bytes"));
}

#[test]
fn indexed_service_arms_one_entry_per_index() {
    let mut pb = PointerBuffer::new();
    let mut l = serve(INDEXED, vec![], &mut pb);
    let (mode, offset, list) = receive_list(&l.syscalls().msg);
    assert_eq!(mode, ReceiveListMode::Index(3));
    assert_eq!(usize::from(offset), RECEIVE_LIST_OFFSET);
    assert_eq!(list, vec![(PB_ADDR, 0x200), (PB_ADDR + 0x200, 0x100), (PB_ADDR + 0x300, 0x40)]);
}

#[test]
fn port_signal_accepts_into_the_lowest_free_slot_and_waits_on_it_next() {
    let mut pb = PointerBuffer::new();
    let mut l = serve(SINGLE, vec![Event::Signal(0), Event::Fail(0xea01, -1)], &mut pb);
    assert_eq!(l.step(), Step::Accepted { slot: 0 });
    l.step();
    let calls = &l.syscalls().calls;
    assert_eq!(calls[0].handles, vec![PORT]);
    assert_eq!(calls[1].handles, vec![PORT, 0x201]);
    assert_eq!(calls[1].reply_target, 0);
    assert!(l.syscalls().log[1].contains("session 0 opened (1 open)"));
}

#[test]
fn request_is_replied_in_the_same_call_that_waits_for_the_next() {
    let mut pb = PointerBuffer::new();
    let script = vec![Event::Signal(0), Event::Request(1, get_info()), Event::Fail(0xea01, -1)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.step();
    assert_eq!(l.step(), Step::Handled { slot: 0, result: ResultCode::SUCCESS, replied: true });
    l.step();
    let call = l.syscalls().calls[2].clone();
    // One svc: the reply goes to session 0x201 and the wait covers the port and it.
    assert_eq!(call.reply_target, 0x201);
    assert_eq!(call.handles, vec![PORT, 0x201]);
    // The reply carries the receive list at the fixed offset (single mode, whole buffer).
    let (mode, offset, list) = receive_list(&call.message);
    assert_eq!((mode, usize::from(offset)), (ReceiveListMode::ToSingleBuffer, RECEIVE_LIST_OFFSET));
    assert_eq!(list, vec![(PB_ADDR, 0x800)]);
    let reply = client::parse_reply(&call.message).unwrap();
    let info: xcbuf_common::xcbuf::GetInfoResponse = reply.read().unwrap();
    assert_eq!(info.pointer_buffer_size as usize, POINTER_BUFFER_SIZE);
    assert_eq!(info.receive_mode, 2);
    assert_eq!(info.max_sessions as usize, MAX_SESSIONS);
}

#[test]
fn echo_replies_the_input_from_where_the_kernel_put_it() {
    let mut pb = PointerBuffer::new();
    pb.0[..5].copy_from_slice(b"hello");
    // As delivered: X[0] rewritten to the pointer buffer's start (§3.3).
    let echo = request(|b| client::build_echo(b, Buffer::new(PB_ADDR, 5), Buffer::new(0x5000, 16)).unwrap());
    let script = vec![Event::Signal(0), Event::Request(1, echo), Event::Fail(0xea01, -1)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.step();
    l.step();
    l.step();
    let reply = client::parse_reply(&l.syscalls().calls[2].message).unwrap();
    let x = reply.pointers()[0];
    assert_eq!((x.address(), x.size(), x.index()), (PB_ADDR, 5, 0));
}

#[test]
fn session_past_the_maximum_is_accepted_then_closed() {
    let mut pb = PointerBuffer::new();
    let mut script: Vec<Event> = (0..=MAX_SESSIONS).map(|_| Event::Signal(0)).collect();
    script.push(Event::Fail(0xea01, -1));
    let mut l = serve(SINGLE, script, &mut pb);
    for slot in 0..MAX_SESSIONS {
        assert_eq!(l.step(), Step::Accepted { slot });
    }
    assert_eq!(l.step(), Step::Refused);
    l.step();
    let refused = 0x200 + MAX_SESSIONS as Handle + 1;
    assert_eq!(l.syscalls().closed, vec![refused]);
    // The wait still covers the port and exactly the 16 sessions.
    assert_eq!(l.syscalls().calls.last().unwrap().handles.len(), 1 + MAX_SESSIONS);
    assert_eq!(l.server().sessions().open_count() as usize, MAX_SESSIONS);
}

#[test]
fn session_closed_on_receive_is_dropped_and_the_loop_goes_on() {
    let mut pb = PointerBuffer::new();
    let script = vec![Event::Signal(0), Event::Signal(0), Event::Fail(0xf601, 1), Event::Fail(0xea01, -1)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.step();
    l.step();
    assert_eq!(l.step(), Step::Dropped { slot: 0, reason: CloseReason::ClientClosed });
    l.step();
    assert_eq!(l.syscalls().closed, vec![0x201]);
    assert_eq!(l.syscalls().calls[3].handles, vec![PORT, 0x202]);
    assert_eq!(l.syscalls().calls[3].reply_target, 0);
    assert_eq!(l.server().sessions().open_count(), 1);
}

#[test]
fn receive_list_broken_rearms_and_keeps_the_session() {
    let mut pb = PointerBuffer::new();
    let script =
        vec![Event::Signal(0), Event::Request(1, get_info()), Event::Fail(0x20401, 1), Event::Fail(0xea01, -1)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.step();
    l.step();
    assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(0x20401) });
    l.step();
    let call = &l.syscalls().calls[3];
    assert_eq!(call.handles, vec![PORT, 0x201]);
    assert_eq!(call.reply_target, 0);
    // A receive-only message again: type 0, no raw data, the list armed.
    let m = Message::parse(&call.message).unwrap();
    assert_eq!((m.header().tag, m.header().raw_count), (0, 0));
    assert_eq!(receive_list(&call.message).2, vec![(PB_ADDR, 0x800)]);
}

#[test]
fn reply_failure_drops_the_replied_session_with_index_minus_one_or_ryujinx_zero() {
    for index in [-1, 0] {
        let mut pb = PointerBuffer::new();
        let script =
            vec![Event::Signal(0), Event::Request(1, get_info()), Event::Fail(0xf601, index), Event::Fail(0xea01, -1)];
        let mut l = serve(SINGLE, script, &mut pb);
        l.step();
        l.step();
        let reason = CloseReason::ReplyFailed(ResultCode::from_raw(0xf601));
        assert_eq!(l.step(), Step::Dropped { slot: 0, reason }, "index {index}");
        // The log line names the session, the failure with its result and the count.
        let line = "xcbuf: session 0 closed, reply failed 0xf601 (kernel SessionClosed) (0 open)";
        assert_eq!(l.syscalls().log.last().map(String::as_str), Some(line));
        l.step();
        assert_eq!(l.syscalls().closed, vec![0x201]);
        assert_eq!(l.syscalls().calls[3].handles, vec![PORT]);
        assert_eq!(l.syscalls().calls[3].reply_target, 0);
    }
}

#[test]
fn close_message_closes_the_session_without_a_reply() {
    let mut pb = PointerBuffer::new();
    let script = vec![Event::Signal(0), Event::Request(1, close()), Event::Fail(0xea01, -1)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.step();
    assert_eq!(l.step(), Step::Handled { slot: 0, result: ResultCode::SUCCESS, replied: false });
    l.step();
    assert_eq!(l.syscalls().closed, vec![0x201]);
    assert_eq!(l.syscalls().calls[2].reply_target, 0);
    assert_eq!(l.syscalls().calls[2].handles, vec![PORT]);
    assert!(l.syscalls().log.iter().any(|s| s.contains("session 0 closed, close message (0 open)")));
}

#[test]
fn a_wait_error_without_a_session_rearms_and_keeps_every_session() {
    let mut pb = PointerBuffer::new();
    let script = vec![Event::Signal(0), Event::Fail(0xec01, -1), Event::Fail(0xea01, -1)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.step();
    assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(0xec01) });
    l.step();
    assert_eq!(l.syscalls().calls[2].handles, vec![PORT, 0x201]);
    assert!(l.syscalls().closed.is_empty());
}

#[test]
fn nothing_per_request_is_logged() {
    let mut pb = PointerBuffer::new();
    let mut script = vec![Event::Signal(0)];
    script.extend((0..5).map(|_| Event::Request(1, get_info())));
    let mut l = serve(SINGLE, script, &mut pb);
    for _ in 0..6 {
        l.step();
    }
    // The start line and the session-open line only.
    assert_eq!(l.syscalls().log.len(), 2);
}

#[test]
fn closing_the_stop_session_ends_the_loop_and_closes_every_handle() {
    let mut pb = PointerBuffer::new();
    // Index 2: after the port and the one session.
    let script = vec![Event::Signal(0), Event::Fail(0xf601, 2)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.set_stop_session(0x300);
    l.run();
    assert_eq!(l.syscalls().calls[1].handles, vec![PORT, 0x201, 0x300]);
    assert_eq!(l.syscalls().closed, vec![0x201, 0x300, PORT]);
    assert_eq!(l.server().sessions().open_count(), 0);
}

#[test]
fn without_a_stop_session_the_wait_covers_only_the_port_and_sessions() {
    let mut pb = PointerBuffer::new();
    let mut l = serve(SINGLE, vec![Event::Fail(0xf601, 1)], &mut pb);
    // 0xf601 at index 1 with no session there: not a stop, the loop re-arms.
    assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(0xf601) });
    assert_eq!(l.syscalls().calls[0].handles, vec![PORT]);
}

/// The bench's value for an index the kernel did not write (tools/emu kernel/svc.rs
/// UNWRITTEN_INDEX_POISON, as W1).
const POISON: i32 = 0x7e7e_7e7e;

/// Results after which svcReplyAndReceive's index is not written (mesosphere
/// ReplyAndReceiveImpl): the argument checks and TimedOut.
const NO_INDEX_RESULTS: [u32; 4] = [0xee01, 0xe601, 0xe401, 0xea01];

#[test]
fn an_unwritten_index_is_never_read_without_a_reply_target() {
    // Indices 1 and 2 name real sessions: a loop reading them would drop one.
    for rc in NO_INDEX_RESULTS {
        for index in [1, 2, POISON, -1, 0] {
            let mut pb = PointerBuffer::new();
            let script = vec![Event::Signal(0), Event::Signal(0), Event::Fail(rc, index), Event::Fail(0xea01, POISON)];
            let mut l = serve(SINGLE, script, &mut pb);
            l.step();
            l.step();
            assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(rc) }, "{rc:#x} index {index}");
            l.step();
            assert!(l.syscalls().closed.is_empty(), "{rc:#x} index {index}");
            assert_eq!(l.syscalls().calls[3].handles, vec![PORT, 0x201, 0x202]);
            assert_eq!(l.server().sessions().open_count(), 2);
        }
    }
}

#[test]
fn an_argument_error_while_replying_drops_the_reply_target_not_the_session_at_the_index() {
    // The checks come before the reply: it never went out, so its session is dropped
    // (its client gets 0xf601) whatever the index register says.
    for rc in [0xee01, 0xe601, 0xe401] {
        for index in [1, POISON, -1] {
            let mut pb = PointerBuffer::new();
            let script = vec![
                Event::Signal(0),
                Event::Signal(0),
                Event::Request(2, get_info()),
                Event::Fail(rc, index),
                Event::Fail(0xea01, POISON),
            ];
            let mut l = serve(SINGLE, script, &mut pb);
            l.step();
            l.step();
            l.step();
            let reason = CloseReason::ReplyFailed(ResultCode::from_raw(rc));
            assert_eq!(l.step(), Step::Dropped { slot: 1, reason }, "{rc:#x} index {index}");
            l.step();
            assert_eq!(l.syscalls().calls[3].reply_target, 0x202);
            assert_eq!(l.syscalls().closed, vec![0x202], "{rc:#x} index {index}");
            assert_eq!(l.syscalls().calls[4].handles, vec![PORT, 0x201]);
        }
    }
}

#[test]
fn timed_out_after_a_reply_keeps_every_session() {
    // TimedOut comes from the wait, after the reply went out; its index is not written.
    for index in [1, 2, POISON, -1] {
        let mut pb = PointerBuffer::new();
        let script = vec![
            Event::Signal(0),
            Event::Signal(0),
            Event::Request(2, get_info()),
            Event::Fail(0xea01, index),
            Event::Fail(0xea01, POISON),
        ];
        let mut l = serve(SINGLE, script, &mut pb);
        l.step();
        l.step();
        l.step();
        assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(0xea01) }, "index {index}");
        l.step();
        assert!(l.syscalls().closed.is_empty(), "index {index}");
        assert_eq!(l.syscalls().calls[4].reply_target, 0, "the reply is not sent twice");
        assert_eq!(l.syscalls().calls[4].handles, vec![PORT, 0x201, 0x202]);
    }
}

#[test]
fn any_reply_failure_with_index_minus_one_or_zero_drops_the_replied_session() {
    // SendReply's own failures, e.g. InvalidState 0xfa01: index -1 (0 on Ryujinx).
    for index in [-1, 0] {
        let mut pb = PointerBuffer::new();
        let script = vec![
            Event::Signal(0),
            Event::Request(1, get_info()),
            Event::Fail(0xfa01, index),
            Event::Fail(0xea01, POISON),
        ];
        let mut l = serve(SINGLE, script, &mut pb);
        l.step();
        l.step();
        let reason = CloseReason::ReplyFailed(ResultCode::from_raw(0xfa01));
        assert_eq!(l.step(), Step::Dropped { slot: 0, reason }, "index {index}");
        assert_eq!(l.syscalls().closed, vec![0x201]);
    }
}

#[test]
fn an_unwritten_index_equal_to_the_stop_index_does_not_stop_the_loop() {
    let mut pb = PointerBuffer::new();
    // Index 2 would be the stop session (after the port and the one session).
    let script = vec![Event::Signal(0), Event::Fail(0xe401, 2), Event::Fail(0xea01, 2)];
    let mut l = serve(SINGLE, script, &mut pb);
    l.set_stop_session(0x300);
    l.step();
    assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(0xe401) });
    assert_eq!(l.step(), Step::Rearmed { result: ResultCode::from_raw(0xea01) });
    assert!(l.syscalls().closed.is_empty());
}
