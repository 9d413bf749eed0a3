//! A hostile client cannot make the server core panic or stop answering: any words in
//! the message buffer (and any X addresses) give a reply or a close, and the receive
//! list is armed afterwards (design.md "Acceptance figures", robustness).

use proptest::prelude::*;
use xcbuf_common::hipc::{Message, ReceiveListEntry};
use xcbuf_common::sf::{Action, Server};
use xcbuf_common::xcbuf;
use xcbuf_common::xcbuf::RECEIVE_LIST_OFFSET;

const BASE: u64 = 0x1_0000_0000;

fn check(server: &mut Server<xcbuf::Xcbuf>, slot: usize, mut tls: [u32; 64]) {
    let mut pointer_buffer = vec![0xCCu8; server.area().size];
    let handled = server.handle(slot, &mut tls, &mut pointer_buffer);
    let m = Message::parse(&tls).expect("the buffer always holds a valid message afterwards");
    assert_eq!(usize::from(m.header().receive_list_offset), RECEIVE_LIST_OFFSET);
    assert!(m.layout().raw_end_idx() <= RECEIVE_LIST_OFFSET);
    assert_eq!(m.receive_list().next(), server.area().entry(0));
    if handled.action == Action::Reply && handled.result.is_failure() {
        assert_eq!(m.header().pointer_count, 0);
    }
    // Every reply X lies inside the pointer buffer.
    let range = server.pointer_buffer_range();
    for x in m.pointer_descriptors().filter(|x| x.size() > 0) {
        assert!(x.address() >= range.base() && x.address() + u64::from(x.size()) <= range.end());
    }
}

proptest! {
    #[test]
    fn arbitrary_words_never_panic_and_leave_the_list_armed(words in prop::array::uniform32(any::<u32>()), tag in 0u32..8) {
        for config in [xcbuf::SINGLE.config(BASE), xcbuf::INDEXED.config(BASE)] {
            let mut server = Server::new(xcbuf::Xcbuf, config).unwrap();
            let slot = server.open_session(0x201).unwrap();
            let mut tls = [0u32; 64];
            tls[..32].copy_from_slice(&words);
            // Bias towards plausible messages: a CMIF type and a small raw count.
            tls[0] = (tls[0] & 0xFFFF_0000) | tag;
            let mut tls_small = tls;
            tls_small[1] &= 0x8000_3C1F;
            tls_small[4] = 0x4943_4653;
            check(&mut server, slot, tls);
            check(&mut server, slot, tls_small);
        }
    }
}

#[test]
fn the_entry_of_the_fuzzed_area_is_the_pointer_buffer() {
    let server = Server::new(xcbuf::Xcbuf, xcbuf::SINGLE.config(BASE)).unwrap();
    assert_eq!(server.area().entry(0), Some(ReceiveListEntry::new(BASE, 0x800).unwrap()));
}
