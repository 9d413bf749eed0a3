//! The pointer buffer through the server core: the kernel's single-buffer packing as the
//! server sees it, and out regions carved from the top (horizon-ipc.md §3.3, §5.1).

mod server_support;

use server_support::{CLIENT_BASE, RoundTrip, deliver_request};
use xcbuf_common::client::{self, Buffer};
use xcbuf_common::sf::{Action, ReceiveArea, ReceiveMode, ServerConfig};
use xcbuf_common::xcbuf;
use xcbuf_common::xcbuf::{ConcatResponse, NO_OFFSET, POINTER_BUFFER_TOO_SMALL, SplitResponse};

/// The §3.3 example: entry 0x1008/0x100 (end 0x1108).
fn example_config() -> ServerConfig {
    ServerConfig { area: ReceiveArea { guest_addr: 0x1008, size: 0x100, mode: ReceiveMode::Single }, max_sessions: 1 }
}

/// Client inputs of 0x13, 0x20 and 0xB8 bytes, distinct patterns.
fn example_inputs(b: &mut RoundTrip) -> [Buffer; 3] {
    let sizes = [0x13usize, 0x20, 0xB8];
    let mut at = CLIENT_BASE;
    let mut out = [Buffer::default(); 3];
    for (i, &size) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..size).map(|k| (i as u8 + 1) * 0x10 + (k as u8 & 0xF)).collect();
        b.client.write(at, &data);
        out[i] = Buffer::new(at, size);
        at += 0x100;
    }
    out
}

#[test]
fn single_buffer_packing_example_is_seen_at_offsets_8_0x28_0x48() {
    let mut b = RoundTrip::new(example_config());
    let slot = b.server.open_session(0x201).unwrap();
    let inputs = example_inputs(&mut b);
    client::build_concat(&mut b.client_tls, &inputs, Buffer::new(CLIENT_BASE + 0x1000, 0)).unwrap();
    // The kernel packs them at 0x1010, 0x1030, 0x1050 (AlignUp of the absolute address).
    let request = b.client_tls;
    let placed = deliver_request(&request, &b.client, &mut b.tls, &mut b.pointer_buffer, b.base).unwrap();
    assert_eq!(placed, vec![0x1010, 0x1030, 0x1050]);
    let handled = b.server.handle(slot, &mut b.tls, &mut b.pointer_buffer);
    assert_eq!(handled.action, Action::Reply);
    assert!(handled.result.is_success(), "{}", handled.result);
    // Offsets inside the pointer buffer (base 0x1008) as the server saw them.
    let reply = client::parse_reply(&b.tls).unwrap();
    let resp: ConcatResponse = reply.read().unwrap();
    assert_eq!(&resp.offsets[..3], &[0x08, 0x28, 0x48]);
    assert_eq!(&resp.offsets[3..], &[NO_OFFSET; 5]);
    assert_eq!(resp.bytes_written, 0, "a zero-size C receives nothing");
}

#[test]
fn one_out_byte_over_a_full_buffer_is_pointer_buffer_too_small() {
    // The inputs end at 0x1108, the very end of the entry: head = AlignDown(0x1108 - 1,
    // 16) = 0x1100 lies below the tail, so 0x11a0b.
    let mut b = RoundTrip::new(example_config());
    let slot = b.server.open_session(0x201).unwrap();
    let inputs = example_inputs(&mut b);
    client::build_concat(&mut b.client_tls, &inputs, Buffer::new(CLIENT_BASE + 0x1000, 1)).unwrap();
    let handled = b.call(slot).unwrap();
    assert_eq!(handled.action, Action::Reply);
    assert_eq!(handled.result, POINTER_BUFFER_TOO_SMALL);
    assert_eq!(handled.result.raw(), 0x11a0b);
    let err = client::parse_reply(&b.client_tls).unwrap_err();
    assert_eq!(err.result().raw(), 0x11a0b);
    assert!(b.server_reply_pointers().is_empty(), "error replies carry no X");
}

#[test]
fn out_regions_are_carved_from_the_top_at_16_byte_aligned_addresses_above_4_gib() {
    let base = 0x1_2345_6000;
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(base));
    let slot = b.server.open_session(0x201).unwrap();
    let data: Vec<u8> = (0..0x30u8).collect();
    b.client.write(CLIENT_BASE, &data);
    // Split 0x30 bytes at 0x10 into C[0] of 0x13 bytes and C[1] of 0x20 bytes.
    client::build_split(
        &mut b.client_tls,
        Buffer::new(CLIENT_BASE, 0x30),
        0x10,
        Buffer::new(CLIENT_BASE + 0x100, 0x13),
        Buffer::new(CLIENT_BASE + 0x200, 0x20),
    )
    .unwrap();
    let handled = b.call(slot).unwrap();
    assert!(handled.result.is_success(), "{}", handled.result);
    let xs = b.server_reply_pointers();
    // C[0]: AlignDown(base + 0x800 - 0x13, 16) = base + 0x7E0.
    // C[1]: AlignDown(base + 0x7E0 - 0x20, 16) = base + 0x7C0.
    assert_eq!((xs[1].index(), xs[1].address(), xs[1].size()), (0, base + 0x7E0, 0x10));
    assert_eq!((xs[0].index(), xs[0].address(), xs[0].size()), (1, base + 0x7C0, 0x20));
    let reply = client::parse_reply(&b.client_tls).unwrap();
    let resp: SplitResponse = reply.read().unwrap();
    assert_eq!((resp.head_written, resp.tail_written), (0x10, 0x20));
    assert_eq!(b.client.read(CLIENT_BASE + 0x100, 0x10), &data[..0x10]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x200, 0x20), &data[0x10..]);
    // Input 0x30 bytes + carved 0x800 - 0x7C0 = 0x40: high water 0x70.
    assert_eq!(b.server.counters().pointer_buffer_high_water, 0x70);
}

#[test]
fn out_region_that_would_overlap_the_input_is_pointer_buffer_too_small() {
    let base = 0x8000_0000;
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(base));
    let slot = b.server.open_session(0x201).unwrap();
    // 0x400 bytes of input end at base + 0x400; a C of 0x401 bytes would start at
    // AlignDown(base + 0x800 - 0x401) = base + 0x3F0 < base + 0x400.
    client::build_concat(
        &mut b.client_tls,
        &[Buffer::new(CLIENT_BASE, 0x400)],
        Buffer::new(CLIENT_BASE + 0x1000, 0x401),
    )
    .unwrap();
    assert_eq!(b.call(slot).unwrap().result, POINTER_BUFFER_TOO_SMALL);
    // Exactly 0x400 fits: head = base + 0x400 = tail.
    client::build_concat(
        &mut b.client_tls,
        &[Buffer::new(CLIENT_BASE, 0x400)],
        Buffer::new(CLIENT_BASE + 0x1000, 0x400),
    )
    .unwrap();
    let handled = b.call(slot).unwrap();
    assert!(handled.result.is_success(), "{}", handled.result);
    assert_eq!(b.server_reply_pointers()[0].address(), base + 0x400);
}
