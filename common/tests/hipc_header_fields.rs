//! Header word 0/1 and special header fields (`horizon-ipc.md` §1.2, §1.3).

use xcbuf_common::hipc::{Field, HipcError, MessageHeader, ReceiveListMode, SpecialHeader};

#[test]
fn word0_fields_sit_at_bits_0_16_20_24_28() {
    let cases: [(MessageHeader, u32); 5] = [
        (MessageHeader { tag: 0xFFFF, ..Default::default() }, 0x0000_FFFF),
        (MessageHeader { pointer_count: 15, ..Default::default() }, 0x000F_0000),
        (MessageHeader { send_count: 15, ..Default::default() }, 0x00F0_0000),
        (MessageHeader { receive_count: 15, ..Default::default() }, 0x0F00_0000),
        (MessageHeader { exchange_count: 15, ..Default::default() }, 0xF000_0000),
    ];
    for (h, w0) in cases {
        assert_eq!(h.encode().unwrap(), [w0, 0], "{h:?}");
        assert_eq!(MessageHeader::decode([w0, 0]), h);
    }
}

#[test]
fn word1_fields_sit_at_bits_0_10_20_31() {
    let cases: [(MessageHeader, u32); 4] = [
        (MessageHeader { raw_count: 0x3FF, ..Default::default() }, 0x0000_03FF),
        (MessageHeader { receive_list_mode: ReceiveListMode::Index(13), ..Default::default() }, 0x0000_3C00),
        (MessageHeader { receive_list_offset: 0x7FF, ..Default::default() }, 0x7FF0_0000),
        (MessageHeader { has_special_header: true, ..Default::default() }, 0x8000_0000),
    ];
    for (h, w1) in cases {
        assert_eq!(h.encode().unwrap(), [0, w1], "{h:?}");
        assert_eq!(MessageHeader::decode([0, w1]), h);
    }
}

#[test]
fn counts_past_their_fields_are_rejected() {
    let err = |field, value, max| Err(HipcError::FieldOverflow { field, value, max });
    assert_eq!(MessageHeader { pointer_count: 16, ..Default::default() }.encode(), err(Field::PointerCount, 16, 15));
    assert_eq!(MessageHeader { send_count: 16, ..Default::default() }.encode(), err(Field::SendCount, 16, 15));
    assert_eq!(MessageHeader { receive_count: 16, ..Default::default() }.encode(), err(Field::ReceiveCount, 16, 15));
    assert_eq!(MessageHeader { exchange_count: 16, ..Default::default() }.encode(), err(Field::ExchangeCount, 16, 15));
    assert_eq!(MessageHeader { raw_count: 0x400, ..Default::default() }.encode(), err(Field::RawCount, 0x400, 0x3FF));
    assert_eq!(
        MessageHeader { receive_list_offset: 0x800, ..Default::default() }.encode(),
        err(Field::ReceiveListOffset, 0x800, 0x7FF)
    );
}

/// With several fields too wide, encode reports the first in field order (counts, raw
/// count, offset, then the mode), whether one field or all of them are too wide.
#[test]
fn the_first_field_past_its_width_is_the_one_reported() {
    let err = |field, value, max| Err(HipcError::FieldOverflow { field, value, max });
    let bad_mode = ReceiveListMode::Index(14);
    let all = MessageHeader {
        pointer_count: 16,
        send_count: 17,
        receive_count: 18,
        exchange_count: 19,
        raw_count: 0x400,
        receive_list_offset: 0x800,
        receive_list_mode: bad_mode,
        ..Default::default()
    };
    assert_eq!(all.encode(), err(Field::PointerCount, 16, 15));
    assert_eq!(MessageHeader { pointer_count: 0, ..all }.encode(), err(Field::SendCount, 17, 15));
    let counts_fit = MessageHeader { pointer_count: 15, send_count: 0, receive_count: 1, exchange_count: 2, ..all };
    assert_eq!(counts_fit.encode(), err(Field::RawCount, 0x400, 0x3FF));
    assert_eq!(MessageHeader { raw_count: 0x3FF, ..counts_fit }.encode(), err(Field::ReceiveListOffset, 0x800, 0x7FF));
    let only_mode = MessageHeader { raw_count: 0x3FF, receive_list_offset: 0x7FF, ..counts_fit };
    assert_eq!(only_mode.encode(), Err(HipcError::InvalidReceiveListEntryCount { count: 14 }));
    assert!(MessageHeader { receive_list_mode: ReceiveListMode::Index(13), ..only_mode }.encode().is_ok());
}

/// §1.2: reserved bits 14–19 of word 1 are ignored on decode and written as zero.
#[test]
fn word1_reserved_bits_14_to_19_are_ignored() {
    let h = MessageHeader::decode([0, 0x000F_C000 | 0x0000_080B]);
    assert_eq!(h.encode().unwrap(), [0, 0x0000_080B]);
}

/// §1.2: 0 None, 1 ToMessageBuffer, 2 ToSingleBuffer, n ≥ 3 indexed with n − 2 entries.
#[test]
fn receive_list_mode_raw_encoding() {
    assert_eq!(ReceiveListMode::from_raw(0), ReceiveListMode::None);
    assert_eq!(ReceiveListMode::from_raw(1), ReceiveListMode::ToMessageBuffer);
    assert_eq!(ReceiveListMode::from_raw(2), ReceiveListMode::ToSingleBuffer);
    for raw in 3..=15u32 {
        let m = ReceiveListMode::from_raw(raw);
        assert_eq!(m, ReceiveListMode::Index((raw - 2) as u8));
        assert_eq!(m.raw(), Ok(raw));
        assert_eq!(m.entry_count(), (raw - 2) as usize);
        assert!(m.is_index());
    }
    assert_eq!(ReceiveListMode::None.entry_count(), 0);
    assert_eq!(ReceiveListMode::ToMessageBuffer.entry_count(), 0);
    assert_eq!(ReceiveListMode::ToSingleBuffer.entry_count(), 1);
}

#[test]
fn indexed_mode_allows_1_to_13_entries() {
    assert_eq!(ReceiveListMode::index(1), Ok(ReceiveListMode::Index(1)));
    assert_eq!(ReceiveListMode::index(13), Ok(ReceiveListMode::Index(13)));
    assert_eq!(ReceiveListMode::index(0), Err(HipcError::InvalidReceiveListEntryCount { count: 0 }));
    assert_eq!(ReceiveListMode::index(14), Err(HipcError::InvalidReceiveListEntryCount { count: 14 }));
    assert!(ReceiveListMode::Index(14).raw().is_err());
    assert!(MessageHeader { receive_list_mode: ReceiveListMode::Index(0), ..Default::default() }.encode().is_err());
}

/// §1.3: bit 0 pid, bits 1–4 copy count, bits 5–8 move count.
#[test]
fn special_header_bits() {
    assert_eq!(SpecialHeader { send_pid: true, ..Default::default() }.encode(), Ok(1));
    assert_eq!(SpecialHeader { copy_handle_count: 15, ..Default::default() }.encode(), Ok(0x1E));
    assert_eq!(SpecialHeader { move_handle_count: 15, ..Default::default() }.encode(), Ok(0x1E0));
    assert!(SpecialHeader { copy_handle_count: 16, ..Default::default() }.encode().is_err());
    assert!(SpecialHeader { move_handle_count: 16, ..Default::default() }.encode().is_err());
    let s = SpecialHeader::decode(0xFFFF_FE00 | 0x1FF);
    assert_eq!(s, SpecialHeader { send_pid: true, copy_handle_count: 15, move_handle_count: 15 });
    assert_eq!(s.data_words(), 2 + 15 + 15);
}
