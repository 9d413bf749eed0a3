//! Every row of the error table in `xcbuf_common::xcbuf`: a malformed request is
//! answered with exactly its documented result, in an SFCO reply with no X descriptors
//! and the receive list still armed (design.md "Server rules").
//!
//! The messages are written straight into the server's message buffer, as the kernel
//! would deliver them (header, descriptors and raw data verbatim).

mod server_support;

use server_support::RoundTrip;
use xcbuf_common::client::{self, ClientError};
use xcbuf_common::cmif::{self, CommandType, OutPointer, RequestSpec};
use xcbuf_common::hipc::{
    MapAliasAttribute, MapAliasDescriptor, Message, MessageHeader, PointerDescriptor, ReceiveListEntry, ReceiveListMode,
};
use xcbuf_common::result::ResultCode;
use xcbuf_common::sf::{Action, Handled, SESSION_NOT_OPEN};
use xcbuf_common::xcbuf::{self, Command, RECEIVE_LIST_OFFSET, RawData, SplitRequest};

const BASE: u64 = 0x2_0000_0000;

fn round_trip() -> (RoundTrip, usize) {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    (b, slot)
}

fn x(index: u8, offset: u64, size: u64) -> PointerDescriptor {
    PointerDescriptor::new(index, BASE + offset, size).unwrap()
}

fn out(size: u64) -> OutPointer {
    OutPointer { entry: ReceiveListEntry::new(0x0850_0000, size).unwrap(), has_size_entry: true }
}

/// Builds `spec` into the server's buffer as if the kernel had delivered it.
fn deliver(b: &mut RoundTrip, spec: &RequestSpec<'_>) {
    cmif::build_request(&mut b.tls, spec).unwrap();
}

fn handle(b: &mut RoundTrip, slot: usize) -> Handled {
    b.server.handle(slot, &mut b.tls, &mut b.pointer_buffer)
}

/// The reply is an error reply with `expected` in SFCO, no X, and the list armed.
fn assert_error_reply(b: &RoundTrip, handled: Handled, expected: ResultCode, raw: u32) {
    assert_eq!(expected.raw(), raw, "documented value of {expected}");
    assert_eq!(handled.action, Action::Reply);
    assert_eq!(handled.result, expected, "got {}", handled.result);
    assert_eq!(client::parse_reply(&b.tls).unwrap_err(), ClientError::Service(expected));
    let m = Message::parse(&b.tls).unwrap();
    assert_eq!(m.header().pointer_count, 0, "error replies carry no X");
    assert_eq!(usize::from(m.header().receive_list_offset), RECEIVE_LIST_OFFSET);
    assert_eq!(m.header().receive_list_mode, ReceiveListMode::ToSingleBuffer);
    assert_eq!(m.receive_list().next().unwrap(), ReceiveListEntry::new(BASE, 0x800).unwrap());
}

fn request(command: Command) -> RequestSpec<'static> {
    RequestSpec { command_id: command.id(), ..RequestSpec::default() }
}

#[test]
fn row1_message_past_the_buffer_is_invalid_request_size() {
    let (mut b, slot) = round_trip();
    // 40 raw words and an indexed list of 13 entries: 2 + 40 + 26 = 68 words > 64.
    let header = MessageHeader {
        tag: 4,
        raw_count: 40,
        receive_list_mode: ReceiveListMode::Index(13),
        ..MessageHeader::default()
    };
    b.tls[..2].copy_from_slice(&header.encode().unwrap());
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_REQUEST_SIZE, 0x3240b);
}

#[test]
fn row1_receive_list_offset_inside_raw_data_is_invalid_request_size() {
    let (mut b, slot) = round_trip();
    deliver(&mut b, &request(Command::GetInfo));
    let mut header = MessageHeader::decode([b.tls[0], b.tls[1]]);
    header.receive_list_offset = 3; // raw data runs from word 2 to word 10
    b.tls[..2].copy_from_slice(&header.encode().unwrap());
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_REQUEST_SIZE, 0x3240b);
}

#[test]
fn row2_close_closes_without_reply_and_rearms_the_list() {
    let (mut b, slot) = round_trip();
    cmif::build_close(&mut b.tls).unwrap();
    let h = handle(&mut b, slot);
    assert_eq!(h.action, Action::CloseSession);
    assert!(h.result.is_success());
    let m = Message::parse(&b.tls).unwrap();
    assert_eq!(m.header().tag, 0);
    assert_eq!(m.header().raw_count, 0);
    assert_eq!(usize::from(m.header().receive_list_offset), RECEIVE_LIST_OFFSET);
    assert_eq!(m.receive_list().next().unwrap(), ReceiveListEntry::new(BASE, 0x800).unwrap());
    assert_eq!(b.server.counters().requests, 0, "Close is not a request");
    b.server.close_session(slot).unwrap();
    assert_eq!(b.server.sessions().open_count(), 0);
}

#[test]
fn row3_types_other_than_request_control_close_are_unknown_command_type() {
    for tag in [0u16, 1, 3, 8, 15, 0xFFFF] {
        let (mut b, slot) = round_trip();
        deliver(&mut b, &request(Command::GetInfo));
        b.tls[0] = (b.tls[0] & 0xFFFF_0000) | u32::from(tag);
        let h = handle(&mut b, slot);
        assert_error_reply(&b, h, xcbuf::UNKNOWN_COMMAND_TYPE, 0x3260b);
    }
}

#[test]
fn row4_raw_data_shorter_than_16_bytes_is_invalid_request_size() {
    let (mut b, slot) = round_trip();
    let header = MessageHeader { tag: 4, raw_count: 3, ..MessageHeader::default() };
    b.tls[..2].copy_from_slice(&header.encode().unwrap());
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_REQUEST_SIZE, 0x3240b);
}

#[test]
fn row5_cmif_view_shorter_than_the_in_header_is_invalid_header_size() {
    let (mut b, slot) = round_trip();
    deliver(&mut b, &request(Command::GetInfo));
    b.tls[1] = (b.tls[1] & !0x3FF) | 7; // 28 raw bytes: a 12-byte view
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_HEADER_SIZE, 0x1940a);
}

#[test]
fn row6_wrong_sfci_magic_or_version_above_1_is_invalid_in_header() {
    // GetInfo: raw data from word 2 (byte 8), SFCI at byte 16 = word 4.
    for (word, value) in [(4usize, 0x4F43_4653u32), (5, 2)] {
        let (mut b, slot) = round_trip();
        deliver(&mut b, &request(Command::GetInfo));
        assert_eq!(b.tls[4], cmif::IN_HEADER_MAGIC);
        b.tls[word] = value;
        let h = handle(&mut b, slot);
        assert_error_reply(&b, h, xcbuf::INVALID_IN_HEADER, 0x1a60a);
    }
}

#[test]
fn row7_unknown_command_ids_are_unknown_command_id() {
    let (mut b, slot) = round_trip();
    deliver(&mut b, &RequestSpec { command_id: 5, ..RequestSpec::default() });
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::UNKNOWN_COMMAND_ID, 0x1ba0a);
    // Control command 0 (ConvertCurrentObjectToDomain) is not served.
    deliver(&mut b, &RequestSpec { command_type: CommandType::Control, command_id: 0, ..RequestSpec::default() });
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::UNKNOWN_COMMAND_ID, 0x1ba0a);
}

#[test]
fn row8_map_alias_descriptors_are_invalid_cmif_request() {
    let (mut b, slot) = round_trip();
    let a = MapAliasDescriptor::new(0x0850_0000, 0x10, MapAliasAttribute::Ipc).unwrap();
    deliver(&mut b, &RequestSpec { sends: &[a], ..request(Command::GetInfo) });
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_CMIF_REQUEST, 0x3480b);
}

#[test]
fn row8_special_header_is_invalid_cmif_request_and_copy_handles_are_handed_back() {
    let (mut b, slot) = round_trip();
    deliver(&mut b, &RequestSpec { process_id: Some(0), ..request(Command::GetInfo) });
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_CMIF_REQUEST, 0x3480b);
    assert!(h.stray_handles.is_empty());

    deliver(&mut b, &RequestSpec { copy_handles: &[0x1234, 0, 0x5678], ..request(Command::Stats) });
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_CMIF_REQUEST, 0x3480b);
    assert_eq!(h.stray_handles.as_slice(), &[0x1234, 0x5678]);
}

#[test]
fn row8_wrong_x_counts_are_invalid_cmif_request() {
    let nine: Vec<PointerDescriptor> = (0..9).map(|i| x(i, 0x10 * u64::from(i), 1)).collect();
    let cases: [(Command, &[PointerDescriptor], usize); 5] = [
        (Command::Concat, &nine, 1),
        (Command::Concat, &[], 1),
        (Command::Echo, &[], 1),
        (Command::Echo, &nine[..2], 1),
        (Command::GetInfo, &nine[..1], 0),
    ];
    for (command, xs, outs) in cases {
        let (mut b, slot) = round_trip();
        let outs = vec![out(0x10); outs];
        deliver(&mut b, &RequestSpec { in_pointers: xs, out_pointers: &outs, ..request(command) });
        let h = handle(&mut b, slot);
        assert_error_reply(&b, h, xcbuf::INVALID_CMIF_REQUEST, 0x3480b);
    }
}

#[test]
fn row9_raw_data_too_short_for_arguments_or_size_table_is_invalid_cmif_request() {
    let mut at = [0u8; SplitRequest::SIZE];
    SplitRequest { at: 1 }.write_to(&mut at).unwrap();
    let xs = [x(0, 0, 4)];
    let outs = [out(0x10), out(0x10)];
    // Split with its 10 raw words cut to 9: `at` still fits, the size table does not;
    // cut to 8: `at` does not fit the CMIF view.
    for raw_count in [9u32, 8] {
        let (mut b, slot) = round_trip();
        deliver(
            &mut b,
            &RequestSpec { in_pointers: &xs, out_pointers: &outs, payload: &at, ..request(Command::Split) },
        );
        assert_eq!(b.tls[1] & 0x3FF, 10);
        b.tls[1] = (b.tls[1] & !0x3FF) | raw_count;
        let h = handle(&mut b, slot);
        assert_error_reply(&b, h, xcbuf::INVALID_CMIF_REQUEST, 0x3480b);
    }
    // Echo without its size table (8 raw words instead of 9).
    let (mut b, slot) = round_trip();
    deliver(&mut b, &RequestSpec { in_pointers: &xs, out_pointers: &outs[..1], ..request(Command::Echo) });
    b.tls[1] = (b.tls[1] & !0x3FF) | 8;
    let h = handle(&mut b, slot);
    assert_error_reply(&b, h, xcbuf::INVALID_CMIF_REQUEST, 0x3480b);
}

#[test]
fn row10_x_outside_the_pointer_buffer_is_rejected() {
    let cases = [
        PointerDescriptor::new(0, BASE - 0x10, 0x20).unwrap(), // starts below
        x(0, 0x7F0, 0x11),                                     // ends past the top
        PointerDescriptor::new(0, 0x10, 0x10).unwrap(),        // somewhere else entirely
    ];
    for d in cases {
        let (mut b, slot) = round_trip();
        deliver(&mut b, &RequestSpec { in_pointers: &[d], out_pointers: &[out(0x10)], ..request(Command::Echo) });
        let h = handle(&mut b, slot);
        assert_error_reply(&b, h, xcbuf::X_OUTSIDE_POINTER_BUFFER, 0x1bab);
    }
    // The last byte of the buffer is inside.
    let (mut b, slot) = round_trip();
    deliver(
        &mut b,
        &RequestSpec { in_pointers: &[x(0, 0x7F0, 0x10)], out_pointers: &[out(0x10)], ..request(Command::Echo) },
    );
    assert!(handle(&mut b, slot).result.is_success());
}

#[test]
fn request_on_a_slot_that_is_not_open_closes_without_reply() {
    let (mut b, slot) = round_trip();
    deliver(&mut b, &request(Command::Stats));
    let h = handle(&mut b, slot + 1);
    assert_eq!(h.action, Action::CloseSession);
    assert_eq!(h.result, SESSION_NOT_OPEN);
    assert_eq!(Message::parse(&b.tls).unwrap().header().tag, 0, "re-armed receive-only message");
}
