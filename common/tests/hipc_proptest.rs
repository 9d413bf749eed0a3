//! Property tests: build-then-parse round-trips for arbitrary valid messages, and parsing
//! arbitrary words never panics (`horizon-ipc.md` §1–§2, §6).

use proptest::collection::vec;
use proptest::prelude::*;
use xcbuf_common::cmif::{
    self, CommandType, Incoming, OutPointer, ReplySpec, RequestSpec, build_reply, build_request, parse_reply,
    parse_request,
};
use xcbuf_common::hipc::{
    MapAliasAttribute, MapAliasDescriptor, Message, MessageBuilder, MessageHeader, MessageLayout, MessageSpec,
    PointerDescriptor, ReceiveListEntry, ReceiveListMode,
};
use xcbuf_common::result::ResultCode;

fn x_desc() -> impl Strategy<Value = PointerDescriptor> {
    (0u8..=15, 0u64..(1 << 39), 0u64..=0xFFFF).prop_map(|(i, a, s)| PointerDescriptor::new(i, a, s).unwrap())
}

fn map_alias() -> impl Strategy<Value = MapAliasDescriptor> {
    let attr = prop_oneof![
        Just(MapAliasAttribute::Ipc),
        Just(MapAliasAttribute::NonSecureIpc),
        Just(MapAliasAttribute::NonDeviceIpc)
    ];
    (0u64..(1 << 39), 0u64..(1 << 36), attr).prop_map(|(a, s, t)| MapAliasDescriptor::new(a, s, t).unwrap())
}

fn c_entry() -> impl Strategy<Value = ReceiveListEntry> {
    (0u64..(1 << 39), 0u64..=0xFFFF).prop_map(|(a, s)| ReceiveListEntry::new(a, s).unwrap())
}

#[derive(Debug, Clone)]
struct Case {
    tag: u16,
    pid: Option<u64>,
    copy: Vec<u32>,
    mv: Vec<u32>,
    x: Vec<PointerDescriptor>,
    a: Vec<MapAliasDescriptor>,
    b: Vec<MapAliasDescriptor>,
    w: Vec<MapAliasDescriptor>,
    raw: Vec<u32>,
    mode_raw: u32,
    c: Vec<ReceiveListEntry>,
    offset_gap: Option<u16>,
    slack: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u16>(),
        proptest::option::of(any::<u64>()),
        vec(any::<u32>(), 0..=15),
        vec(any::<u32>(), 0..=15),
        vec(x_desc(), 0..=15),
        vec(map_alias(), 0..=15),
        vec(map_alias(), 0..=15),
        vec(map_alias(), 0..=15),
        vec(any::<u32>(), 0..=200),
        (0u32..=15, vec(c_entry(), 13), proptest::option::of(0u16..300), 0usize..8),
    )
        .prop_map(|(tag, pid, copy, mv, x, a, b, w, raw, (mode_raw, mut c, offset_gap, slack))| {
            c.truncate(ReceiveListMode::from_raw(mode_raw).entry_count());
            Case { tag, pid, copy, mv, x, a, b, w, raw, mode_raw, c, offset_gap, slack }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn built_messages_parse_back_to_the_same_parts(case in case()) {
        let mode = ReceiveListMode::from_raw(case.mode_raw);
        let mut spec = MessageSpec {
            tag: case.tag,
            process_id: case.pid,
            copy_handles: &case.copy,
            move_handles: &case.mv,
            pointers: &case.x,
            sends: &case.a,
            receives: &case.b,
            exchanges: &case.w,
            raw_count: case.raw.len() as u16,
            receive_list_mode: mode,
            receive_list_offset: 0,
            receive_list: &case.c,
        };
        // Place the receive list `gap` words after the raw data when asked.
        let raw_end = {
            let mut probe = [0u32; 1024];
            MessageBuilder::from_spec(&mut probe, &spec).unwrap().layout().raw_end_idx()
        };
        if let Some(gap) = case.offset_gap {
            let off = raw_end + gap as usize;
            if (1..=0x7FF).contains(&off) {
                spec.receive_list_offset = off as u16;
            }
        }
        let size_words = {
            let mut probe = [0u32; 4096];
            MessageBuilder::from_spec(&mut probe, &spec).unwrap().layout().message_size_words()
        };
        let mut buf = vec![0x5A5A_5A5Au32; size_words + case.slack];
        {
            let mut b = MessageBuilder::from_spec(&mut buf, &spec).unwrap();
            b.raw_mut().copy_from_slice(&case.raw);
        }
        // One word too few is an error, not a panic.
        prop_assert!(Message::parse(&buf[..size_words - 1]).is_err());
        let m = Message::parse(&buf).unwrap();
        prop_assert_eq!(m.size_bytes(), 4 * size_words);
        prop_assert_eq!(m.header().tag, case.tag);
        prop_assert_eq!(m.header().receive_list_mode, mode);
        prop_assert_eq!(m.process_id(), case.pid);
        prop_assert_eq!(m.copy_handles(), &case.copy[..]);
        prop_assert_eq!(m.move_handles(), &case.mv[..]);
        prop_assert_eq!(m.pointer_descriptors().collect::<Vec<_>>(), case.x.clone());
        prop_assert_eq!(m.send_buffers().collect::<Vec<_>>(), case.a.clone());
        prop_assert_eq!(m.receive_buffers().collect::<Vec<_>>(), case.b.clone());
        prop_assert_eq!(m.exchange_buffers().collect::<Vec<_>>(), case.w.clone());
        prop_assert_eq!(m.raw(), &case.raw[..]);
        prop_assert_eq!(m.receive_list().collect::<Vec<_>>(), case.c.clone());
        // Words past the message are untouched.
        prop_assert!(buf[size_words..].iter().all(|&w| w == 0x5A5A_5A5A));
    }

    #[test]
    fn header_words_round_trip(w0 in any::<u32>(), w1 in any::<u32>()) {
        let h = MessageHeader::decode([w0, w1]);
        // Encoding yields the same words minus the reserved bits 14–19 of word 1.
        prop_assert_eq!(h.encode().unwrap(), [w0, w1 & !0x000F_C000]);
    }

    #[test]
    fn parsing_arbitrary_words_never_panics(words in vec(any::<u32>(), 0..80), a in 0usize..300, n in 0usize..20) {
        if let Ok(m) = Message::parse(&words) {
            let layout: &MessageLayout = m.layout();
            prop_assert!(layout.message_size_words() <= words.len());
            prop_assert_eq!(m.pointer_descriptors().count(), m.header().pointer_count as usize);
            prop_assert_eq!(m.send_buffers().count(), m.header().send_count as usize);
            prop_assert_eq!(m.receive_buffers().count(), m.header().receive_count as usize);
            prop_assert_eq!(m.exchange_buffers().count(), m.header().exchange_count as usize);
            prop_assert_eq!(m.receive_list().count(), m.header().receive_list_mode.entry_count());
            prop_assert_eq!(m.raw().len(), m.header().raw_count as usize);
            let _ = (m.process_id(), m.copy_handles(), m.move_handles());
        }
        if let Ok(Incoming::Request(r)) = parse_request(&words) {
            let mut out = [0u8; 16];
            let _ = r.read_payload(a, &mut out[..n.min(16)]);
            let _ = r.payload_u32(a);
            if let Ok(t) = r.size_table(a, n) {
                prop_assert_eq!(t.iter().count(), n);
            }
        }
        if let Ok(r) = parse_reply(&words) {
            let _ = (r.result(), r.payload_u16(a), r.payload_u64(a));
        }
    }

    /// Like the previous property, with headers biased towards small counts so that most
    /// cases get past the size checks and exercise the accessors and the CMIF parsers.
    #[test]
    fn parsing_plausible_headers_never_panics(
        mut words in vec(any::<u32>(), 2..80),
        tag in 0u32..8,
        a in 0usize..100,
        n in 0usize..8,
    ) {
        words[0] = tag | (words[0] & 0x1111_0000);
        words[1] &= 0x1F | 0xF << 10 | 0x3F << 20 | 1 << 31;
        if words.len() > 2 {
            words[2] &= 0x3F;
        }
        if words.len() > 8 {
            words[4] = cmif::IN_HEADER_MAGIC;
            words[6] = cmif::OUT_HEADER_MAGIC;
            words[5] &= 1;
        }
        if let Ok(m) = Message::parse(&words) {
            prop_assert!(m.layout().message_size_words() <= words.len());
            prop_assert_eq!(m.pointer_descriptors().count(), m.header().pointer_count as usize);
            prop_assert_eq!(m.receive_list().count(), m.header().receive_list_mode.entry_count());
            let _ = (m.process_id(), m.copy_handles(), m.move_handles(), m.raw());
        }
        match parse_request(&words) {
            Ok(Incoming::Request(r)) => {
                let mut out = [0u8; 8];
                let _ = r.read_payload(a, &mut out[..n]);
                prop_assert!(r.read_payload(r.payload_len(), &mut [0u8; 1]).is_err());
                if let Ok(t) = r.size_table(a, n) {
                    prop_assert_eq!(t.iter().count(), n);
                }
            }
            Ok(Incoming::Close(_)) => prop_assert_eq!(tag, 2),
            Err(_) => {}
        }
        if let Ok(r) = parse_reply(&words) {
            prop_assert!(r.read_payload(r.payload_len(), &mut [0u8; 1]).is_err());
            let _ = (r.result(), r.payload_u16(a), r.payload_u32(a));
        }
    }

    #[test]
    fn cmif_requests_round_trip(
        command_id in any::<u32>(),
        token in any::<u32>(),
        control in any::<bool>(),
        x in vec(x_desc(), 0..=15),
        outs in vec((c_entry(), any::<bool>()), 0..=13),
        payload in vec(any::<u8>(), 0..=300),
        pid in proptest::option::of(any::<u64>()),
    ) {
        let out_pointers: Vec<OutPointer> =
            outs.iter().map(|&(entry, has_size_entry)| OutPointer { entry, has_size_entry }).collect();
        let spec = RequestSpec {
            command_type: if control { CommandType::Control } else { CommandType::Request },
            command_id,
            version: 1,
            token,
            process_id: pid,
            in_pointers: &x,
            out_pointers: &out_pointers,
            payload: &payload,
            ..RequestSpec::default()
        };
        let mut buf = vec![0u32; 1024];
        let size = build_request(&mut buf, &spec).unwrap();
        // The message must also be rejected by a buffer one word short.
        prop_assert!(parse_request(&buf[..size / 4 - 1]).is_err());
        let Incoming::Request(req) = parse_request(&buf[..size / 4]).unwrap() else {
            return Err(TestCaseError::fail("not a request"));
        };
        prop_assert_eq!(req.command_type(), spec.command_type);
        prop_assert_eq!(req.header(), cmif::InHeader { version: 1, command_id, token });
        prop_assert!(req.payload_len() >= payload.len());
        let mut back = vec![0u8; payload.len()];
        req.read_payload(0, &mut back).unwrap();
        prop_assert_eq!(&back, &payload);
        let sizes: Vec<u16> = outs.iter().filter(|o| o.1).map(|o| o.0.size()).collect();
        let table = req.size_table(payload.len(), sizes.len()).unwrap();
        prop_assert_eq!(table.iter().collect::<Vec<_>>(), sizes);
        prop_assert_eq!(req.message().pointer_descriptors().collect::<Vec<_>>(), x);
        prop_assert_eq!(req.message().process_id(), pid);
        prop_assert_eq!(
            req.message().receive_list().collect::<Vec<_>>(),
            outs.iter().map(|o| o.0).collect::<Vec<_>>()
        );
        // §6.3: the in header is 16-byte aligned relative to the message start.
        let raw_start = 4 * req.message().layout().raw_idx();
        let hdr = (raw_start + 15) & !15;
        prop_assert_eq!(buf[hdr / 4], cmif::IN_HEADER_MAGIC);
    }

    #[test]
    fn cmif_replies_round_trip(
        result in any::<u32>(),
        token in any::<u32>(),
        x in vec(x_desc(), 0..=15),
        mv in vec(any::<u32>(), 0..=15),
        payload in vec(any::<u8>(), 0..=300),
        c in proptest::option::of(c_entry()),
        gap in 0u16..8,
    ) {
        let mut buf = vec![0u32; 1024];
        let raw_end = {
            let spec = ReplySpec { out_pointers: &x, move_handles: &mv, payload: &payload, ..ReplySpec::default() };
            build_reply(&mut buf, &spec).unwrap() / 4
        };
        let list: Vec<ReceiveListEntry> = c.into_iter().collect();
        let spec = ReplySpec {
            result: ResultCode::from_raw(result),
            token,
            out_pointers: &x,
            copy_handles: &[],
            move_handles: &mv,
            payload: &payload,
            receive_list_mode: if list.is_empty() { ReceiveListMode::None } else { ReceiveListMode::ToSingleBuffer },
            receive_list_offset: if list.is_empty() { 0 } else { raw_end as u16 + gap },
            receive_list: &list,
        };
        let size = build_reply(&mut buf, &spec).unwrap();
        let reply = parse_reply(&buf[..size / 4]).unwrap();
        prop_assert_eq!(reply.result().raw(), result);
        prop_assert_eq!(reply.header().token, token);
        let mut back = vec![0u8; payload.len()];
        reply.read_payload(0, &mut back).unwrap();
        prop_assert_eq!(&back, &payload);
        prop_assert_eq!(reply.message().pointer_descriptors().collect::<Vec<_>>(), x);
        prop_assert_eq!(reply.message().move_handles(), &mv[..]);
        prop_assert_eq!(reply.message().receive_list().collect::<Vec<_>>(), list);
        prop_assert_eq!(reply.message().header().tag, 0);
    }
}
