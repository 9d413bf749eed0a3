//! Session limits and the receive list the server keeps armed (design.md "Server rules",
//! emulator-bench.md "Receive list at a non-zero offset").

mod server_support;

use server_support::{CLIENT_BASE, RoundTrip};
use xcbuf_common::client::{self, Buffer};
use xcbuf_common::hipc::{Message, ReceiveListEntry, ReceiveListMode};
use xcbuf_common::sf::{SESSION_NOT_OPEN, Server, ServerConfig};
use xcbuf_common::xcbuf;
use xcbuf_common::xcbuf::{
    ConcatResponse, GetInfoResponse, INDEXED_ENTRIES, MAX_SESSIONS, OUT_OF_SESSIONS, RECEIVE_LIST_OFFSET,
};

#[test]
fn sixteen_sessions_open_and_the_seventeenth_is_out_of_sessions() {
    let mut server = Server::new(xcbuf::Xcbuf, xcbuf::SINGLE.config(0x1000)).unwrap();
    let slots: Vec<usize> = (0..MAX_SESSIONS).map(|_| server.open_session(0x201).unwrap()).collect();
    assert_eq!(slots, (0..16).collect::<Vec<_>>());
    assert_eq!(server.open_session(0x201), Err(OUT_OF_SESSIONS));
    assert_eq!(OUT_OF_SESSIONS.raw(), 0xe01);
    // Closing one frees exactly that slot for the next session.
    server.close_session(5).unwrap();
    assert_eq!(server.open_session(0x201), Ok(5));
    assert_eq!(server.sessions().open_count(), 16);
    assert_eq!(server.sessions().total_count(), 17);
}

#[test]
fn closing_a_slot_twice_is_session_not_open() {
    let mut server =
        Server::new(xcbuf::Xcbuf, ServerConfig { max_sessions: 2, ..xcbuf::SINGLE.config(0x1000) }).unwrap();
    let s = server.open_session(0x201).unwrap();
    server.close_session(s).unwrap();
    assert_eq!(server.close_session(s), Err(SESSION_NOT_OPEN));
    assert_eq!(server.close_session(MAX_SESSIONS + 3), Err(SESSION_NOT_OPEN));
    // A smaller limit is honoured.
    server.open_session(0x201).unwrap();
    server.open_session(0x201).unwrap();
    assert_eq!(server.open_session(0x201), Err(OUT_OF_SESSIONS));
}

#[test]
fn prepare_receive_arms_one_entry_at_word_32() {
    let server = Server::new(xcbuf::Xcbuf, xcbuf::SINGLE.config(0x1_2345_6000)).unwrap();
    let mut tls = [0xFFFF_FFFFu32; 64];
    server.prepare_receive(&mut tls).unwrap();
    // word1: mode 2 in bits 10-13, offset 32 in bits 20-30 (horizon-ipc.md §1.2).
    assert_eq!(&tls[..2], &[0, 2 << 10 | 32 << 20]);
    assert_eq!(tls[1], 0x0200_0800);
    assert!(tls[2..32].iter().all(|&w| w == 0), "words between header and list are zeroed");
    // C entry (§2.3): low address, then address bits 32-38 | size << 16.
    assert_eq!(&tls[32..34], &[0x2345_6000, 0x0800_0001]);
}

#[test]
fn every_reply_keeps_the_receive_list_valid_at_the_fixed_offset() {
    let base = 0x7F_0000_0000;
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(base));
    let slot = b.server.open_session(0x201).unwrap();
    b.client.write(CLIENT_BASE, &[7; 0x40]);
    type Build<'a> = &'a dyn Fn(&mut [u32]) -> usize;
    let requests: [Build<'_>; 5] = [
        &|m| client::build_get_info(m).unwrap(),
        &|m| client::build_stats(m).unwrap(),
        &|m| client::build_echo(m, Buffer::new(CLIENT_BASE, 0x40), Buffer::new(CLIENT_BASE + 0x100, 0x40)).unwrap(),
        &|m| {
            let ins = [Buffer::new(CLIENT_BASE, 8); 8];
            client::build_concat(m, &ins, Buffer::new(CLIENT_BASE + 0x100, 0x40)).unwrap()
        },
        &|m| {
            let (h, t) = (Buffer::new(CLIENT_BASE + 0x100, 0x20), Buffer::new(CLIENT_BASE + 0x200, 0x20));
            client::build_split(m, Buffer::new(CLIENT_BASE, 0x40), 0x20, h, t).unwrap()
        },
    ];
    for build in requests {
        build(&mut b.client_tls);
        assert!(b.call(slot).unwrap().result.is_success());
        let m = Message::parse(&b.tls).unwrap();
        let layout = m.layout();
        assert!(layout.raw_end_idx() <= RECEIVE_LIST_OFFSET, "reply raw data ends before the list");
        assert_eq!(usize::from(m.header().receive_list_offset), RECEIVE_LIST_OFFSET);
        assert_eq!(m.header().receive_list_mode, ReceiveListMode::ToSingleBuffer);
        assert_eq!(m.receive_list().collect::<Vec<_>>(), vec![ReceiveListEntry::new(base, 0x800).unwrap()]);
        assert!(m.size_bytes() <= 0x100);
    }
}

#[test]
fn indexed_service_arms_three_entries_and_inputs_land_at_their_starts() {
    let base = 0x5_0000_0000;
    let mut b = RoundTrip::new(xcbuf::INDEXED.config(base));
    let slot = b.server.open_session(0x201).unwrap();
    let m = Message::parse(&b.tls).unwrap();
    assert_eq!(m.header().receive_list_mode, ReceiveListMode::Index(3));
    let entries: Vec<(u64, u16)> = m.receive_list().map(|e| (e.address(), e.size())).collect();
    assert_eq!(entries, vec![(base, 0x200), (base + 0x200, 0x100), (base + 0x300, 0x40)]);
    assert_eq!(INDEXED_ENTRIES.len(), 3);

    client::build_get_info(&mut b.client_tls).unwrap();
    b.call(slot).unwrap();
    let info: GetInfoResponse = client::parse_reply(&b.client_tls).unwrap().read().unwrap();
    assert_eq!((info.receive_mode, info.pointer_buffer_size), (5, 0x800));

    // X index k goes to entry k (horizon-ipc.md §3.3, mode n >= 3).
    b.client.write(CLIENT_BASE, b"abcdefghijklmnopqrstuvwxyz");
    let ins = [Buffer::new(CLIENT_BASE, 4), Buffer::new(CLIENT_BASE + 4, 0x40), Buffer::new(CLIENT_BASE + 8, 3)];
    client::build_concat(&mut b.client_tls, &ins, Buffer::new(CLIENT_BASE + 0x100, 0x80)).unwrap();
    let h = b.call(slot).unwrap();
    assert!(h.result.is_success(), "{}", h.result);
    let reply = client::parse_reply(&b.client_tls).unwrap();
    let resp: ConcatResponse = reply.read().unwrap();
    assert_eq!(&resp.offsets[..3], &[0, 0x200, 0x300]);
    assert_eq!(resp.bytes_written, 4 + 0x40 + 3);
    assert_eq!(b.client.read(CLIENT_BASE + 0x100, 8), b"abcdefgh");
    // The indexed list is re-armed in the reply as well.
    let m = Message::parse(&b.tls).unwrap();
    assert_eq!(m.header().receive_list_mode, ReceiveListMode::Index(3));
    assert_eq!(m.receive_list().count(), 3);
}

#[test]
fn no_stale_bytes_of_earlier_requests_leak_into_replies() {
    let base = 0x9000_0000;
    let mut b = RoundTrip::new(xcbuf::SINGLE.config(base));
    let slot = b.server.open_session(0x201).unwrap();
    // An earlier request fills the top of the pointer buffer with secret bytes.
    b.client.write(CLIENT_BASE, &[0x5A; 0x200]);
    client::build_concat(
        &mut b.client_tls,
        &[Buffer::new(CLIENT_BASE, 0x200)],
        Buffer::new(CLIENT_BASE + 0x1000, 0x200),
    )
    .unwrap();
    b.call(slot).unwrap();
    // Now ask for much more than the inputs hold, in every command with out buffers.
    b.client.bytes.fill(0xEE);
    b.client.write(CLIENT_BASE, &[1, 2, 3]);
    client::build_concat(&mut b.client_tls, &[Buffer::new(CLIENT_BASE, 3)], Buffer::new(CLIENT_BASE + 0x1000, 0x200))
        .unwrap();
    b.call(slot).unwrap();
    assert_eq!(b.server_reply_pointers()[0].size(), 3, "X size is what was written");
    client::build_split(
        &mut b.client_tls,
        Buffer::new(CLIENT_BASE, 3),
        1,
        Buffer::new(CLIENT_BASE + 0x2000, 0x100),
        Buffer::new(CLIENT_BASE + 0x3000, 0x100),
    )
    .unwrap();
    b.call(slot).unwrap();
    client::build_echo(&mut b.client_tls, Buffer::new(CLIENT_BASE, 3), Buffer::new(CLIENT_BASE + 0x3800, 0x100))
        .unwrap();
    b.call(slot).unwrap();
    assert_eq!(b.client.read(CLIENT_BASE + 0x1000, 4), &[1, 2, 3, 0xEE]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x2000, 2), &[1, 0xEE]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x3000, 3), &[2, 3, 0xEE]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x3800, 4), &[1, 2, 3, 0xEE]);
    // Neither the canary of the untouched buffer nor the earlier secret ever arrived.
    assert!(!b.client.bytes.contains(&0x5A));
    assert!(!b.client.bytes.contains(&server_support::POINTER_BUFFER_CANARY));
}
