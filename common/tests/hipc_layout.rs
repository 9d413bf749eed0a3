//! The §1.4 layout formulas, and the builder's and parser's checks against the buffer.

use xcbuf_common::hipc::{
    HipcError, MapAliasAttribute, MapAliasDescriptor, Message, MessageBuilder, MessageHeader, MessageLayout,
    MessageSpec, PointerDescriptor, ReceiveListEntry, ReceiveListMode, Slot, SpecialHeader,
};

/// §1.4 with every part present: special header with pid, 2 copy and 1 move handles,
/// 2 X, 1 A, 1 B, 1 W, 3 raw words, indexed receive list of 2 entries.
#[test]
fn layout_formulas_of_section_1_4() {
    let header = MessageHeader {
        pointer_count: 2,
        send_count: 1,
        receive_count: 1,
        exchange_count: 1,
        raw_count: 3,
        receive_list_mode: ReceiveListMode::Index(2),
        has_special_header: true,
        ..Default::default()
    };
    let special = SpecialHeader { send_pid: true, copy_handle_count: 2, move_handle_count: 1 };
    let l = MessageLayout::new(header, Some(special));
    assert_eq!(l.special_header_idx(), Some(2));
    assert_eq!(l.special_data_idx(), 3);
    assert_eq!(l.process_id_idx(), Some(3));
    assert_eq!(l.copy_handle_idx(), 5);
    assert_eq!(l.move_handle_idx(), 7);
    assert_eq!(l.pointer_idx(), 8);
    assert_eq!(l.map_alias_idx(), 12);
    assert_eq!(l.send_idx(), 12);
    assert_eq!(l.receive_idx(), 15);
    assert_eq!(l.exchange_idx(), 18);
    assert_eq!(l.raw_idx(), 21);
    assert_eq!(l.raw_end_idx(), 24);
    assert_eq!(l.recv_list_idx(), 24);
    assert_eq!(l.message_size_bytes(), 4 * 24 + 8 * 2);
}

/// §1.3: without HasSpecialHeader the special header is not read, whatever it says.
#[test]
fn special_header_counts_only_when_flagged() {
    let header = MessageHeader { pointer_count: 1, ..Default::default() };
    let l = MessageLayout::new(header, Some(SpecialHeader { send_pid: true, ..Default::default() }));
    assert_eq!(l.pointer_idx(), 2);
    assert_eq!(l.raw_idx(), 4);
}

/// §1.4: msg size = 4*recv_list_idx + {0/1: 0; 2: 8; n≥3: 8(n−2)}; a non-zero offset
/// places the list.
#[test]
fn message_size_by_receive_list_mode_and_offset() {
    let size = |mode, offset| {
        MessageLayout::new(
            MessageHeader { raw_count: 4, receive_list_mode: mode, receive_list_offset: offset, ..Default::default() },
            None,
        )
        .message_size_bytes()
    };
    assert_eq!(size(ReceiveListMode::None, 0), 24);
    assert_eq!(size(ReceiveListMode::ToMessageBuffer, 0), 24);
    assert_eq!(size(ReceiveListMode::ToSingleBuffer, 0), 32);
    assert_eq!(size(ReceiveListMode::Index(13), 0), 24 + 104);
    assert_eq!(size(ReceiveListMode::ToSingleBuffer, 0x30), 4 * 0x30 + 8);
}

/// §3.2: the whole message, receive list included, must fit the buffer.
#[test]
fn parse_rejects_message_whose_receive_list_ends_past_the_buffer() {
    // 62 raw words: raw ends at word 64 = end of the TLS buffer; mode 2 needs 2 more.
    let mut buf = [0u32; 64];
    buf[1] = 62 | 2 << 10;
    assert_eq!(Message::parse(&buf).unwrap_err(), HipcError::BufferTooSmall { needed_words: 66, available_words: 64 });
    assert_eq!(Message::parse(&buf).unwrap_err().to_string(), "message needs 66 words but the buffer has 64");
    assert_eq!(Message::parse(&buf).unwrap_err().result().raw(), 0xe801);
    buf[1] = 62;
    assert_eq!(Message::parse(&buf).unwrap().raw().len(), 62);
    buf[1] = 63;
    assert!(Message::parse(&buf).is_err());
}

#[test]
fn parse_rejects_buffers_too_short_for_the_header_or_special_header() {
    assert_eq!(Message::parse(&[]).unwrap_err(), HipcError::BufferTooSmall { needed_words: 2, available_words: 0 });
    assert_eq!(Message::parse(&[0]).unwrap_err(), HipcError::BufferTooSmall { needed_words: 2, available_words: 1 });
    assert_eq!(
        Message::parse(&[0, 0x8000_0000]).unwrap_err(),
        HipcError::BufferTooSmall { needed_words: 3, available_words: 2 }
    );
    // Special header declaring a pid: needs words 3–4 too.
    assert_eq!(
        Message::parse(&[0, 0x8000_0000, 1]).unwrap_err(),
        HipcError::BufferTooSmall { needed_words: 5, available_words: 3 }
    );
}

/// §2.3: a non-zero receive-list offset must be ≥ the end of the raw data.
#[test]
fn receive_list_offset_inside_raw_data_is_rejected() {
    let mut buf = [0u32; 64];
    buf[1] = 8 | 2 << 10 | 9 << 20; // raw ends at word 10, list at word 9
    assert_eq!(Message::parse(&buf).unwrap_err(), HipcError::ReceiveListOffsetInsideMessage { offset: 9, raw_end: 10 });
    buf[1] = 8 | 2 << 10 | 10 << 20;
    assert_eq!(Message::parse(&buf).unwrap().layout().recv_list_idx(), 10);
    let header = MessageHeader {
        raw_count: 8,
        receive_list_mode: ReceiveListMode::ToSingleBuffer,
        receive_list_offset: 9,
        ..Default::default()
    };
    assert!(matches!(
        MessageBuilder::new(&mut buf, header, None),
        Err(HipcError::ReceiveListOffsetInsideMessage { .. })
    ));
}

#[test]
fn builder_rejects_a_message_larger_than_the_buffer() {
    let mut buf = [0u32; 10];
    let header = MessageHeader { raw_count: 9, ..Default::default() };
    assert_eq!(
        MessageBuilder::new(&mut buf, header, None).unwrap_err(),
        HipcError::BufferTooSmall { needed_words: 11, available_words: 10 }
    );
}

#[test]
fn builder_rejects_slots_the_header_did_not_declare() {
    let mut buf = [0u32; 64];
    let header = MessageHeader { pointer_count: 1, ..Default::default() };
    let mut b = MessageBuilder::new(&mut buf, header, None).unwrap();
    let x = PointerDescriptor::new(0, 0, 0).unwrap();
    assert!(b.set_pointer_descriptor(0, &x).is_ok());
    assert_eq!(
        b.set_pointer_descriptor(1, &x),
        Err(HipcError::SlotOutOfRange { slot: Slot::Pointer, index: 1, count: 1 })
    );
    assert!(b.set_process_id(1).is_err());
    assert!(b.set_copy_handle(0, 1).is_err());
    assert!(b.set_move_handle(0, 1).is_err());
    let a = MapAliasDescriptor::new(0, 0, MapAliasAttribute::Ipc).unwrap();
    assert!(b.set_send_buffer(0, &a).is_err());
    assert!(b.set_receive_buffer(0, &a).is_err());
    assert!(b.set_exchange_buffer(0, &a).is_err());
    assert!(b.set_receive_list_entry(0, &ReceiveListEntry::default()).is_err());
}

#[test]
fn builder_rejects_has_special_header_without_special_header() {
    let mut buf = [0u32; 64];
    let header = MessageHeader { has_special_header: true, ..Default::default() };
    assert_eq!(MessageBuilder::new(&mut buf, header, None).unwrap_err(), HipcError::SpecialHeaderMismatch);
    assert_eq!(
        MessageBuilder::new(&mut buf, MessageHeader::default(), Some(SpecialHeader::default())).unwrap_err(),
        HipcError::SpecialHeaderMismatch
    );
}

#[test]
fn spec_receive_list_must_match_the_mode() {
    let mut buf = [0u32; 64];
    let spec = MessageSpec { receive_list_mode: ReceiveListMode::Index(2), ..Default::default() };
    assert_eq!(
        MessageBuilder::from_spec(&mut buf, &spec).unwrap_err(),
        HipcError::ReceiveListLengthMismatch { given: 0, expected: 2 }
    );
}

/// The builder zeroes the whole message, so no earlier bytes survive in unused slots.
#[test]
fn builder_clears_stale_words_inside_the_message_only() {
    let mut buf = [0xFFFF_FFFFu32; 16];
    let header = MessageHeader { pointer_count: 1, raw_count: 2, ..Default::default() };
    let b = MessageBuilder::new(&mut buf, header, None).unwrap();
    assert_eq!(b.message_size_bytes(), 24);
    assert_eq!(buf[..6], [0x0001_0000, 2, 0, 0, 0, 0]);
    assert_eq!(buf[6], 0xFFFF_FFFF);
}

#[test]
fn special_data_round_trips_in_kernel_order() {
    let mut buf = [0u32; 64];
    let spec = MessageSpec {
        tag: 4,
        process_id: Some(0x1122_3344_5566_7788),
        copy_handles: &[0x11, 0x22],
        move_handles: &[0x33],
        raw_count: 1,
        ..Default::default()
    };
    let mut b = MessageBuilder::from_spec(&mut buf, &spec).unwrap();
    b.raw_mut()[0] = 0xCAFE;
    assert_eq!(buf[..10], [4, 0x8000_0001, 0x25, 0x5566_7788, 0x1122_3344, 0x11, 0x22, 0x33, 0xCAFE, 0]);
    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.process_id(), Some(0x1122_3344_5566_7788));
    assert_eq!(m.copy_handles(), [0x11, 0x22]);
    assert_eq!(m.move_handles(), [0x33]);
    assert_eq!(m.raw(), [0xCAFE]);
}
