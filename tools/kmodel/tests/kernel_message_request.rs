//! Request path (`receive_message`, `horizon-ipc.md` §3): GetBuffer in every mode,
//! size checks, the broken-list rule and the memory checks, with the docs' numbers.

mod model_support;

use model_support::*;
use xcbuf_common::hipc::{MapAliasAttribute, MessageHeader, ReceiveListMode};
use xcbuf_kmodel::message::{
    FailedStep, MAP_ALIAS_NOT_SUPPORTED, MessageBuffer, ServerOutcome, Side, UserAccess, receive_message,
};

/// Client request: tag 4, the given X descriptors, `raw` raw words, mode 0.
fn request_with_x(bench: &mut Bench, xs: &[[u32; 2]], raw: &[u32]) -> Vec<u32> {
    let h = header(hdr(4, xs.len() as u8, raw.len() as u16, ReceiveListMode::None));
    let xs: Vec<u32> = xs.iter().flatten().copied().collect();
    let words = cat(&[&h, &xs, raw]);
    bench.client_message(&words);
    words
}

#[test]
fn single_mode_packs_at_16_byte_alignment() {
    // §3.3: entry 0x1008/0x100; X sizes 0x13, 0x20, 0xB8 land at 0x1010, 0x1030, 0x1050.
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let sizes = [0x13u64, 0x20, 0xB8];
    let srcs = [CLIENT_DATA, CLIENT_DATA + 0x100, CLIENT_DATA + 0x200];
    for (i, (&src, &size)) in srcs.iter().zip(&sizes).enumerate() {
        b.mem.put(Side::Client, src, &pattern(0x10 * i as u8 + 3, size as usize));
    }
    let sent = request_with_x(
        &mut b,
        &[x(0, srcs[0], sizes[0]), x(1, srcs[1], sizes[1]), x(2, srcs[2], sizes[2])],
        &[0xAAAA_0001, 0xAAAA_0002],
    );

    let report = b.receive().expect("request fits");

    let got = b.server_words(10);
    assert_eq!(&got[0..2], &sent[0..2], "header words copied verbatim");
    assert_eq!(x_at(&got, 2), (0x1010, 0x13, 0));
    assert_eq!(x_at(&got, 4), (0x1030, 0x20, 1));
    assert_eq!(x_at(&got, 6), (0x1050, 0xB8, 2));
    assert_eq!(&got[8..10], &[0xAAAA_0001, 0xAAAA_0002], "raw data copied");
    for (i, (&dst, &size)) in [0x1010u64, 0x1030, 0x1050].iter().zip(&sizes).enumerate() {
        assert_eq!(b.mem.get(Side::Server, dst, size as usize), pattern(0x10 * i as u8 + 3, size as usize));
    }
    assert_eq!(report.pointer_count, 3);
    assert_eq!(report.pointer_bytes, 0x13 + 0x20 + 0xB8);
    assert_eq!(report.raw_bytes, 8);
    assert_eq!(report.header_bytes, 8);
}

#[test]
fn single_mode_overflow_by_one_byte_is_out_of_resource_and_breaks_a_list_at_word_2() {
    // §3.3: "If the third were 0xB9, it would fail with 0xce01." libstratosphere's list sits
    // at word 2, under the client's X descriptors: the server sees 0x20401 (§3.4).
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x13), x(1, CLIENT_DATA, 0x20), x(2, CLIENT_DATA, 0xB9)], &[]);
    let f = b.receive().expect_err("0xB9 does not fit");
    assert_eq!(f.client_result.raw(), 0xce01);
    assert_eq!(f.server_sees, ServerOutcome::ReceiveListBroken);
    assert_eq!(f.server_sees.result().raw(), 0x20401);
    assert_eq!(f.step, FailedStep::Pointer { descriptor: 2 });
}

#[test]
fn mode_none_refuses_non_empty_x() {
    let mut b = Bench::new();
    b.server_message(&[0, 0]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 1)], &[]);
    let f = b.receive().expect_err("mode 0 has no buffer");
    assert_eq!(f.client_result.raw(), 0xce01);
}

#[test]
fn mode_none_accepts_zero_size_x() {
    let mut b = Bench::new();
    b.server_message(&[0, 0]);
    request_with_x(&mut b, &[x(3, CLIENT_DATA, 0)], &[7]);
    b.receive().expect("zero-size X needs no buffer");
    let got = b.server_words(5);
    assert_eq!(x_at(&got, 2), (0, 0, 3));
    assert_eq!(got[4], 7);
}

#[test]
fn to_message_buffer_mode_places_x_after_the_copied_message() {
    // Mode 1: the client message ends at word 2 + 2 + 3 = 7 (byte 0x1C), so the X lands at
    // AlignUp(SERVER_TLS + 0x1C, 16) = SERVER_TLS + 0x20, inside the server's own buffer.
    let mut b = Bench::new();
    b.server_message(&[0, 0x0000_0400]);
    b.mem.put(Side::Client, CLIENT_DATA, &pattern(9, 0x10));
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x10)], &[1, 2, 3]);
    let report = b.receive().expect("fits the message buffer");
    let got = b.server_words(7);
    assert_eq!(x_at(&got, 2), (SERVER_TLS + 0x20, 0x10, 0));
    assert_eq!(&got[4..7], &[1, 2, 3]);
    assert_eq!(b.mem.get(Side::Server, SERVER_TLS + 0x20, 0x10), pattern(9, 0x10));
    assert_eq!(report.pointers[0].destination, SERVER_TLS + 0x20);
}

#[test]
fn to_message_buffer_mode_fills_exactly_to_the_buffer_end() {
    // From SERVER_TLS + 0x20, 0xE0 bytes end exactly at the 0x100 buffer end; 0xE1 do not.
    let mut b = Bench::new();
    b.server_message(&[0, 0x0000_0400]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0xE0)], &[1, 2, 3]);
    b.receive().expect("exact fit is allowed");

    b.server_message(&[0, 0x0000_0400]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0xE1)], &[1, 2, 3]);
    assert_eq!(b.receive().expect_err("one byte too many").client_result.raw(), 0xce01);
}

/// Server armed in index mode with `entries`, the list at word 2.
fn arm_index(b: &mut Bench, entries: &[[u32; 2]]) {
    let h = header(MessageHeader {
        receive_list_mode: ReceiveListMode::index(entries.len() as u8).expect("1..=13"),
        ..MessageHeader::default()
    });
    let list: Vec<u32> = entries.iter().flatten().copied().collect();
    b.server_message(&cat(&[&h, &list]));
}

#[test]
fn index_mode_puts_each_x_in_the_entry_its_index_selects() {
    // Mode 4 (two entries). C[1] is misaligned and lies below C[0]: no alignment, by index.
    let mut b = Bench::new();
    arm_index(&mut b, &[entry(0x1100, 0x40), entry(0x1008, 0x20)]);
    b.mem.put(Side::Client, CLIENT_DATA, &pattern(1, 0x20));
    b.mem.put(Side::Client, CLIENT_DATA + 0x40, &pattern(2, 0x10));
    request_with_x(&mut b, &[x(1, CLIENT_DATA, 0x20), x(0, CLIENT_DATA + 0x40, 0x10)], &[]);
    b.receive().expect("both entries are large enough");
    let got = b.server_words(6);
    assert_eq!(x_at(&got, 2), (0x1008, 0x20, 1));
    assert_eq!(x_at(&got, 4), (0x1100, 0x10, 0));
    assert_eq!(b.mem.get(Side::Server, 0x1008, 0x20), pattern(1, 0x20));
    assert_eq!(b.mem.get(Side::Server, 0x1100, 0x10), pattern(2, 0x10));
}

#[test]
fn index_past_last_entry_is_out_of_resource() {
    let mut b = Bench::new();
    arm_index(&mut b, &[entry(0x1100, 0x40), entry(0x1008, 0x20)]);
    request_with_x(&mut b, &[x(2, CLIENT_DATA, 1)], &[]);
    let f = b.receive().expect_err("key 2 is not < 4 - 2");
    assert_eq!(f.client_result.raw(), 0xce01);
}

#[test]
fn index_mode_entry_too_small_is_out_of_resource() {
    let mut b = Bench::new();
    arm_index(&mut b, &[entry(0x1100, 0x20)]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x21)], &[]);
    assert_eq!(b.receive().expect_err("0x21 > 0x20").client_result.raw(), 0xce01);

    arm_index(&mut b, &[entry(0x1100, 0x20)]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x20)], &[]);
    b.receive().expect("exact fit is allowed");
}

#[test]
fn index_mode_empty_entry_is_out_of_resource() {
    let mut b = Bench::new();
    arm_index(&mut b, &[entry(0x1100, 0)]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 1)], &[]);
    assert_eq!(b.receive().expect_err("empty entry").client_result.raw(), 0xce01);
}

#[test]
fn index_mode_entry_at_address_zero_is_out_of_resource() {
    let mut b = Bench::new();
    arm_index(&mut b, &[entry(0, 0x100)]);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 1)], &[]);
    assert_eq!(b.receive().expect_err("recv == 0").client_result.raw(), 0xce01);
}

#[test]
fn zero_size_x_is_rewritten_null_and_consumes_no_list_space() {
    // §3.3: the zero-size X (non-null address) gets {0, 0, idx}; the next X still lands
    // where it would without it.
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x13), x(1, CLIENT_DATA + 0x80, 0), x(2, CLIENT_DATA, 0x20)], &[]);
    let report = b.receive().expect("fits");
    let got = b.server_words(8);
    assert_eq!(x_at(&got, 2), (0x1010, 0x13, 0));
    assert_eq!(x_at(&got, 4), (0, 0, 1));
    assert_eq!(x_at(&got, 6), (0x1030, 0x20, 2));
    assert_eq!(report.pointer_count, 3);
    assert_eq!(report.pointer_bytes, 0x33);
}

#[test]
fn zero_size_x_with_an_index_past_the_list_passes() {
    let mut b = Bench::new();
    arm_index(&mut b, &[entry(0x1100, 0x40)]);
    request_with_x(&mut b, &[x(9, 0, 0)], &[]);
    b.receive().expect("nothing to place");
    assert_eq!(x_at(&b.server_words(4), 2), (0, 0, 9));
}

#[test]
fn null_address_with_non_zero_size_is_invalid_current_memory() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    request_with_x(&mut b, &[x(0, 0, 0x10)], &[]);
    let f = b.receive().expect_err("null source");
    assert_eq!(f.client_result.raw(), 0xd401);
    assert_eq!(f.step, FailedStep::Pointer { descriptor: 0 });
}

#[test]
fn x_source_not_user_readable_is_invalid_current_memory() {
    let mut b = Bench::new();
    b.mem.map(Side::Client, 0x0005_0000, 0x1000, None);
    b.arm_single(0x1008, 0x100);
    request_with_x(&mut b, &[x(0, 0x0005_0000, 0x10)], &[]);
    assert_eq!(b.receive().expect_err("kernel-only source").client_result.raw(), 0xd401);
}

#[test]
fn x_source_running_off_its_mapping_is_invalid_current_memory() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    request_with_x(&mut b, &[x(0, CLIENT_DATA + 0xFF8, 0x10)], &[]);
    assert_eq!(b.receive().expect_err("8 bytes unmapped").client_result.raw(), 0xd401);
}

#[test]
fn pointer_buffer_not_user_writable_is_invalid_current_memory() {
    let mut b = Bench::new();
    b.mem.map(Side::Server, 0x0006_0000, 0x1000, Some(UserAccess::Read));
    b.arm_single(0x0006_0000, 0x100);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x10)], &[]);
    assert_eq!(b.receive().expect_err("read-only destination").client_result.raw(), 0xd401);
}

#[test]
fn list_at_high_offset_is_not_broken_so_server_sees_not_found_and_its_header_is_restored() {
    // Server list at ReceiveListOffset 0x30 (mode 2): word1 = 0x800 | 0x30 << 20.
    let mut b = Bench::new();
    let server = cat(&[&[0, 0x0300_0800], &[0xEEEE_EEEE; 0x2E], &entry(0x1008, 0x100)]);
    b.server_message(&server);
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x101)], &[5, 6]);
    let f = b.receive().expect_err("0x101 > 0x100");
    assert_eq!(f.client_result.raw(), 0xce01);
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
    assert_eq!(f.server_sees.result().raw(), 0xf201);
    let got = b.server_words(0x32);
    assert_eq!(&got[0..2], &[0, 0x0300_0800], "header words restored");
    assert_eq!(&got[0x30..0x32], &entry(0x1008, 0x100), "receive list intact");
}

#[test]
fn list_at_word_2_overwritten_reports_receive_list_broken_and_keeps_the_client_header() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let sent = request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x101)], &[]);
    let f = b.receive().expect_err("0x101 > 0x100");
    assert_eq!(f.server_sees, ServerOutcome::ReceiveListBroken);
    assert_eq!(&b.server_words(2)[..], &sent[0..2], "header not restored");
}

#[test]
fn special_data_running_past_the_list_breaks_it() {
    // Server list at offset 6. The client's special data (header, pid, 2 copy handles)
    // fills words 2–6, so offset 7 > 6 (§3.4); its X then fails: broken, not NotFound.
    let mut b = Bench::new();
    b.server_message(&cat(&[&[0, 0x0060_0800], &[0; 4], &entry(0x1008, 0x100)]));
    let h = header(MessageHeader { pointer_count: 1, has_special_header: true, ..MessageHeader::default() });
    let client = cat(&[&h, &[special(true, 2, 0)], &[0, 0], &[0, 0], &x(0, 0, 0x10)]);
    b.client_message(&client);
    let f = b.receive().expect_err("null X");
    assert_eq!(f.client_result.raw(), 0xd401);
    assert_eq!(f.server_sees, ServerOutcome::ReceiveListBroken);
}

#[test]
fn failure_just_before_the_list_is_not_broken() {
    // Server list at offset 4; the client's X occupies words 2–3 and fails: offset 4 is
    // not past index 4, so the list is intact.
    let mut b = Bench::new();
    b.server_message(&cat(&[&[0, 0x0040_0800], &[0; 2], &entry(0x1008, 0x100)]));
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x101)], &[]);
    let f = b.receive().expect_err("too big");
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
    assert_eq!(&b.server_words(2)[..], &[0, 0x0040_0800]);
}

#[test]
fn message_too_large_when_the_client_raw_end_passes_the_server_buffer() {
    // The client's ReceiveListOffset 3 makes GetMessageBufferSize 12 bytes (fits), but its
    // raw data ends at word 2 + 1023: 4 * 1025 > 0x100 gives MessageTooLarge 0x20801.
    // The codec would refuse this message; the kernel checks it this way.
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    b.client_message(&[4, 0x3FF | 3 << 20]);
    let f = b.receive().expect_err("raw end 1025 words");
    assert_eq!(f.client_result.raw(), 0x20801);
    assert_eq!(f.step, FailedStep::SizeCheck);
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
    assert_eq!(&b.server_words(4)[..], &[0, 0x800, 0x1008, 0x0100_0000], "nothing written");
}

#[test]
fn message_too_large_for_a_small_user_buffer() {
    // Server user buffer of 0x40 bytes (16 words): 14 raw words end at word 16 (fits),
    // 15 end at word 17 (0x44 > 0x40).
    let mut b = Bench::new();
    b.mem.map(Side::Server, 0x0007_0000, 0x1000, Some(UserAccess::ReadWrite));
    let dst = MessageBuffer::user(0x0007_0000, 0x40);
    b.mem.put_words(Side::Server, 0x0007_0000, &[0, 0x800, 0x1008, 0x0100_0000]);
    request_with_x(&mut b, &[], &[0x11; 14]);
    receive_message(&mut b.mem, &mut b.handles, dst, client_tls()).expect("16 words fit");

    b.mem.put_words(Side::Server, 0x0007_0000, &[0, 0x800, 0x1008, 0x0100_0000]);
    request_with_x(&mut b, &[], &[0x11; 15]);
    let f = receive_message(&mut b.mem, &mut b.handles, dst, client_tls()).expect_err("17 words");
    assert_eq!(f.client_result.raw(), 0x20801);
}

#[test]
fn destination_not_fitting_its_buffer_is_checked_before_message_too_large() {
    // Server header claims 1023 raw words: its own message does not fit 0x100 (0xe801),
    // which comes before the client's MessageTooLarge.
    let mut b = Bench::new();
    b.server_message(&[0, 0x3FF]);
    b.client_message(&[4, 0x3FF | 3 << 20]);
    let f = b.receive().expect_err("server header too large");
    assert_eq!(f.client_result.raw(), 0xe801);
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
}

#[test]
fn source_not_fitting_its_buffer_is_invalid_combination() {
    // Client: mode 15 (13 C entries = 104 bytes) after 0x30 raw words: 4*0x32 + 104 > 0x100.
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    b.client_message(&[4, 0x30 | 15 << 10]);
    assert_eq!(b.receive().expect_err("client too large").client_result.raw(), 0xe801);
}

#[test]
fn receive_list_offset_inside_server_raw_data_is_invalid_combination() {
    // Server: 4 raw words (raw end = word 6) but ReceiveListOffset 3. The codec's builder
    // refuses this header; the kernel answers 0xe801.
    let mut b = Bench::new();
    b.server_message(&[0, 4 | 2 << 10 | 3 << 20, 0, 0, 0, 0]);
    request_with_x(&mut b, &[], &[1]);
    let f = b.receive().expect_err("offset inside raw data");
    assert_eq!(f.client_result.raw(), 0xe801);
    assert_eq!(f.step, FailedStep::SizeCheck);
}

#[test]
fn client_receive_list_offset_inside_its_raw_data_is_not_checked() {
    // Only the destination's offset is checked (§3.2 step 3); the client's offset 2 with 3
    // raw words passes and the raw data is copied.
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    b.client_message(&[4, 3 | 2 << 20, 7, 8, 9]);
    b.receive().expect("source offset is not checked");
    assert_eq!(&b.server_words(5)[2..], &[7, 8, 9]);
}

#[test]
fn client_c_entries_never_reach_the_server() {
    // Client in mode 3 with its C entry after 1 raw word (words 3–4); the server's words
    // 3–4 keep their values (its list is at offset 0x30).
    let mut b = Bench::new();
    let server = cat(&[&[0, 0x0300_0800], &[0xEEEE_EEEE; 0x2E], &entry(0x1008, 0x100)]);
    b.server_message(&server);
    b.client_message(&cat(&[&[4, 1 | 3 << 10], &[0x1234], &entry(CLIENT_DATA, 0x80)]));
    b.receive().expect("fits");
    let got = b.server_words(5);
    assert_eq!(&got[0..3], &[4, 1 | 3 << 10, 0x1234]);
    assert_eq!(&got[3..5], &[0xEEEE_EEEE, 0xEEEE_EEEE]);
}

#[test]
fn addresses_above_4_gib_keep_bits_32_to_38() {
    // §2.3 example entry 0x7F_1234_5670/0x100 = words 0x12345670, 0x0100007F; an X of
    // 0x40 bytes with index 2 lands there and is rewritten as §2.1's example words
    // 0x0040F1C2, 0x12345670. The source is above 4 GiB too (bits 32–38 = 0x45).
    let mut b = Bench::new();
    b.mem.map(Side::Server, 0x7F_1234_5000, 0x1000, Some(UserAccess::ReadWrite));
    b.mem.map(Side::Client, 0x45_6789_A000, 0x1000, Some(UserAccess::ReadWrite));
    b.mem.put(Side::Client, 0x45_6789_A010, &pattern(0x45, 0x40));
    b.server_message(&[0, 0x800, 0x1234_5670, 0x0100_007F]);
    request_with_x(&mut b, &[x(2, 0x45_6789_A010, 0x40)], &[]);
    b.receive().expect("fits");
    assert_eq!(&b.server_words(4)[2..4], &[0x0040_F1C2, 0x1234_5670]);
    assert_eq!(b.mem.get(Side::Server, 0x7F_1234_5670, 0x40), pattern(0x45, 0x40));
}

#[test]
fn kernel_written_x_has_reserved_bits_zero() {
    // The client sets reserved bits 4–5 and 9–11 of word 0; the rewritten descriptor
    // has them clear (§2.1, §10 item 7).
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let [w0, w1] = x(5, CLIENT_DATA, 0x10);
    request_with_x(&mut b, &[[w0 | 0x30 | 0xE00, w1]], &[]);
    b.receive().expect("fits");
    let got = b.server_words(4);
    assert_eq!(got[2] & (0x30 | 0xE00), 0);
    assert_eq!(x_at(&got, 2), (0x1010, 0x10, 5));
}

#[test]
fn zero_size_map_alias_is_rewritten_with_address_zero_and_its_attribute() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let h = header(MessageHeader { tag: 4, send_count: 1, receive_count: 1, raw_count: 1, ..MessageHeader::default() });
    let a = map_alias(CLIENT_DATA, 0, MapAliasAttribute::NonSecureIpc);
    let bb = map_alias(CLIENT_DATA + 0x100, 0, MapAliasAttribute::NonDeviceIpc);
    b.client_message(&cat(&[&h, &a, &bb, &[0x99]]));
    let report = b.receive().expect("zero-size A/B pass");
    let got = b.server_words(9);
    assert_eq!(&got[2..5], &[0, 0, 1]);
    assert_eq!(&got[5..8], &[0, 0, 3]);
    assert_eq!(got[8], 0x99);
    assert_eq!(report.map_alias_count, 2);
}

#[test]
fn map_alias_attribute_2_is_invalid_combination() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let h = header(MessageHeader { tag: 4, exchange_count: 1, ..MessageHeader::default() });
    // Attribute 2 cannot be encoded by the codec: write the words by hand (size 0).
    b.client_message(&cat(&[&h, &[0, 0, 2]]));
    let f = b.receive().expect_err("attribute 2");
    assert_eq!(f.client_result.raw(), 0xe801);
    assert_eq!(f.step, FailedStep::MapAlias { descriptor: 0 });
}

#[test]
fn non_zero_map_alias_is_reported_as_not_supported() {
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let h = header(MessageHeader { tag: 4, send_count: 1, ..MessageHeader::default() });
    b.client_message(&cat(&[&h, &map_alias(CLIENT_DATA, 0x100, MapAliasAttribute::Ipc)]));
    let f = b.receive().expect_err("the model does not map");
    assert_eq!(f.client_result, MAP_ALIAS_NOT_SUPPORTED);
    assert_eq!(f.client_result.raw(), 0x20601);
    assert_eq!(f.step, FailedStep::MapAliasNotSupported { descriptor: 0 });
}

#[test]
fn unmapped_message_buffer_fails_without_panicking() {
    let mut b = Bench::new();
    let dst = MessageBuffer::thread_local(0x0009_0000);
    let f = receive_message(&mut b.mem, &mut b.handles, dst, client_tls()).expect_err("unmapped");
    assert_eq!(f.client_result.raw(), 0xd401);
    assert_eq!(f.step, FailedStep::MessageBufferAccess);
    let wrapping = MessageBuffer::user(u64::MAX - 0x10, 0x1000);
    let f = receive_message(&mut b.mem, &mut b.handles, server_tls(), wrapping).expect_err("wraps");
    assert_eq!(f.client_result.raw(), 0xd401);
}

#[test]
fn echo16_request_report_counts_header_x_and_raw_bytes() {
    // A 16-byte Echo as libnx sends it: 1 X, 11 raw words (§9 shape), mode 3.
    let mut b = Bench::new();
    b.arm_single(0x1008, 0x100);
    let h = header(hdr(4, 1, 11, ReceiveListMode::index(1).expect("1 entry")));
    b.client_message(&cat(&[&h, &x(0, CLIENT_DATA, 16), &[0; 11], &entry(CLIENT_DATA + 0x100, 16)]));
    let report = b.receive().expect("fits");
    assert_eq!(report.header_bytes, 8);
    assert_eq!(report.special_bytes, 0);
    assert_eq!(report.pointer_bytes, 16);
    assert_eq!(report.raw_bytes, 44);
    assert_eq!(report.total_bytes(), 8 + 16 + 44);
    assert_eq!(report.pointers[0].destination, 0x1010);
}

#[test]
fn to_message_buffer_mode_in_a_user_buffer_is_written_without_a_user_permission_check() {
    // §3.3: a mode-1 user (non-TLS) message buffer is written as locked heap, without the
    // user-writable check a pointer buffer gets. The region is kernel-only here.
    let mut b = Bench::new();
    b.mem.map(Side::Server, 0x0008_0000, 0x1000, None);
    let dst = MessageBuffer::user(0x0008_0000, 0x1000);
    b.mem.put_words(Side::Server, 0x0008_0000, &[0, 0x0000_0400]);
    b.mem.put(Side::Client, CLIENT_DATA, &pattern(5, 0x10));
    request_with_x(&mut b, &[x(0, CLIENT_DATA, 0x10)], &[1, 2, 3]);
    receive_message(&mut b.mem, &mut b.handles, dst, client_tls()).expect("locked user buffer");
    assert_eq!(b.mem.get(Side::Server, 0x0008_0020, 0x10), pattern(5, 0x10));

    // The same region as a mode-2 pointer buffer is refused: it is not user-writable.
    b.server_message(&[0, 0x800, 0x0008_0000, 0x0100_0000]);
    let f = b.receive().expect_err("pointer buffer must be user-writable");
    assert_eq!(f.client_result.raw(), 0xd401);
}
