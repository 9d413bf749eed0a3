//! Ryujinx's message copy (`--kernel ryujinx`, `kernel/message/ryujinx.rs`): Ryujinx
//! `KServerSession.cs` `Receive` and `Reply` fail differently from mesosphere
//! (horizon-ipc.md §10 "Ryujinx's kernel"). Each test pins the bytes and results of one
//! difference, next to what the Horizon copy does with the same messages.

mod model_support;

use model_support::*;
use xcbuf_common::hipc::{MapAliasAttribute, MessageHeader, ReceiveListMode};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_kmodel::message::ryujinx::{self, ReceiveFailure, ReplyFailure, ServerResult};
use xcbuf_kmodel::message::{FailedStep, ServerOutcome, Side, TransferReport, UserAccess};

/// The pointer buffer xcbuf's server arms (single mode).
const POINTER_BUFFER: u64 = SERVER_DATA;
const POINTER_BUFFER_SIZE: u64 = 0x800;
/// xcbuf's fixed receive-list offset (protocol.rs RECEIVE_LIST_OFFSET).
const LIST_WORD: usize = 32;

fn ryu_receive(b: &mut Bench) -> Result<TransferReport, ReceiveFailure> {
    ryujinx::receive_message(&mut b.mem, &mut b.handles, server_tls(), client_tls())
}

fn ryu_reply(b: &mut Bench) -> Result<TransferReport, ReplyFailure> {
    ryujinx::send_message(&mut b.mem, &mut b.handles, server_tls(), client_tls())
}

/// The server's receive-only message as xcbuf arms it: type 0, mode 2, list at word 32,
/// the single C entry over the pointer buffer; every other word holds `fill`.
fn arm_like_xcbuf(b: &mut Bench, fill: u32) -> [u32; 2] {
    let h = header(MessageHeader {
        receive_list_mode: ReceiveListMode::ToSingleBuffer,
        receive_list_offset: LIST_WORD as u16,
        ..MessageHeader::default()
    });
    let mut words = vec![fill; 64];
    words[..2].copy_from_slice(&h);
    words[LIST_WORD..LIST_WORD + 2].copy_from_slice(&entry(POINTER_BUFFER, POINTER_BUFFER_SIZE));
    b.server_message(&words);
    h
}

/// The client's Echo-like request: type 4, one X of `size` bytes, 4 raw words, one C
/// entry after the raw data (mode 2, offset 0), as libnx lays it out.
fn echo_request(b: &mut Bench, size: u64) -> Vec<u32> {
    b.mem.put(Side::Client, CLIENT_DATA, &pattern(5, size as usize));
    let h = header(hdr(4, 1, 4, ReceiveListMode::ToSingleBuffer));
    let words = cat(&[&h, &x(0, CLIENT_DATA, size), &[0x11, 0x22, 0x33, 0x44], &entry(CLIENT_DATA + 0x800, 0x900)]);
    b.client_message(&words);
    words
}

#[test]
fn ryujinx_failed_receive_leaves_the_clients_header_words_in_the_servers_buffer_and_the_server_keeps_waiting() {
    // KServerSession.cs Receive writes the client's words 0-1 before the X; the X of
    // 0x801 bytes has no place (0xce01 for the client), Receive returns NotFound, which
    // Syscall.cs ReplyAndReceive swallows. Nothing is restored, never 0x20401.
    let mut b = Bench::new();
    arm_like_xcbuf(&mut b, 0);
    let sent = echo_request(&mut b, POINTER_BUFFER_SIZE + 1);
    let f = ryu_receive(&mut b).expect_err("0x801 bytes do not fit 0x800");
    assert_eq!(f.client_result.raw(), 0xce01);
    assert_eq!(f.server, ServerResult::KeepWaiting);
    assert_eq!(f.step, FailedStep::Pointer { descriptor: 0 });
    assert_eq!(b.server_words(2), sent[..2], "the client's header words stay in the server's buffer");
    // Horizon restores the server's header (and the list at word 32 was never touched).
    let mut h = Bench::new();
    let armed = arm_like_xcbuf(&mut h, 0);
    echo_request(&mut h, POINTER_BUFFER_SIZE + 1);
    let f = h.receive().expect_err("does not fit");
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
    assert_eq!(h.server_words(2), armed, "Horizon restores the server's words 0-1");
}

#[test]
fn ryujinx_next_receive_reads_the_clients_word_1_as_the_servers_receive_list() {
    // After the failure above, the server's buffer says "mode 2, offset 0": Receive's
    // GetReceiveList reads the entry right after the message those words describe (word
    // 2 + 2 + 4 = 8 of the server's buffer), whatever is there.
    let mut b = Bench::new();
    arm_like_xcbuf(&mut b, 0);
    echo_request(&mut b, POINTER_BUFFER_SIZE + 1);
    ryu_receive(&mut b).expect_err("first request fails");
    // Stale zeros at word 8: an entry of size 0 -> OutOfResource for a 16-byte Echo that
    // fits the real pointer buffer easily.
    echo_request(&mut b, 0x10);
    let f = ryu_receive(&mut b).expect_err("the list is the client's");
    assert_eq!((f.client_result.raw(), f.server), (0xce01, ServerResult::KeepWaiting));
    // An entry planted at word 8 receives the X: the list really is read from there.
    let planted = entry(POINTER_BUFFER + 0x400, 0x40);
    let mut words = b.server_words(10);
    words[8..10].copy_from_slice(&planted);
    b.server_message(&words);
    echo_request(&mut b, 0x10);
    let report = ryu_receive(&mut b).expect("lands in the planted entry");
    assert_eq!(report.pointers[0].destination, POINTER_BUFFER + 0x400);
    // Horizon: the second Echo lands at the start of the armed pointer buffer.
    let mut h = Bench::new();
    arm_like_xcbuf(&mut h, 0);
    echo_request(&mut h, POINTER_BUFFER_SIZE + 1);
    h.receive().expect_err("first request fails");
    echo_request(&mut h, 0x10);
    assert_eq!(h.receive().expect("fits").pointers[0].destination, POINTER_BUFFER);
}

#[test]
fn ryujinx_a_request_without_x_is_received_and_its_reply_re_arms_the_list() {
    // The broken list matters only to X descriptors: a request without X is received,
    // and the server's reply (written with its list at word 32) is the next receive's
    // header again (KServerSession.cs Receive reads the server's header as it is).
    let mut b = Bench::new();
    arm_like_xcbuf(&mut b, 0);
    echo_request(&mut b, POINTER_BUFFER_SIZE + 1);
    ryu_receive(&mut b).expect_err("first request fails");
    let get_info = cat(&[&header(hdr(4, 0, 4, ReceiveListMode::None)), &[1, 2, 3, 4]]);
    b.client_message(&get_info);
    ryu_receive(&mut b).expect("a request without X needs no receive list");
    // The reply: type 0, 4 raw words, the list armed at word 32.
    let reply_header = header(MessageHeader {
        raw_count: 4,
        receive_list_mode: ReceiveListMode::ToSingleBuffer,
        receive_list_offset: LIST_WORD as u16,
        ..MessageHeader::default()
    });
    let mut reply = b.server_words(64);
    reply[..6].copy_from_slice(&cat(&[&reply_header, &[9, 9, 9, 9]]));
    reply[LIST_WORD..LIST_WORD + 2].copy_from_slice(&entry(POINTER_BUFFER, POINTER_BUFFER_SIZE));
    b.server_message(&reply);
    ryu_reply(&mut b).expect("reply");
    echo_request(&mut b, 0x10);
    let report = ryu_receive(&mut b).expect("the list is armed again");
    assert_eq!(report.pointers[0].destination, POINTER_BUFFER);
}

#[test]
fn ryujinx_client_header_check_failures_go_to_the_server_with_success_for_the_client() {
    // KServerSession.cs Receive checks only the client's header: a receive-list offset
    // inside the message is InvalidCombination 0xe801, returned to the server (with the
    // session's index, svc layer); the client is woken with success, its buffer as sent.
    let mut b = Bench::new();
    let armed = arm_like_xcbuf(&mut b, 0);
    let h = header(MessageHeader { tag: 4, raw_count: 4, receive_list_offset: 3, ..MessageHeader::default() });
    let sent = cat(&[&h, &[1, 2, 3, 4]]);
    b.client_message(&sent);
    let f = ryu_receive(&mut b).expect_err("offset 3 is inside the raw data");
    assert_eq!(f.client_result, ResultCode::SUCCESS);
    assert_eq!(f.server, ServerResult::Return(kernel::INVALID_COMBINATION));
    assert_eq!(b.client_words(6), sent, "the client's buffer is unchanged");
    assert_eq!(b.server_words(2), armed, "checked before anything is written");
    // A message larger than its buffer (raw 0x3f0 words): InvalidCombination too (the
    // receive-list check comes first).
    b.client_message(&header(hdr(4, 0, 0x3f0, ReceiveListMode::None)));
    let f = ryu_receive(&mut b).expect_err("too large");
    assert_eq!((f.client_result, f.server), (ResultCode::SUCCESS, ServerResult::Return(kernel::INVALID_COMBINATION)));
    // Horizon checks the receive-list offset of the destination only (the server's on
    // receive, the client's on reply): the request is received.
    let mut hz = Bench::new();
    arm_like_xcbuf(&mut hz, 0);
    hz.client_message(&sent);
    hz.receive().expect("Horizon does not check the client's list offset on receive");
}

#[test]
fn ryujinx_move_handles_in_a_request_go_to_the_server_after_the_header_words_were_written() {
    // KServerSession.cs Receive: MoveHandlesCount != 0 fails with InvalidCombination to
    // the server (client success) after words 0-1 were copied; the cleanup
    // (CloseAllHandles with the client's layout on the server's buffer) zeroes the
    // handle slot it reads there and closes that handle in the server.
    let mut b = Bench::new();
    arm_like_xcbuf(&mut b, 0);
    let victim = b.handles.add(Side::Server, 0x5151).expect("a server handle");
    // Stale word 3 of the server's buffer holds a real server handle.
    let mut words = b.server_words(64);
    words[3] = victim;
    b.server_message(&words);
    let mine = b.handles.add(Side::Client, 0x4242).expect("a client handle");
    let h = header(MessageHeader { tag: 4, has_special_header: true, ..MessageHeader::default() });
    let sent = cat(&[&h, &[special(false, 0, 1), mine]]);
    b.client_message(&sent);
    let f = ryu_receive(&mut b).expect_err("move handles from a client");
    assert_eq!((f.client_result, f.server), (ResultCode::SUCCESS, ServerResult::Return(kernel::INVALID_COMBINATION)));
    assert_eq!(f.step, FailedStep::MoveHandleFromClient);
    assert_eq!(b.server_words(2), sent[..2], "words 0-1 were written first");
    assert_eq!(b.server_words(4)[3], 0, "the slot is zeroed");
    assert_eq!(b.handles.object(Side::Server, victim), None, "the stale handle was closed in the server");
    assert_eq!(b.handles.object(Side::Client, mine), Some(0x4242), "the client keeps its handle");
}

/// A received request is in both buffers; the client's request has one C entry (mode 2)
/// over `CLIENT_DATA + 0x800`, 0x100 bytes.
fn received_echo(b: &mut Bench) {
    arm_like_xcbuf(b, 0);
    echo_request(b, 0x10);
    ryu_receive(b).expect("received");
}

#[test]
fn ryujinx_reply_with_a_map_alias_descriptor_gives_the_client_success_and_the_server_invalid_combination() {
    // KServerSession.cs Reply: A/B/W in a reply -> CleanUpForError with the client's
    // result still success; Reply returns InvalidCombination to the server.
    let mut b = Bench::new();
    received_echo(&mut b);
    let request = b.client_words(10);
    let h = header(MessageHeader { send_count: 1, ..MessageHeader::default() });
    b.server_message(&cat(&[&h, &map_alias(0, 0, MapAliasAttribute::Ipc)]));
    let f = ryu_reply(&mut b).expect_err("A in a reply");
    assert_eq!((f.client_result, f.server_result), (ResultCode::SUCCESS, kernel::INVALID_COMBINATION));
    assert_eq!(f.step, FailedStep::ReplyWithMapAlias);
    assert_eq!(b.client_words(10), request, "the client's buffer still holds its request");
    // Horizon: the client gets 0xe801, the server's reply succeeds.
    let mut hz = Bench::new();
    hz.arm_single(POINTER_BUFFER, POINTER_BUFFER_SIZE);
    echo_request(&mut hz, 0x10);
    hz.receive().expect("received");
    hz.server_message(&cat(&[&h, &map_alias(0, 0, MapAliasAttribute::Ipc)]));
    assert_eq!(hz.reply().expect_err("A in a reply").client_result, kernel::INVALID_COMBINATION);
}

#[test]
fn ryujinx_reply_larger_than_the_clients_buffer_gives_the_server_cmd_buffer_too_small() {
    // KServerSession.cs Reply: serverHeader.MessageSizeInWords * 4 > clientMsg.Size ->
    // CmdBufferTooSmall 0x20801 to the server, success to the client.
    let mut b = Bench::new();
    received_echo(&mut b);
    b.server_message(&header(hdr(0, 0, 0x3f0, ReceiveListMode::None)));
    let f = ryu_reply(&mut b).expect_err("too large");
    assert_eq!((f.client_result, f.server_result.raw()), (ResultCode::SUCCESS, 0x20801));
}

#[test]
fn ryujinx_reply_x_without_a_place_gives_the_client_out_of_resource_and_the_server_success() {
    // KServerSession.cs Reply: GetReceiveListAddress fails -> CleanUpForError with the
    // client's 0xce01; Reply returns success (as on Horizon).
    let mut b = Bench::new();
    received_echo(&mut b);
    b.mem.put(Side::Server, POINTER_BUFFER, &pattern(7, 0x101));
    let h = header(hdr(0, 1, 0, ReceiveListMode::None));
    b.server_message(&cat(&[&h, &x(0, POINTER_BUFFER, 0x901)]));
    let f = ryu_reply(&mut b).expect_err("0x901 bytes into a 0x900-byte C");
    assert_eq!((f.client_result.raw(), f.server_result), (0xce01, ResultCode::SUCCESS));
    // The same reply of 0x900 bytes lands in C[0].
    b.mem.put(Side::Server, POINTER_BUFFER, &pattern(7, 0x800));
    let mut c = Bench::new();
    received_echo(&mut c);
    c.server_message(&cat(&[&h, &x(0, POINTER_BUFFER, 0x800)]));
    assert_eq!(ryu_reply(&mut c).expect("fits").pointers[0].destination, CLIENT_DATA + 0x800);
}

#[test]
fn ryujinx_copy_on_success_is_the_horizon_copy() {
    // On success both kernels put the same bytes in the same places (horizon-ipc.md §10).
    for size in [0x10u64, 0x13, 0x800] {
        let mut r = Bench::new();
        arm_like_xcbuf(&mut r, 0);
        echo_request(&mut r, size);
        let ryu = ryu_receive(&mut r).expect("fits");
        let mut h = Bench::new();
        arm_like_xcbuf(&mut h, 0);
        echo_request(&mut h, size);
        let hz = h.receive().expect("fits");
        assert_eq!(ryu, hz);
        assert_eq!(r.server_words(64), h.server_words(64));
        assert_eq!(r.mem.get(Side::Server, POINTER_BUFFER, 0x800), h.mem.get(Side::Server, POINTER_BUFFER, 0x800));
    }
}

#[test]
fn ryujinx_writes_x_data_into_read_only_memory_of_either_side() {
    // KPageTableBase.cs CopyDataFromOrToCurrentProcess checks the client's range for
    // KMemoryPermission.Read only (Receive and Reply both pass Read) and writes the
    // server's range unchecked. A server pointer buffer and a client C buffer in
    // read-only memory both receive the bytes; Horizon refuses both with 0xd401.
    const RO_SERVER: u64 = 0x8000;
    const RO_CLIENT: u64 = 0x0008_0000;
    let setup = |b: &mut Bench| {
        b.mem.map(Side::Server, RO_SERVER, 0x100, Some(UserAccess::Read));
        b.mem.map(Side::Client, RO_CLIENT, 0x100, Some(UserAccess::Read));
        b.arm_single(RO_SERVER, 0x100);
        b.mem.put(Side::Client, CLIENT_DATA, &pattern(9, 0x20));
        let h = header(hdr(4, 1, 0, ReceiveListMode::ToSingleBuffer));
        b.client_message(&cat(&[&h, &x(0, CLIENT_DATA, 0x20), &entry(RO_CLIENT, 0x100)]));
    };
    let reply = |b: &mut Bench| {
        let h = header(hdr(0, 1, 0, ReceiveListMode::None));
        b.server_message(&cat(&[&h, &x(0, SERVER_DATA, 0x20)]));
        b.mem.put(Side::Server, SERVER_DATA, &pattern(11, 0x20));
    };
    let mut b = Bench::new();
    setup(&mut b);
    let report = ryu_receive(&mut b).expect("Ryujinx does not check the server's side");
    assert_eq!(report.pointers[0].destination, RO_SERVER);
    assert_eq!(b.mem.get(Side::Server, RO_SERVER, 0x20), pattern(9, 0x20));
    reply(&mut b);
    let report = ryu_reply(&mut b).expect("Ryujinx checks the client's C buffer for read only");
    assert_eq!(report.pointers[0].destination, RO_CLIENT);
    assert_eq!(b.mem.get(Side::Client, RO_CLIENT, 0x20), pattern(11, 0x20));
    // Horizon: the server's pointer buffer must be user-writable...
    let mut h = Bench::new();
    setup(&mut h);
    assert_eq!(h.receive().expect_err("read-only pointer buffer").client_result, kernel::INVALID_CURRENT_MEMORY);
    // ...and so must the client's C buffer.
    h.arm_single(SERVER_DATA + 0x800, 0x100);
    h.receive().expect("a writable pointer buffer");
    reply(&mut h);
    assert_eq!(h.reply().expect_err("read-only C buffer").client_result, kernel::INVALID_CURRENT_MEMORY);
}

/// A reply (type 0) with a special header: `copy`/`moves` handle words, then `xs`.
fn reply_with_handles(b: &mut Bench, copy: &[u32], moves: &[u32], xs: &[[u32; 2]]) {
    let h =
        header(MessageHeader { pointer_count: xs.len() as u8, has_special_header: true, ..MessageHeader::default() });
    let xs: Vec<u32> = xs.iter().flatten().copied().collect();
    let sp = [special(false, copy.len() as u8, moves.len() as u8)];
    b.server_message(&cat(&[&h, &sp, copy, moves, &xs]));
}

#[test]
fn ryujinx_reply_copy_handle_that_fails_is_written_as_0_and_ignored() {
    // KServerSession.cs Reply ignores GetCopyObjectHandle's result: the slot stays 0 and
    // the client gets success. Horizon gives the client InvalidHandle 0xe401.
    let mut b = Bench::new();
    received_echo(&mut b);
    reply_with_handles(&mut b, &[0xDEAD], &[], &[]);
    ryu_reply(&mut b).expect("a failed copy handle does not fail the reply");
    assert_eq!(b.client_words(4)[3], 0, "the handle slot is 0");
    let mut h = Bench::new();
    h.arm_single(POINTER_BUFFER, POINTER_BUFFER_SIZE);
    echo_request(&mut h, 0x10);
    h.receive().expect("received");
    reply_with_handles(&mut h, &[0xDEAD], &[], &[]);
    assert_eq!(h.reply().expect_err("bad copy handle").client_result, kernel::INVALID_HANDLE);
}

#[test]
fn ryujinx_reply_move_handle_failure_is_the_clients_result_unless_a_later_x_overwrites_it() {
    // KServerSession.cs Reply: a failed GetMoveObjectHandle sets clientResult, but the
    // X loop assigns clientResult again (GetReceiveListAddress, then the copy).
    let mut b = Bench::new();
    received_echo(&mut b);
    reply_with_handles(&mut b, &[], &[0xDEAD], &[]);
    let f = ryu_reply(&mut b).expect_err("bad move handle, no X after it");
    assert_eq!((f.client_result, f.server_result), (kernel::INVALID_HANDLE, ResultCode::SUCCESS));
    let mut b = Bench::new();
    received_echo(&mut b);
    b.mem.put(Side::Server, SERVER_DATA, &pattern(3, 0x10));
    reply_with_handles(&mut b, &[], &[0xDEAD], &[x(0, SERVER_DATA, 0x10)]);
    ryu_reply(&mut b).expect("the X that follows overwrites the move handle's failure");
    assert_eq!(b.mem.get(Side::Client, CLIENT_DATA + 0x800, 0x10), pattern(3, 0x10));
}

#[test]
fn ryujinx_request_pid_is_always_the_clients_pid() {
    // KServerSession.cs Receive writes clientProcess.Pid; Atmosphère passes a value whose
    // top 16 bits are 0xFFFE through (horizon-ipc.md §3.2 step 7).
    let pass_through = 0xFFFE_0000_0000_0042u64;
    let request = |b: &mut Bench| {
        arm_like_xcbuf(b, 0);
        let h = header(MessageHeader { tag: 4, has_special_header: true, ..MessageHeader::default() });
        b.client_message(&cat(&[&h, &[special(true, 0, 0), pass_through as u32, (pass_through >> 32) as u32]]));
    };
    let mut b = Bench::new();
    request(&mut b);
    ryu_receive(&mut b).expect("received");
    assert_eq!(b.server_words(5)[3..5], [CLIENT_PID as u32, 0]);
    let mut h = Bench::new();
    request(&mut h);
    h.receive().expect("received");
    assert_eq!(h.server_words(5)[3..5], [0x42, 0]);
}
