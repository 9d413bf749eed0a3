//! Every field of every descriptor at its bit limits (`horizon-ipc.md` §2).

use xcbuf_common::hipc::{
    Field, HipcError, MapAliasAttribute, MapAliasDescriptor, PointerDescriptor, ReceiveListEntry,
};

const ADDR_MAX: u64 = (1 << 39) - 1;

#[test]
fn x_index_occupies_bits_0_to_3_and_15_is_the_largest() {
    let x = PointerDescriptor::new(15, 0, 0).unwrap();
    assert_eq!(x.encode(), [0x0000_000F, 0]);
    assert_eq!(
        PointerDescriptor::new(16, 0, 0),
        Err(HipcError::FieldOverflow { field: Field::PointerIndex, value: 16, max: 15 })
    );
}

#[test]
fn x_address_bits_32_to_35_go_to_word0_bits_12_to_15() {
    for bit in 32..=35 {
        let x = PointerDescriptor::new(0, 1 << bit, 0).unwrap();
        assert_eq!(x.encode(), [1 << (bit - 32 + 12), 0], "address bit {bit}");
        assert_eq!(PointerDescriptor::decode(x.encode()).address(), 1 << bit);
    }
}

#[test]
fn x_address_bits_36_to_38_go_to_word0_bits_6_to_8() {
    for bit in 36..=38 {
        let x = PointerDescriptor::new(0, 1 << bit, 0).unwrap();
        assert_eq!(x.encode(), [1 << (bit - 36 + 6), 0], "address bit {bit}");
        assert_eq!(PointerDescriptor::decode(x.encode()).address(), 1 << bit);
    }
}

#[test]
fn x_address_is_39_bits() {
    let x = PointerDescriptor::new(0, ADDR_MAX, 0).unwrap();
    assert_eq!(x.encode(), [0x0000_F1C0, 0xFFFF_FFFF]);
    assert_eq!(
        PointerDescriptor::new(0, 1 << 39, 0),
        Err(HipcError::FieldOverflow { field: Field::PointerAddress, value: 1 << 39, max: ADDR_MAX })
    );
}

#[test]
fn x_size_is_16_bits_and_is_rejected_not_truncated() {
    let x = PointerDescriptor::new(0, 0, 0xFFFF).unwrap();
    assert_eq!(x.encode(), [0xFFFF_0000, 0]);
    assert_eq!(x.size(), 0xFFFF);
    assert_eq!(
        PointerDescriptor::new(0, 0, 0x1_0000),
        Err(HipcError::FieldOverflow { field: Field::PointerSize, value: 0x1_0000, max: 0xFFFF })
    );
}

/// §2.1: the kernel reads only bits 0–3 as the index; bits 4–5 and 9–11 are nothing.
#[test]
fn x_decode_ignores_reserved_bits_4_5_and_9_11() {
    let noisy = [0x0040F1C2 | 0b11 << 4 | 0b111 << 9, 0x12345670];
    let x = PointerDescriptor::decode(noisy);
    assert_eq!(x, PointerDescriptor::new(2, 0x7F_1234_5670, 0x40).unwrap());
    assert_eq!(x.encode(), [0x0040F1C2, 0x12345670]);
}

#[test]
fn map_alias_size_is_36_bits_in_word0_and_word2_bits_24_to_27() {
    let a = MapAliasDescriptor::new(0, (1 << 36) - 1, MapAliasAttribute::Ipc).unwrap();
    assert_eq!(a.encode(), [0xFFFF_FFFF, 0, 0x0F00_0000]);
    for bit in 32..=35 {
        let a = MapAliasDescriptor::new(0, 1 << bit, MapAliasAttribute::Ipc).unwrap();
        assert_eq!(a.encode(), [0, 0, 1 << (bit - 32 + 24)], "size bit {bit}");
    }
    assert_eq!(
        MapAliasDescriptor::new(0, 1 << 36, MapAliasAttribute::Ipc),
        Err(HipcError::FieldOverflow { field: Field::MapAliasSize, value: 1 << 36, max: (1 << 36) - 1 })
    );
}

#[test]
fn map_alias_address_bits_32_to_35_in_word2_bits_28_to_31_and_36_to_38_in_bits_2_to_4() {
    for bit in 32..=35 {
        let a = MapAliasDescriptor::new(1 << bit, 0, MapAliasAttribute::Ipc).unwrap();
        assert_eq!(a.encode(), [0, 0, 1 << (bit - 32 + 28)], "address bit {bit}");
    }
    for bit in 36..=38 {
        let a = MapAliasDescriptor::new(1 << bit, 0, MapAliasAttribute::Ipc).unwrap();
        assert_eq!(a.encode(), [0, 0, 1 << (bit - 36 + 2)], "address bit {bit}");
    }
    let a = MapAliasDescriptor::new(ADDR_MAX, 0, MapAliasAttribute::Ipc).unwrap();
    assert_eq!(a.encode(), [0, 0xFFFF_FFFF, 0xF000_001C]);
    assert!(MapAliasDescriptor::new(1 << 39, 0, MapAliasAttribute::Ipc).is_err());
}

/// §2.2: attributes 0, 1, 3 are valid; 2 is invalid (kernel: 0xe801).
#[test]
fn map_alias_attribute_2_is_rejected_and_decodes_as_invalid() {
    for (attr, raw) in
        [(MapAliasAttribute::Ipc, 0), (MapAliasAttribute::NonSecureIpc, 1), (MapAliasAttribute::NonDeviceIpc, 3)]
    {
        let a = MapAliasDescriptor::new(0, 0, attr).unwrap();
        assert_eq!(a.encode(), [0, 0, raw]);
        assert_eq!(MapAliasDescriptor::decode([0, 0, raw]).attribute(), attr);
    }
    assert_eq!(MapAliasDescriptor::new(0, 0, MapAliasAttribute::Invalid), Err(HipcError::InvalidMapAliasAttribute));
    assert_eq!(MapAliasDescriptor::decode([0, 0, 2]).attribute(), MapAliasAttribute::Invalid);
    assert_eq!(HipcError::InvalidMapAliasAttribute.result().raw(), 0xe801, "the kernel's answer to attribute 2");
}

#[test]
fn map_alias_decode_ignores_reserved_bits_5_to_23() {
    let a = MapAliasDescriptor::decode([0x10, 0x12345670, 0xF100001C | 0x00FF_FFE0]);
    assert_eq!(a, MapAliasDescriptor::new(0x7F_1234_5670, 0x1_0000_0010, MapAliasAttribute::Ipc).unwrap());
}

#[test]
fn c_entry_address_bits_32_to_38_in_word1_bits_0_to_6() {
    for bit in 32..=38 {
        let c = ReceiveListEntry::new(1 << bit, 0).unwrap();
        assert_eq!(c.encode(), [0, 1 << (bit - 32)], "address bit {bit}");
        assert_eq!(ReceiveListEntry::decode(c.encode()).address(), 1 << bit);
    }
    assert!(ReceiveListEntry::new(1 << 39, 0).is_err());
}

#[test]
fn c_entry_size_is_16_bits_in_word1_high_half() {
    let c = ReceiveListEntry::new(ADDR_MAX, 0xFFFF).unwrap();
    assert_eq!(c.encode(), [0xFFFF_FFFF, 0xFFFF_007F]);
    assert_eq!(
        ReceiveListEntry::new(0, 0x1_0000),
        Err(HipcError::FieldOverflow { field: Field::ReceiveListSize, value: 0x1_0000, max: 0xFFFF })
    );
}

/// §2.3: bits 7–15 of word 1 are reserved (libnx's address_high:16 covers them).
#[test]
fn c_entry_decode_ignores_reserved_bits_7_to_15() {
    let c = ReceiveListEntry::decode([0x12345670, 0x0100007F | 0xFF80]);
    assert_eq!(c, ReceiveListEntry::new(0x7F_1234_5670, 0x100).unwrap());
}
