//! The client's request builder and reply parser (horizon-ipc.md §6.3, §9, §5.2).

use xcbuf_common::client::{self, Buffer, Call, ClientError};
use xcbuf_common::cmif::{self, ReplySpec};
use xcbuf_common::hipc::{Message, PointerDescriptor, ReceiveListMode};
use xcbuf_common::result::{ResultCode, hipc, xcbuf};
use xcbuf_common::xcbuf::{Command, EchoResponse, RawData};

#[test]
fn echo_request_has_the_libnx_layout() {
    let mut m = [0u32; 64];
    let size = client::build_echo(&mut m, Buffer::new(0x7F_1234_5670, 0x40), Buffer::new(0x0850_0000, 0x100)).unwrap();
    // 1 X, type 4; raw = ceil((16 + 16 + 0 + 2) / 4) = 9 words, mode 3 (one C entry).
    assert_eq!(m[0], 0x0001_0004);
    assert_eq!(m[1], 0x0000_0C09);
    // X as in the §2.1 worked example, index 0.
    assert_eq!(&m[2..4], &[0x0040_F1C0, 0x1234_5670]);
    // Raw data from word 4: SFCI at word 4, command 1; size table at byte 16 + 32 =
    // word 12, low half.
    assert_eq!(&m[4..8], &[0x4943_4653, 0, 1, 0]);
    assert_eq!(m[12] & 0xFFFF, 0x100);
    // C entry after the raw data (word 2 + 2 + 9 = 13).
    assert_eq!(&m[13..15], &[0x0850_0000, 0x0100_0000]);
    assert_eq!(size, 15 * 4);
}

#[test]
fn split_request_carries_at_and_two_size_entries() {
    let mut m = [0u32; 64];
    client::build_split(&mut m, Buffer::new(0x1000, 0x30), 0x11, Buffer::new(0x2000, 0x10), Buffer::new(0x3000, 0x20))
        .unwrap();
    // raw = (16 + 16 + 4) + 2*2 = 40 bytes = 10 words; mode 2 + 2 = 4.
    assert_eq!(m[1], 10 | 4 << 10);
    assert_eq!(m[8], 0x11, "at follows SFCI (words 4-7)");
    assert_eq!(m[13], 0x0020_0010, "size table at byte 16 + 36 = word 13");
}

#[test]
fn a_size_above_16_bits_is_rejected_not_truncated() {
    let mut m = [0u32; 64];
    let err = client::build_echo(&mut m, Buffer::new(0x1000, 0x1_0000), Buffer::new(0x2000, 0x10)).unwrap_err();
    assert!(matches!(err, ClientError::Build(_)), "{err:?}");
    let err = client::build_echo(&mut m, Buffer::new(0x1000, 0x10), Buffer::new(0x2000, 0x1_0010)).unwrap_err();
    assert!(matches!(err, ClientError::Build(_)), "{err:?}");
}

#[test]
fn a_single_mode_receive_list_can_be_asked_for() {
    let mut m = [0u32; 64];
    let call = Call {
        inputs: &[Buffer::new(0x1000, 8)],
        outputs: &[Buffer::new(0x2000, 0x40)],
        receive_list_mode: Some(ReceiveListMode::ToSingleBuffer),
        ..Call::new(Command::Echo)
    };
    client::build_request(&mut m, &call).unwrap();
    assert_eq!(Message::parse(&m).unwrap().header().receive_list_mode, ReceiveListMode::ToSingleBuffer);
}

#[test]
fn reply_parser_returns_out_data_and_received_sizes_by_index() {
    let mut m = [0u32; 64];
    let mut data = [0u8; 4];
    EchoResponse { bytes_written: 0x20 }.write_to(&mut data).unwrap();
    // As the client sees it after the kernel: X rewritten to {C address, size, index}.
    let xs = [PointerDescriptor::new(1, 0x3000, 0x7).unwrap(), PointerDescriptor::new(0, 0x2000, 0x20).unwrap()];
    cmif::build_reply(&mut m, &ReplySpec { out_pointers: &xs, payload: &data, ..ReplySpec::default() }).unwrap();
    let reply = client::parse_reply(&m).unwrap();
    assert_eq!(reply.read::<EchoResponse>().unwrap().bytes_written, 0x20);
    assert_eq!(reply.received(0), Some(0x20));
    assert_eq!(reply.received(1), Some(0x7));
    assert_eq!(reply.received(2), None);
    assert_eq!(reply.pointers()[1].address(), 0x2000);
}

#[test]
fn reply_parser_reports_the_service_result() {
    let mut m = [0u32; 64];
    cmif::build_reply(&mut m, &ReplySpec::error(hipc::POINTER_BUFFER_TOO_SMALL)).unwrap();
    let err = client::parse_reply(&m).unwrap_err();
    assert_eq!(err, ClientError::Service(ResultCode::from_raw(0x11a0b)));
    assert_eq!(err.result().raw(), 0x11a0b);
}

#[test]
fn reply_with_a_bad_sfco_magic_is_malformed() {
    let mut m = [0u32; 64];
    cmif::build_reply(&mut m, &ReplySpec::default()).unwrap();
    // raw from word 2; SFCO at byte 16 = word 4.
    assert_eq!(m[4], cmif::OUT_HEADER_MAGIC);
    m[4] = cmif::IN_HEADER_MAGIC;
    let err = client::parse_reply(&m).unwrap_err();
    assert!(matches!(err, ClientError::MalformedReply(_)), "{err:?}");
    assert_eq!(err.result(), xcbuf::UNEXPECTED_REPLY);
}

#[test]
fn reply_shorter_than_the_response_is_short_reply() {
    let mut m = [0u32; 64];
    cmif::build_reply(&mut m, &ReplySpec { payload: &[1, 2], ..ReplySpec::default() }).unwrap();
    let reply = client::parse_reply(&m).unwrap();
    // 2 bytes of payload, padded to 4 by the reply layout: a u32 reads, 16 bytes do not.
    let err = reply.read::<xcbuf_common::xcbuf::GetInfoResponse>().unwrap_err();
    assert!(matches!(err, ClientError::ShortReply { needed: 16, .. }), "{err:?}");
}

#[test]
fn query_pointer_buffer_size_request_matches_section_5_2() {
    let mut m = [0u32; 64];
    client::build_query_pointer_buffer_size(&mut m).unwrap();
    assert_eq!(&m[..2], &[5, 8]);
    assert_eq!(&m[4..8], &[0x4943_4653, 0, 3, 0]);
}
