//! Special data (`horizon-ipc.md` §1.3, §3.2 steps 5 and 7, §4 step 3): pid injection,
//! Atmosphère's pid passthrough, copy/move handle translation, and the cleanup of
//! handles when a message fails.

mod model_support;

use model_support::*;
use xcbuf_common::hipc::MessageHeader;
use xcbuf_kmodel::message::{
    FailedStep, PSEUDO_HANDLE_CURRENT_PROCESS, PSEUDO_HANDLE_CURRENT_THREAD, ServerOutcome, Side,
};

/// Header words 0–1 with a special header, `x` X descriptors and `raw` raw words.
fn special_header_words(tag: u16, x: u8, raw: u16) -> [u32; 2] {
    header(MessageHeader {
        tag,
        pointer_count: x,
        raw_count: raw,
        has_special_header: true,
        ..MessageHeader::default()
    })
}

#[test]
fn pid_slot_gets_the_client_process_id() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    b.client_message(&cat(&[&special_header_words(4, 0, 1), &[special(true, 0, 0)], &[0x1234, 0], &[0x99]]));
    let report = b.receive().expect("fits");
    let got = b.server_words(6);
    assert_eq!(got[2], special(true, 0, 0));
    assert_eq!(&got[3..5], &[CLIENT_PID as u32, 0], "the client's value is ignored");
    assert_eq!(got[5], 0x99);
    assert_eq!(report.special_bytes, 12);
}

#[test]
fn pid_with_0xfffe_top_bits_passes_its_low_48_bits() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(true, 0, 0)], &[0x0000_0077, 0xFFFE_0012]]));
    b.receive().expect("fits");
    assert_eq!(&b.server_words(5)[3..5], &[0x77, 0x0012], "0xFFFE_0012_0000_0077 → 0x12_0000_0077");

    // Top bits 0xFFFF are not the passthrough marker.
    b.arm_single(0x1008, 0x100);
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(true, 0, 0)], &[0x0000_0077, 0xFFFF_0012]]));
    b.receive().expect("fits");
    assert_eq!(&b.server_words(5)[3..5], &[CLIENT_PID as u32, 0]);
}

#[test]
fn copy_handles_are_translated_zero_stays_zero_and_pseudo_handles_are_accepted() {
    let mut b = Bench::new();
    let h = b.handles.add(Side::Client, 0x5000).expect("room");
    b.arm_single(0x1008, 0x100);
    let handles = [h, 0, PSEUDO_HANDLE_CURRENT_THREAD, PSEUDO_HANDLE_CURRENT_PROCESS];
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(false, 4, 0)], &handles]));
    b.receive().expect("all handles valid");
    let got = b.server_words(7);
    assert_eq!(got[4], 0, "handle 0 stays 0");
    assert_eq!(b.handles.object(Side::Server, got[3]), Some(0x5000));
    assert_eq!(b.handles.object(Side::Server, got[5]), Some(THREAD_OBJECT[0]));
    assert_eq!(b.handles.object(Side::Server, got[6]), Some(PROCESS_OBJECT[0]));
    assert_eq!(b.handles.object(Side::Client, h), Some(0x5000), "a copy leaves the client's handle");
}

#[test]
fn unknown_copy_handle_is_invalid_handle_and_installed_handles_are_closed() {
    // Special data at word 2 overwrites libstratosphere's list: 0x20401 to the server.
    let mut b = Bench::new();
    let h1 = b.handles.add(Side::Client, 0x5001).expect("room");
    let h2 = b.handles.add(Side::Client, 0x5002).expect("room");
    b.arm_single(0x1008, 0x100);
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(false, 3, 0)], &[h1, 0xDEAD, h2]]));
    let f = b.receive().expect_err("0xDEAD is unknown");
    assert_eq!(f.client_result.raw(), 0xe401);
    assert_eq!(f.server_sees, ServerOutcome::ReceiveListBroken);
    assert_eq!(f.step, FailedStep::SpecialData);
    assert!(b.handles.tables.keys().all(|(side, _)| *side == Side::Client), "no handle left in the server's table");
    assert_eq!(&b.server_words(6)[3..6], &[0, 0, 0], "handle slots cleared");
}

#[test]
fn special_data_failure_below_a_high_list_restores_the_server_header() {
    // Server list at offset 0x30 with its own special header (no data): NotFound, and
    // words 0–2 are restored.
    let mut b = Bench::new();
    let server_special = special(false, 0, 0);
    let server = cat(&[&[0, 0x8300_0800], &[server_special], &[0xEEEE_EEEE; 0x2D], &entry(0x1008, 0x100)]);
    b.server_message(&server);
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(true, 1, 0)], &[0, 0], &[0xDEAD]]));
    let f = b.receive().expect_err("0xDEAD is unknown");
    assert_eq!(f.client_result.raw(), 0xe401);
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
    let got = b.server_words(0x32);
    assert_eq!(&got[0..3], &[0, 0x8300_0800, server_special]);
    assert_eq!(&got[3..6], &[0, 0, 0], "pid and handle slots cleared by the cleanup");
    assert_eq!(&got[0x30..0x32], &entry(0x1008, 0x100));
}

#[test]
fn full_handle_table_is_out_of_handles() {
    let mut b = Bench::new();
    let h = b.handles.add(Side::Client, 0x5000).expect("room");
    b.handles.full = Some(Side::Server);
    b.arm_single(0x1008, 0x100);
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(false, 1, 0)], &[h]]));
    assert_eq!(b.receive().expect_err("server table full").client_result.raw(), 0xd201);
}

#[test]
fn move_handles_from_client_are_invalid_combination() {
    let mut b = Bench::new();
    let h = b.handles.add(Side::Client, 0x5000).expect("room");
    b.arm_single(0x1008, 0x100);
    b.client_message(&cat(&[&special_header_words(4, 0, 0), &[special(false, 0, 1)], &[h]]));
    let f = b.receive().expect_err("client move handle");
    assert_eq!(f.client_result.raw(), 0xe801);
    assert_eq!(f.step, FailedStep::MoveHandleFromClient);
    assert_eq!(f.server_sees, ServerOutcome::NotFound, "checked before anything is written");
    assert_eq!(&b.server_words(4)[..], &[0, 0x800, 0x1008, 0x0100_0000]);
    assert_eq!(b.handles.object(Side::Client, h), Some(0x5000), "the client keeps its handle");
}

#[test]
fn reply_pid_slot_gets_the_server_process_id() {
    let mut b = Bench::new();
    b.client_message(&[4, 0]);
    b.server_message(&cat(&[&special_header_words(0, 0, 0), &[special(true, 0, 0)], &[0xAAAA, 0xBBBB]]));
    b.reply().expect("fits");
    assert_eq!(&b.client_words(5)[3..5], &[SERVER_PID as u32, 0]);
}

#[test]
fn reply_move_handles_leave_the_server_and_enter_the_client() {
    let mut b = Bench::new();
    let moved = b.handles.add(Side::Server, 0x6000).expect("room");
    let copied = b.handles.add(Side::Server, 0x6001).expect("room");
    b.client_message(&[4, 0]);
    b.server_message(&cat(&[&special_header_words(0, 0, 0), &[special(false, 1, 1)], &[copied, moved]]));
    b.reply().expect("move handles are allowed in replies");
    let got = b.client_words(5);
    assert_eq!(b.handles.object(Side::Client, got[3]), Some(0x6001));
    assert_eq!(b.handles.object(Side::Client, got[4]), Some(0x6000));
    assert_eq!(b.handles.object(Side::Server, copied), Some(0x6001));
    assert_eq!(b.handles.object(Side::Server, moved), None, "moved out of the server");
}

#[test]
fn reply_moving_a_pseudo_handle_is_invalid_handle() {
    let mut b = Bench::new();
    b.client_message(&[4, 0]);
    b.server_message(&cat(&[
        &special_header_words(0, 0, 0),
        &[special(false, 0, 1)],
        &[PSEUDO_HANDLE_CURRENT_PROCESS],
    ]));
    assert_eq!(b.reply().expect_err("no pseudo-handle moves").client_result.raw(), 0xe401);
}

#[test]
fn reply_failing_before_its_special_data_closes_the_servers_move_handles() {
    // A reply with an A descriptor fails its checks (0xe801); its move handle is still
    // given up (closed in the server), and nothing reaches the client.
    let mut b = Bench::new();
    let moved = b.handles.add(Side::Server, 0x6000).expect("room");
    b.client_message(&[4, 0]);
    let h = header(MessageHeader { send_count: 1, has_special_header: true, ..MessageHeader::default() });
    b.server_message(&cat(&[&h, &[special(false, 0, 1)], &[moved], &[0, 0, 0]]));
    let f = b.reply().expect_err("A in reply");
    assert_eq!(f.client_result.raw(), 0xe801);
    assert_eq!(b.handles.object(Side::Server, moved), None);
    assert!(b.handles.tables.is_empty());
}

#[test]
fn reply_failing_after_its_special_data_closes_handles_installed_in_the_client() {
    let mut b = Bench::new();
    let moved = b.handles.add(Side::Server, 0x6000).expect("room");
    let copied = b.handles.add(Side::Server, 0x6001).expect("room");
    b.client_message(&cat(&[&[4, 0x0C00], &entry(CLIENT_DATA, 0x10)]));
    b.server_message(&cat(&[
        &special_header_words(0, 1, 0),
        &[special(false, 1, 1)],
        &[copied, moved],
        &x(0, 0x1300, 0x11),
    ]));
    let f = b.reply().expect_err("0x11 > 0x10");
    assert_eq!(f.client_result.raw(), 0xce01);
    assert!(b.handles.tables.keys().all(|(side, _)| *side == Side::Server), "client table empty");
    assert_eq!(b.handles.object(Side::Server, moved), None, "the moved handle is gone");
    assert_eq!(b.handles.object(Side::Server, copied), Some(0x6001));
    assert_eq!(&b.client_words(5)[3..5], &[0, 0], "client handle slots cleared");
}

#[test]
fn reply_move_handle_after_a_failed_copy_handle_is_still_removed_from_the_server() {
    let mut b = Bench::new();
    let moved = b.handles.add(Side::Server, 0x6000).expect("room");
    b.client_message(&[4, 0]);
    b.server_message(&cat(&[&special_header_words(0, 0, 0), &[special(false, 1, 1)], &[0xDEAD, moved]]));
    assert_eq!(b.reply().expect_err("0xDEAD").client_result.raw(), 0xe401);
    assert!(b.handles.tables.is_empty(), "moved handle removed, nothing installed");
}
