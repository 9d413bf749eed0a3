//! Reply path (`send_message`, `horizon-ipc.md` §4), the libnx/libstratosphere worked
//! example of §9 end to end, and the single-svc server pattern (§5.1, design.md).

mod model_support;

use model_support::*;
use xcbuf_common::hipc::{MessageHeader, ReceiveListMode};
use xcbuf_kmodel::message::{FailedStep, ServerOutcome, Side, UserAccess};

/// The client's original request: tag 4, no X, one raw word, then its C entries in
/// `mode` (list right after the raw data, word 3).
fn client_request(b: &mut Bench, mode: ReceiveListMode, entries: &[[u32; 2]]) {
    let h = header(hdr(4, 0, 1, mode));
    let list: Vec<u32> = entries.iter().flatten().copied().collect();
    b.client_message(&cat(&[&h, &[0xC0DE], &list]));
}

/// The server's reply: tag 0, the given X descriptors, `raw` raw words.
fn server_reply(b: &mut Bench, xs: &[[u32; 2]], raw: &[u32]) -> Vec<u32> {
    let h = header(hdr(0, xs.len() as u8, raw.len() as u16, ReceiveListMode::None));
    let xs: Vec<u32> = xs.iter().flatten().copied().collect();
    let words = cat(&[&h, &xs, raw]);
    b.server_message(&words);
    words
}

#[test]
fn reply_x_lands_in_the_client_c_entry_its_index_selects() {
    // Client mode 4: C[0] at CLIENT_DATA+0x200, C[1] at the lower CLIENT_DATA+0x100. The
    // reply writes index 1 first, then index 0 (Split's order): bytes land by index.
    let mut b = Bench::new();
    client_request(
        &mut b,
        ReceiveListMode::index(2).expect("2 entries"),
        &[entry(CLIENT_DATA + 0x200, 0x40), entry(CLIENT_DATA + 0x100, 0x40)],
    );
    b.mem.put(Side::Server, 0x1300, &pattern(0x31, 0x18));
    b.mem.put(Side::Server, 0x1400, &pattern(0x40, 0x30));
    server_reply(&mut b, &[x(1, 0x1300, 0x18), x(0, 0x1400, 0x30)], &[0x4F43_4653]);

    let report = b.reply().expect("both fit");

    let got = b.client_words(7);
    assert_eq!(x_at(&got, 2), (CLIENT_DATA + 0x100, 0x18, 1));
    assert_eq!(x_at(&got, 4), (CLIENT_DATA + 0x200, 0x30, 0));
    assert_eq!(got[6], 0x4F43_4653);
    assert_eq!(b.mem.get(Side::Client, CLIENT_DATA + 0x100, 0x18), pattern(0x31, 0x18));
    assert_eq!(b.mem.get(Side::Client, CLIENT_DATA + 0x200, 0x30), pattern(0x40, 0x30));
    assert_eq!(report.pointer_bytes, 0x48);
}

#[test]
fn reply_x_larger_than_its_c_entry_is_out_of_resource_for_the_client() {
    // §9: "If Sc > C size, the client gets 0xce01 and the server gets 0" — the server's
    // success is the `SendFailure` contract (client_result only).
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::index(1).expect("1"), &[entry(CLIENT_DATA, 0x20)]);
    server_reply(&mut b, &[x(0, 0x1300, 0x21)], &[]);
    let f = b.reply().expect_err("0x21 > 0x20");
    assert_eq!(f.client_result.raw(), 0xce01);
    assert_eq!(f.step, FailedStep::Pointer { descriptor: 0 });
}

#[test]
fn reply_x_index_past_the_client_list_is_out_of_resource() {
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::index(1).expect("1"), &[entry(CLIENT_DATA, 0x20)]);
    server_reply(&mut b, &[x(1, 0x1300, 0x10)], &[]);
    assert_eq!(b.reply().expect_err("index 1 of 1 entry").client_result.raw(), 0xce01);
}

#[test]
fn reply_into_a_client_c_buffer_not_user_writable_is_invalid_current_memory() {
    let mut b = Bench::new();
    b.mem.map(Side::Client, 0x0005_0000, 0x1000, Some(UserAccess::Read));
    client_request(&mut b, ReceiveListMode::index(1).expect("1"), &[entry(0x0005_0000, 0x40)]);
    server_reply(&mut b, &[x(0, 0x1300, 0x10)], &[]);
    assert_eq!(b.reply().expect_err("read-only C").client_result.raw(), 0xd401);
}

#[test]
fn reply_x_source_not_user_readable_is_invalid_current_memory() {
    let mut b = Bench::new();
    b.mem.map(Side::Server, 0x0006_0000, 0x1000, None);
    client_request(&mut b, ReceiveListMode::index(1).expect("1"), &[entry(CLIENT_DATA, 0x40)]);
    server_reply(&mut b, &[x(0, 0x0006_0000, 0x10)], &[]);
    assert_eq!(b.reply().expect_err("kernel-only source").client_result.raw(), 0xd401);
}

#[test]
fn reply_with_map_alias_is_invalid_combination() {
    // Even a zero-size A is refused in a reply (§4).
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::None, &[]);
    let h = header(MessageHeader { send_count: 1, ..MessageHeader::default() });
    b.server_message(&cat(&[&h, &[0, 0, 0]]));
    let f = b.reply().expect_err("A in reply");
    assert_eq!(f.client_result.raw(), 0xe801);
    assert_eq!(f.step, FailedStep::ReplyWithMapAlias);
}

#[test]
fn reply_zero_size_x_writes_a_null_descriptor() {
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::index(1).expect("1"), &[entry(CLIENT_DATA, 0x40)]);
    server_reply(&mut b, &[x(0, 0, 0)], &[]);
    b.reply().expect("nothing to copy");
    assert_eq!(x_at(&b.client_words(4), 2), (0, 0, 0));
}

#[test]
fn reply_into_a_single_mode_client_packs_at_16_byte_alignment() {
    // The §3.3 example on the reply path: client entry CLIENT_DATA+8 / 0x100.
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::ToSingleBuffer, &[entry(CLIENT_DATA + 8, 0x100)]);
    server_reply(&mut b, &[x(0, 0x1300, 0x13), x(1, 0x1300, 0x20), x(2, 0x1300, 0xB8)], &[]);
    b.reply().expect("fits exactly");
    let got = b.client_words(8);
    assert_eq!(x_at(&got, 2), (CLIENT_DATA + 0x10, 0x13, 0));
    assert_eq!(x_at(&got, 4), (CLIENT_DATA + 0x30, 0x20, 1));
    assert_eq!(x_at(&got, 6), (CLIENT_DATA + 0x50, 0xB8, 2));

    client_request(&mut b, ReceiveListMode::ToSingleBuffer, &[entry(CLIENT_DATA + 8, 0x100)]);
    server_reply(&mut b, &[x(0, 0x1300, 0x13), x(1, 0x1300, 0x20), x(2, 0x1300, 0xB9)], &[]);
    assert_eq!(b.reply().expect_err("0xB9").client_result.raw(), 0xce01);
}

#[test]
fn reply_into_a_message_buffer_mode_client_lands_after_the_reply() {
    // Client mode 1; reply ends at word 2 + 2 + 3 = 7, so the X lands at CLIENT_TLS + 0x20.
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::ToMessageBuffer, &[]);
    b.mem.put(Side::Server, 0x1300, &pattern(0x77, 0x10));
    server_reply(&mut b, &[x(0, 0x1300, 0x10)], &[1, 2, 3]);
    b.reply().expect("fits");
    assert_eq!(x_at(&b.client_words(4), 2), (CLIENT_TLS + 0x20, 0x10, 0));
    assert_eq!(b.mem.get(Side::Client, CLIENT_TLS + 0x20, 0x10), pattern(0x77, 0x10));
}

#[test]
fn reply_into_a_mode_none_client_refuses_non_empty_x() {
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::None, &[]);
    server_reply(&mut b, &[x(0, 0x1300, 1)], &[]);
    assert_eq!(b.reply().expect_err("no list").client_result.raw(), 0xce01);
}

#[test]
fn reply_header_words_are_copied_verbatim() {
    // Word 1 reserved bits 14–19 and a ReceiveListOffset reach the client unchanged.
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::None, &[]);
    let words = [0x0000_0000, 2 | 0xF << 14 | 0x10 << 20, 0x11, 0x22];
    b.server_message(&words);
    b.reply().expect("fits");
    assert_eq!(b.client_words(4), words);
}

#[test]
fn reply_raw_end_past_the_client_buffer_is_message_too_large() {
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::None, &[]);
    b.server_message(&[0, 0x3FF | 3 << 20]);
    let f = b.reply().expect_err("raw end 1025 words");
    assert_eq!(f.client_result.raw(), 0x20801);
    assert_eq!(f.step, FailedStep::SizeCheck);
}

#[test]
fn reply_checks_the_client_request_receive_list_offset() {
    // The client's request has 4 raw words but ReceiveListOffset 3: 0xe801 on the reply.
    let mut b = Bench::new();
    b.client_message(&[4, 4 | 3 << 10 | 3 << 20, 0, 0, 0, 0]);
    server_reply(&mut b, &[], &[1]);
    assert_eq!(b.reply().expect_err("bad client offset").client_result.raw(), 0xe801);
}

#[test]
fn reply_above_4_gib_is_rewritten_with_high_address_bits() {
    // Client C at §2.3's 0x7F_1234_5670/0x100; reply X 0x40, index 2 in a mode-5 list
    // (3 entries) → client descriptor words are §2.1's 0x0040F1C2, 0x12345670.
    let mut b = Bench::new();
    b.mem.map(Side::Client, 0x7F_1234_5000, 0x1000, Some(UserAccess::ReadWrite));
    client_request(
        &mut b,
        ReceiveListMode::index(3).expect("3"),
        &[entry(CLIENT_DATA, 0x10), entry(CLIENT_DATA, 0x10), [0x1234_5670, 0x0100_007F]],
    );
    b.mem.put(Side::Server, 0x1300, &pattern(0x12, 0x40));
    server_reply(&mut b, &[x(2, 0x1300, 0x40)], &[]);
    b.reply().expect("fits");
    assert_eq!(&b.client_words(4)[2..4], &[0x0040_F1C2, 0x1234_5670]);
    assert_eq!(b.mem.get(Side::Client, 0x7F_1234_5670, 0x40), pattern(0x12, 0x40));
}

#[test]
fn worked_example_section_9_libnx_client_and_stratosphere_server() {
    // §9 with Xa = CLIENT_DATA, Sx = 0x13, Cb = CLIENT_DATA + 0x100, Sc = 0x20,
    // pointer buffer P = 0x1200, N = 0x800.
    let (xa, sx, cb, sc, p, n) = (CLIENT_DATA, 0x13u64, CLIENT_DATA + 0x100, 0x20u64, 0x1200u64, 0x800u64);
    let mut b = Bench::new();
    // Server before receive: words 0–3 = 0, 0x800, P_lo, P_hi | N << 16; mark 15–16.
    b.server_message(&[0, 0x800, p as u32, (p >> 32) as u32 | (n as u32) << 16]);
    b.mem.put_words(Side::Server, SERVER_TLS + 15 * 4, &[0xEEEE_EEEE, 0xEEEE_EEEE]);
    // Client: word0 0x00010004, word1 0x00000C0B, X at 2–3, data words 4–14, C at 15–16.
    b.mem.put(Side::Client, xa, &pattern(0xA0, sx as usize));
    let sfci = [0x4943_4653, 0, 1, 0];
    let payload = [0x0102_0304, 0x0506_0708];
    let data: Vec<u32> = cat(&[&sfci, &payload, &[0, 0, 0, 0], &[sc as u32]]);
    assert_eq!(data.len(), 11);
    let request = cat(&[&[0x0001_0004, 0x0000_0C0B], &x(0, xa, sx), &data, &entry(cb, sc)]);
    b.client_message(&request);
    assert_eq!(request.len() * 4, 68, "total message size 15×4 + 8");

    b.receive().expect("request fits");

    let got = b.server_words(17);
    assert_eq!(&got[0..2], &[0x0001_0004, 0x0000_0C0B]);
    assert_eq!(x_at(&got, 2), (p, sx as u16, 0), "X rewritten to {{AlignUp(P,16), Sx, 0}}");
    assert_eq!(&got[4..15], &data[..]);
    assert_eq!(&got[15..17], &[0xEEEE_EEEE, 0xEEEE_EEEE], "words 15–16 not written");

    // Server dispatch: tail = P + Sx, head = AlignDown(P + N − Sc, 16) = 0x19E0.
    let head = (p + n - sc) & !0xF;
    assert_eq!(head, 0x19E0);
    assert!(p + sx <= head);
    b.mem.put(Side::Server, head, &pattern(0xC0, sc as usize));
    // Reply: type 0, one X {head, Sc, 0}, raw SFCO.
    let sfco = [0x4F43_4653, 0, 0, 0, 0x20, 0, 0, 0];
    server_reply(&mut b, &[x(0, head, sc)], &sfco);

    b.reply().expect("reply fits C[0]");

    let got = b.client_words(12);
    assert_eq!(x_at(&got, 2), (cb, sc as u16, 0), "client sees X {{Cb, Sc, 0}}");
    assert_eq!(&got[4..12], &sfco);
    assert_eq!(b.mem.get(Side::Client, cb, sc as usize), pattern(0xC0, sc as usize));
}

#[test]
fn single_svc_server_pattern_reply_carries_the_next_receive_list() {
    // The server replies and re-arms in one message: its reply has mode 2 and its C entry
    // at ReceiveListOffset 0x20 (≥ the reply's raw end, 12). After the reply is copied
    // out, the next request is received with that list, twice in a row.
    let pointer_buffer = entry(0x1200, 0x100);
    let mut b = Bench::new();
    b.arm_single(0x1200, 0x100);
    for round in 0..2u8 {
        // Request: Echo-like, X of 0x10 bytes, C of 0x10 bytes in index mode.
        b.mem.put(Side::Client, CLIENT_DATA, &pattern(round, 0x10));
        let h = header(hdr(4, 1, 8, ReceiveListMode::index(1).expect("1")));
        b.client_message(&cat(&[&h, &x(0, CLIENT_DATA, 0x10), &[0; 8], &entry(CLIENT_DATA + 0x100, 0x10)]));

        let report = b.receive().unwrap_or_else(|f| panic!("round {round}: {f}"));
        assert_eq!(report.pointers[0].destination, 0x1200, "X lands in the pointer buffer");
        assert_eq!(b.mem.get(Side::Server, 0x1200, 0x10), pattern(round, 0x10));

        // Reply echoing the input in place, carrying the list for the next receive.
        let reply_header = header(MessageHeader {
            pointer_count: 1,
            raw_count: 8,
            receive_list_mode: ReceiveListMode::ToSingleBuffer,
            receive_list_offset: 0x20,
            ..MessageHeader::default()
        });
        let reply = cat(&[&reply_header, &x(0, 0x1200, 0x10), &[0x4F43_4653, 0, 0, 0, 0x10, 0, 0, 0]]);
        b.server_message(&reply);
        b.mem.put_words(Side::Server, SERVER_TLS + 0x20 * 4, &pointer_buffer);

        b.reply().unwrap_or_else(|f| panic!("round {round}: {f}"));
        assert_eq!(b.mem.get(Side::Client, CLIENT_DATA + 0x100, 0x10), pattern(round, 0x10));
        assert_eq!(&b.server_words(2)[..], &reply[0..2], "the reply stays in the server buffer");
    }
    // A request that fails now leaves the list at 0x20 intact: NotFound, header restored.
    let h = header(hdr(4, 1, 0, ReceiveListMode::None));
    b.client_message(&cat(&[&h, &x(0, CLIENT_DATA, 0x101)]));
    let before = b.server_words(2);
    let f = b.receive().expect_err("0x101 > 0x100");
    assert_eq!(f.server_sees, ServerOutcome::NotFound);
    assert_eq!(b.server_words(2), before);
}

#[test]
fn echo16_reply_report_counts_header_x_and_raw_bytes() {
    let mut b = Bench::new();
    client_request(&mut b, ReceiveListMode::index(1).expect("1"), &[entry(CLIENT_DATA, 0x10)]);
    server_reply(&mut b, &[x(0, 0x1300, 0x10)], &[0; 8]);
    let report = b.reply().expect("fits");
    assert_eq!(report.total_bytes(), 8 + 0x10 + 32);
    assert_eq!(report.pointer_count, 1);
}
