//! The worked examples of `horizon-ipc.md` §2 and §5.1 as literal expectations.

use xcbuf_common::hipc::{
    MapAliasAttribute, MapAliasDescriptor, Message, MessageBuilder, MessageHeader, MessageSpec, PointerDescriptor,
    ReceiveListEntry, ReceiveListMode,
};

#[test]
fn x_descriptor_worked_example_section_2_1() {
    let x = PointerDescriptor::new(2, 0x7F_1234_5670, 0x40).unwrap();
    assert_eq!(x.encode(), [0x0040F1C2, 0x12345670]);
    assert_eq!(PointerDescriptor::decode([0x0040F1C2, 0x12345670]), x);
}

#[test]
fn a_descriptor_worked_example_section_2_2() {
    let a = MapAliasDescriptor::new(0x7F_1234_5670, 0x1_0000_0010, MapAliasAttribute::Ipc).unwrap();
    assert_eq!(a.encode(), [0x00000010, 0x12345670, 0xF100001C]);
    assert_eq!(MapAliasDescriptor::decode([0x00000010, 0x12345670, 0xF100001C]), a);
}

#[test]
fn c_entry_worked_example_section_2_3() {
    let c = ReceiveListEntry::new(0x7F_1234_5670, 0x100).unwrap();
    assert_eq!(c.encode(), [0x12345670, 0x0100007F]);
    assert_eq!(ReceiveListEntry::decode([0x12345670, 0x0100007F]), c);
}

/// §5.1: libstratosphere's pre-receive words `0, 0x800, P_lo, P_hi|N<<16`; the receive
/// list sits at word 2 (raw_idx 2, RawCount 0).
#[test]
fn pre_receive_single_buffer_words_section_5_1() {
    let p: u64 = 0x7F_1234_5670;
    let n: u64 = 0x800;
    let mut buf = [0xDEAD_BEEFu32; 64];
    let entry = ReceiveListEntry::new(p, n).unwrap();
    let b = MessageBuilder::from_spec(
        &mut buf,
        &MessageSpec {
            tag: 0,
            receive_list_mode: ReceiveListMode::ToSingleBuffer,
            receive_list: &[entry],
            ..MessageSpec::default()
        },
    )
    .unwrap();
    assert_eq!(b.message_size_bytes(), 16);
    assert_eq!(buf[..4], [0, 0x800, 0x12345670, 0x7F | (0x800 << 16)]);
    // Words after the message are untouched.
    assert_eq!(buf[4], 0xDEAD_BEEF);

    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.layout().recv_list_idx(), 2);
    assert_eq!(m.receive_list().collect::<Vec<_>>(), [entry]);
    assert_eq!(
        m.header(),
        MessageHeader { receive_list_mode: ReceiveListMode::ToSingleBuffer, ..MessageHeader::default() }
    );
}
