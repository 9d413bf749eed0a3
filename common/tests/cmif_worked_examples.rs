//! CMIF worked examples of `horizon-ipc.md` §9 and §5.2 as literal expectations.

use xcbuf_common::cmif::{
    self, CommandType, Incoming, OutPointer, ReplySpec, RequestSpec, build_query_pointer_buffer_size, build_reply,
    build_request, parse_reply, parse_request,
};
use xcbuf_common::hipc::{Message, PointerDescriptor, ReceiveListEntry, ReceiveListMode};
use xcbuf_common::result::{self, ResultCode};

const XA: u64 = 0x7F_1234_5670;
const SX: u64 = 8;
const CB: u64 = 0x7F_0000_1000;
const SC: u64 = 0x100;

fn section9_request(buf: &mut [u32]) -> usize {
    let x = PointerDescriptor::new(0, XA, SX).unwrap();
    let c = OutPointer { entry: ReceiveListEntry::new(CB, SC).unwrap(), has_size_entry: true };
    build_request(
        buf,
        &RequestSpec {
            command_id: 1,
            in_pointers: &[x],
            out_pointers: &[c],
            payload: &[1, 2, 3, 4, 5, 6, 7, 8],
            ..RequestSpec::default()
        },
    )
    .unwrap()
}

/// §9: `[In|HipcPointer, Out|HipcPointer]`, 8-byte input: word0 0x00010004, word1
/// 0x00000C0B, SFCI at words 4–7, payload words 8–9, size entry at byte 56, C entry at
/// words 15–16, 68 bytes in all.
#[test]
fn request_layout_of_section_9() {
    let mut buf = [0xAAAA_AAAAu32; 64];
    let size = section9_request(&mut buf);
    assert_eq!(size, 68);
    assert_eq!(buf[0], 0x00010004);
    assert_eq!(buf[1], 0x00000C0B);
    assert_eq!(buf[2..4], PointerDescriptor::new(0, XA, SX).unwrap().encode());
    assert_eq!(buf[4..8], [0x49434653, 0, 1, 0]);
    assert_eq!(buf[8..10], [0x04030201, 0x08070605]);
    // Byte 56 = word 14, low half: Sc; high half is padding (zero).
    assert_eq!(buf[14], SC as u32);
    assert_eq!(buf[15..17], [0x0000_1000, 0x0100_007F]);
    // Nothing past the message was touched.
    assert_eq!(buf[17], 0xAAAA_AAAA);
}

/// §9 server side: SFCI found at word 4, payload after it, the size table at byte 56
/// given an 8-byte in-data size and one entry.
#[test]
fn server_finds_header_payload_and_size_table_of_section_9() {
    let mut buf = [0u32; 64];
    section9_request(&mut buf);
    let Incoming::Request(req) = parse_request(&buf).unwrap() else { panic!("not a request") };
    assert_eq!(req.command_type(), CommandType::Request);
    assert_eq!(req.command_id(), 1);
    assert_eq!(req.payload_u32(0).unwrap(), 0x04030201);
    assert_eq!(req.payload_u32(4).unwrap(), 0x08070605);
    let table = req.size_table(8, 1).unwrap();
    assert_eq!(table.byte_offset(), 56);
    assert_eq!(table.get(0), Some(SC as u16));
    assert_eq!(table.get(1), None);
    // The 11 raw words end at byte 60: room for two entries, not three.
    assert!(req.size_table(8, 2).is_ok());
    assert!(req.size_table(8, 3).is_err());
    let x: Vec<_> = req.message().pointer_descriptors().collect();
    assert_eq!(x, [PointerDescriptor::new(0, XA, SX).unwrap()]);
    assert_eq!(req.message().header().receive_list_mode, ReceiveListMode::Index(1));
}

/// §5.2: QueryPointerBufferSize request words: word0 = 5, word1 = 8, SFCI at words 4–7
/// = 0x49434653, 0, 3, 0.
#[test]
fn query_pointer_buffer_size_request_words_section_5_2() {
    let mut buf = [0u32; 64];
    let size = build_query_pointer_buffer_size(&mut buf).unwrap();
    assert_eq!(size, 40);
    assert_eq!(buf[0], 5);
    assert_eq!(buf[1], 8);
    assert_eq!(buf[4..8], [0x49434653, 0, 3, 0]);
    let Incoming::Request(req) = parse_request(&buf).unwrap() else { panic!("not a request") };
    assert_eq!(req.command_type(), CommandType::Control);
    assert_eq!(req.command_id(), cmif::control::QUERY_POINTER_BUFFER_SIZE);
}

/// §5.2: the reply is type 0 with 9 data words, SFCO at word 4 and the u16 at word 8.
#[test]
fn query_pointer_buffer_size_reply_layout_section_5_2() {
    let mut buf = [0u32; 64];
    let size = build_reply(&mut buf, &ReplySpec { payload: &0x800u16.to_le_bytes(), ..ReplySpec::default() }).unwrap();
    assert_eq!(size, 4 * (2 + 9));
    assert_eq!(buf[0], 0);
    assert_eq!(buf[1], 9);
    assert_eq!(buf[4..8], [0x4F434653, 0, 0, 0]);
    assert_eq!(buf[8], 0x800);
    let reply = parse_reply(&buf).unwrap();
    assert!(reply.result().is_success());
    assert_eq!(reply.payload_u16(0).unwrap(), 0x800);
}

/// §9 reply: type 0, one X `{head, Sc, 0}` plus raw SFCO; with one X the raw data starts
/// at word 4, already 16-byte aligned.
#[test]
fn reply_with_one_x_puts_sfco_at_word_4() {
    let head = 0x7F_0000_8F00u64;
    let x = PointerDescriptor::new(0, head, SC).unwrap();
    let mut buf = [0u32; 64];
    build_reply(&mut buf, &ReplySpec { out_pointers: &[x], payload: &16u32.to_le_bytes(), ..ReplySpec::default() })
        .unwrap();
    assert_eq!(buf[0], 0x0001_0000);
    assert_eq!(buf[2..4], x.encode());
    assert_eq!(buf[4], 0x4F434653);
    assert_eq!(buf[8], 16);
    let reply = parse_reply(&buf).unwrap();
    assert_eq!(reply.message().pointer_descriptor(0), Some(x));
    assert_eq!(reply.payload_u32(0).unwrap(), 16);
}

/// §6.3: with 2 X descriptors the raw data starts at word 6 (byte 24); the header moves
/// to AlignUp(24, 16) = byte 32 (word 8), inside the 16-byte padding budget.
#[test]
fn cmif_header_is_16_byte_aligned_relative_to_message_start() {
    let x = PointerDescriptor::new(0, 0x1000, 4).unwrap();
    let y = PointerDescriptor::new(1, 0x2000, 4).unwrap();
    let mut buf = [0u32; 64];
    build_request(&mut buf, &RequestSpec { command_id: 2, in_pointers: &[x, y], ..RequestSpec::default() }).unwrap();
    assert_eq!(buf[1] & 0x3FF, 8); // ceil(32 / 4)
    assert_eq!(buf[6..8], [0, 0]);
    assert_eq!(buf[8..12], [0x49434653, 0, 2, 0]);
    let Incoming::Request(req) = parse_request(&buf).unwrap() else { panic!() };
    assert_eq!(req.command_id(), 2);
    // View = raw bytes − 16 = 16 bytes: the header only, no payload.
    assert_eq!(req.payload_len(), 0);
}

/// §6.3: error replies carry the headers only, no X.
#[test]
fn error_reply_has_headers_only() {
    let mut buf = [0u32; 64];
    let rc = result::xcbuf::BAD_SPLIT_POINT;
    let size = build_reply(&mut buf, &ReplySpec::error(rc)).unwrap();
    assert_eq!(size, 4 * (2 + 8));
    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.header().pointer_count, 0);
    let reply = parse_reply(&buf).unwrap();
    assert_eq!(reply.result(), rc);
    assert_eq!(buf[6], rc.raw());
}

/// §6.1: Close is type 2 with nothing else; the server sees it as Close.
#[test]
fn close_is_type_2_with_no_payload() {
    let mut buf = [0xFFFF_FFFFu32; 64];
    assert_eq!(cmif::build_close(&mut buf).unwrap(), 8);
    assert_eq!(buf[..2], [2, 0]);
    assert!(matches!(parse_request(&buf).unwrap(), Incoming::Close(_)));
}

/// STR-SSM: any other type is UnknownCommandType 0x3260b; raw data under 0x10 bytes is
/// InvalidRequestSize 0x3240b; a bad magic is InvalidInHeader 0x1a60a.
#[test]
fn server_rejects_bad_type_short_raw_and_bad_magic() {
    let mut buf = [0u32; 64];
    buf[0] = 1; // LegacyRequest
    assert_eq!(parse_request(&buf).unwrap_err().result(), ResultCode::from_raw(0x3260b));
    buf[0] = 4;
    buf[1] = 3; // 12 raw bytes
    assert_eq!(parse_request(&buf).unwrap_err().result(), ResultCode::from_raw(0x3240b));
    buf[1] = 5; // 20 raw bytes: view of 4 bytes
    assert_eq!(parse_request(&buf).unwrap_err().result(), ResultCode::from_raw(0x1940a));
    buf[1] = 8;
    buf[4] = 0x49434654;
    assert_eq!(parse_request(&buf).unwrap_err().result(), ResultCode::from_raw(0x1a60a));
    buf[4] = 0x49434653;
    buf[5] = 2; // version 2
    assert_eq!(parse_request(&buf).unwrap_err().result(), ResultCode::from_raw(0x1a60a));
    buf[5] = 1;
    assert!(parse_request(&buf).is_ok());
    // Raw data running past the buffer: InvalidRequestSize.
    buf[1] = 63;
    assert_eq!(parse_request(&buf).unwrap_err().result(), ResultCode::from_raw(0x3240b));
}
