//! Echo, Split, GetInfo, Stats and QueryPointerBufferSize through the server core
//! (design.md "Protocol of the service").

mod server_support;

use server_support::{CLIENT_BASE, RoundTrip};
use xcbuf_common::client::{self, Buffer};
use xcbuf_common::xcbuf;
use xcbuf_common::xcbuf::{
    BAD_SPLIT_POINT, ConcatResponse, EchoResponse, GetInfoResponse, MAX_SESSIONS, POINTER_BUFFER_SIZE,
    PROTOCOL_VERSION, SplitResponse, StatsResponse,
};

/// Pointer buffer above 4 GiB: X addresses use the descriptor's high address bits.
const BASE: u64 = 0x4_0000_0000;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

#[test]
fn echo_of_exactly_the_pointer_buffer_size_is_replied_from_where_the_kernel_put_it() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    let data = pattern(POINTER_BUFFER_SIZE, 3);
    b.client.write(CLIENT_BASE, &data);
    client::build_echo(&mut b.client_tls, Buffer::new(CLIENT_BASE, 0x800), Buffer::new(CLIENT_BASE + 0x1000, 0x800))
        .unwrap();
    let handled = b.call(slot).unwrap();
    assert!(handled.result.is_success(), "{}", handled.result);
    let xs = b.server_reply_pointers();
    assert_eq!(xs.len(), 1);
    assert_eq!((xs[0].index(), xs[0].address(), xs[0].size()), (0, BASE, 0x800));
    let reply = client::parse_reply(&b.client_tls).unwrap();
    assert_eq!(reply.read::<EchoResponse>().unwrap().bytes_written, 0x800);
    assert_eq!(reply.received(0), Some(0x800));
    assert_eq!(reply.pointers()[0].address(), CLIENT_BASE + 0x1000, "the kernel rewrote X to C[0]");
    assert_eq!(b.client.read(CLIENT_BASE + 0x1000, 0x800), &data[..]);
}

#[test]
fn echo_writes_at_most_the_c_size() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    let data = pattern(0x40, 9);
    b.client.write(CLIENT_BASE, &data);
    client::build_echo(&mut b.client_tls, Buffer::new(CLIENT_BASE, 0x40), Buffer::new(CLIENT_BASE + 0x100, 0x18))
        .unwrap();
    b.call(slot).unwrap();
    let reply = client::parse_reply(&b.client_tls).unwrap();
    assert_eq!(reply.read::<EchoResponse>().unwrap().bytes_written, 0x18);
    assert_eq!(reply.received(0), Some(0x18));
    assert_eq!(b.client.read(CLIENT_BASE + 0x100, 0x18), &data[..0x18]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x118, 1), &[0xEE], "nothing past the bytes written");
}

#[test]
fn split_reply_writes_index_1_first_then_index_0() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    let data = pattern(0x25, 1);
    b.client.write(CLIENT_BASE, &data);
    client::build_split(
        &mut b.client_tls,
        Buffer::new(CLIENT_BASE, 0x25),
        0x05,
        Buffer::new(CLIENT_BASE + 0x100, 0x40),
        Buffer::new(CLIENT_BASE + 0x200, 0x40),
    )
    .unwrap();
    b.call(slot).unwrap();
    let xs = b.server_reply_pointers();
    assert_eq!(xs.iter().map(|x| x.index()).collect::<Vec<_>>(), vec![1, 0]);
    let reply = client::parse_reply(&b.client_tls).unwrap();
    assert_eq!(reply.read::<SplitResponse>().unwrap(), SplitResponse { head_written: 5, tail_written: 0x20 });
    assert_eq!((reply.received(0), reply.received(1)), (Some(5), Some(0x20)));
    assert_eq!(b.client.read(CLIENT_BASE + 0x100, 5), &data[..5]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x200, 0x20), &data[5..]);
}

#[test]
fn split_point_past_the_input_is_bad_split_point() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    client::build_split(
        &mut b.client_tls,
        Buffer::new(CLIENT_BASE, 0x10),
        0x11,
        Buffer::new(CLIENT_BASE + 0x100, 0x10),
        Buffer::new(CLIENT_BASE + 0x200, 0x10),
    )
    .unwrap();
    assert_eq!(b.call(slot).unwrap().result, BAD_SPLIT_POINT);
    assert_eq!(client::parse_reply(&b.client_tls).unwrap_err().result().raw(), 0xbab);
    // at == size is allowed: everything goes to C[0].
    client::build_split(
        &mut b.client_tls,
        Buffer::new(CLIENT_BASE, 0x10),
        0x10,
        Buffer::new(CLIENT_BASE + 0x100, 0x10),
        Buffer::new(CLIENT_BASE + 0x200, 0x10),
    )
    .unwrap();
    assert!(b.call(slot).unwrap().result.is_success());
    let reply = client::parse_reply(&b.client_tls).unwrap();
    assert_eq!(reply.read::<SplitResponse>().unwrap(), SplitResponse { head_written: 0x10, tail_written: 0 });
}

#[test]
fn concat_joins_the_inputs_in_order() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    let parts = [pattern(3, 0x10), pattern(0x11, 0x20), pattern(0, 0), pattern(0x20, 0x30)];
    let mut inputs = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let at = CLIENT_BASE + 0x100 * i as u64;
        b.client.write(at, p);
        inputs.push(Buffer::new(at, p.len()));
    }
    client::build_concat(&mut b.client_tls, &inputs, Buffer::new(CLIENT_BASE + 0x1000, 0x100)).unwrap();
    b.call(slot).unwrap();
    let reply = client::parse_reply(&b.client_tls).unwrap();
    let resp: ConcatResponse = reply.read().unwrap();
    assert_eq!(resp.bytes_written, 3 + 0x11 + 0x20);
    // Packed at 0, 0x10, (zero-size: none), 0x30.
    assert_eq!(&resp.offsets[..4], &[0, 0x10, u32::MAX, 0x30]);
    let joined: Vec<u8> = parts.concat();
    assert_eq!(b.client.read(CLIENT_BASE + 0x1000, joined.len()), &joined[..]);
}

#[test]
fn get_info_reports_version_buffer_mode_and_sessions() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    client::build_get_info(&mut b.client_tls).unwrap();
    b.call(slot).unwrap();
    let info: GetInfoResponse = client::parse_reply(&b.client_tls).unwrap().read().unwrap();
    assert_eq!(
        info,
        GetInfoResponse {
            version: PROTOCOL_VERSION,
            pointer_buffer_size: 0x800,
            receive_mode: 2,
            max_sessions: MAX_SESSIONS as u32
        }
    );
}

#[test]
fn query_pointer_buffer_size_answers_0x800_as_u16() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    client::build_query_pointer_buffer_size(&mut b.client_tls).unwrap();
    b.call(slot).unwrap();
    // horizon-ipc.md §5.2: 9 raw words, SFCO at word 4, the u16 at word 8.
    assert_eq!(b.client_tls[1] & 0x3FF, 9);
    assert_eq!(b.client_tls[8] & 0xFFFF, 0x800);
    assert_eq!(client::parse_query_pointer_buffer_size(&b.client_tls).unwrap(), 0x800);
}

#[test]
fn stats_count_requests_bytes_errors_sessions_and_high_water() {
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(BASE));
    let s0 = b.server.open_session(0x201).unwrap();
    let s1 = b.server.open_session(0x201).unwrap();
    b.server.close_session(s0).unwrap();
    b.client.write(CLIENT_BASE, &pattern(0x30, 5));
    // 1: Echo 0x30 -> 0x30 out; pointer buffer use 0x30 (in place).
    client::build_echo(&mut b.client_tls, Buffer::new(CLIENT_BASE, 0x30), Buffer::new(CLIENT_BASE + 0x100, 0x30))
        .unwrap();
    b.call(s1).unwrap();
    // 2: Split error (at past the end): 0x10 in, 0 out, one error.
    client::build_split(
        &mut b.client_tls,
        Buffer::new(CLIENT_BASE, 0x10),
        0x20,
        Buffer::new(CLIENT_BASE + 0x100, 0x10),
        Buffer::new(CLIENT_BASE + 0x200, 0x10),
    )
    .unwrap();
    b.call(s1).unwrap();
    // 3: Concat 0x30 into 0x100: carved 0x100, used 0x30 + 0x100.
    client::build_concat(&mut b.client_tls, &[Buffer::new(CLIENT_BASE, 0x30)], Buffer::new(CLIENT_BASE + 0x100, 0x100))
        .unwrap();
    b.call(s1).unwrap();
    // 4: Stats itself.
    client::build_stats(&mut b.client_tls).unwrap();
    b.call(s1).unwrap();
    let stats: StatsResponse = client::parse_reply(&b.client_tls).unwrap().read().unwrap();
    assert_eq!(
        stats,
        StatsResponse {
            requests: 4,
            bytes_in: 0x30 + 0x10 + 0x30,
            bytes_out: 0x30 + 0x30,
            open_sessions: 1,
            total_sessions: 2,
            errors: 1,
            pointer_buffer_high_water: 0x130,
            reserved: 0,
        }
    );
    let per_session = b.server.sessions().stats(s1).unwrap();
    assert_eq!((per_session.requests, per_session.errors), (4, 1));
}
