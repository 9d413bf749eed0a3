//! vi, the relay and the buffer queue, each command pinned to the bytes the real services
//! read and write (sources cited per test).

use super::testing::{OWNER, Screen, gbfr, request_parcel, words};
use super::*;
use crate::hle::test_support::{Harness, RequestParts};
use xcbuf_common::cmif::OutPointer;
use xcbuf_common::hipc::{PointerDescriptor, ReceiveListEntry};

fn result(reply: &HleReply) -> u32 {
    reply_result(reply).expect("a reply").raw()
}

fn ok_payload(reply: HleReply) -> Vec<u8> {
    let HleReply::Reply(r) = reply else { panic!("not a reply") };
    assert_eq!(r.result, ResultCode::SUCCESS);
    r.payload
}

fn call(h: &mut Harness, o: &mut ViObject, id: u32, payload: &[u8]) -> HleReply {
    h.call(o, &RequestParts { command_id: id, payload, ..RequestParts::default() })
}

fn iads() -> ViObject {
    ViObject::DisplayService { open_layers: BTreeSet::new(), stray_layers: BTreeSet::new() }
}

fn name(n: &str) -> Vec<u8> {
    let mut v = vec![0u8; 0x40];
    v[..n.len()].copy_from_slice(n.as_bytes());
    v
}

fn open_layer_args(layer: u64, aruid: u64) -> Vec<u8> {
    let mut v = name("Default");
    v.extend_from_slice(&layer.to_le_bytes());
    v.extend_from_slice(&aruid.to_le_bytes());
    v
}

/// OpenLayer of `layer` with the PID (or not) and a 0x100-byte B buffer; the reply and the
/// B buffer's bytes.
fn open_layer(h: &mut Harness, o: &mut ViObject, layer: u64, pid: bool) -> (HleReply, Vec<u8>) {
    let b = h.out_buffer(0x100);
    let args = open_layer_args(layer, OWNER);
    let receives = [b];
    let reply = h.call(
        o,
        &RequestParts { command_id: 2020, payload: &args, pid, receives: &receives, ..RequestParts::default() },
    );
    (reply, h.read(b.address(), 0x100))
}

#[test]
fn get_display_service_policy_follows_eden() {
    let mut h = Harness::new();
    for (root, command, allowed, denied) in
        [(Root::Manager, 2, [0u32, 1], 2u32), (Root::System, 1, [0, 1], 2), (Root::User, 0, [0, 0], 1)]
    {
        let mut o = ViObject::Root(root);
        for policy in allowed {
            let HleReply::Reply(r) = call(&mut h, &mut o, command, &policy.to_le_bytes()) else { panic!() };
            assert_eq!((r.result, r.out_objects.len()), (ResultCode::SUCCESS, 1));
            assert_eq!(r.out_objects[0].interface(), "IApplicationDisplayService");
        }
        assert_eq!(result(&call(&mut h, &mut o, command, &denied.to_le_bytes())), 0xa72);
        assert!(matches!(call(&mut h, &mut o, command + 1, &0u32.to_le_bytes()), HleReply::Unknown));
    }
}

#[test]
fn open_display_accepts_edens_five_names() {
    let mut h = Harness::new();
    let mut o = iads();
    assert_eq!(ok_payload(call(&mut h, &mut o, 1010, &name("Default"))), 0u64.to_le_bytes());
    assert_eq!(ok_payload(call(&mut h, &mut o, 1010, &name("Null"))), 4u64.to_le_bytes());
    assert_eq!(result(&call(&mut h, &mut o, 1010, &name("default"))), 0x272);
    // The 0x40th byte is forced to NUL: a 0x40-byte name without one still reads.
    let mut long = name("Default");
    long[0x3F] = b'x';
    assert_eq!(ok_payload(call(&mut h, &mut o, 1010, &long)), 0u64.to_le_bytes());
    assert_eq!(ok_payload(call(&mut h, &mut o, 1020, &0u64.to_le_bytes())), Vec::<u8>::new());
}

#[test]
fn open_layer_writes_the_native_window_parcel_and_needs_the_owner_pid() {
    let mut h = Harness::new();
    let layer = h.k.hle.shared.vi.create_managed_layer(OWNER);
    let other = h.k.hle.shared.vi.create_managed_layer(OWNER + 1);
    let mut o = iads();
    // No PID descriptor: the request does not match the command (session closed).
    assert!(matches!(open_layer(&mut h, &mut o, layer, false).0, HleReply::Close));
    // A layer of another process: PermissionDenied (Eden `OpenLayerLocked`).
    assert_eq!(result(&open_layer(&mut h, &mut o, other, true).0), 0xa72);
    assert_eq!(result(&open_layer(&mut h, &mut o, 99, true).0), 0xe72);
    let (reply, b) = open_layer(&mut h, &mut o, layer, true);
    assert_eq!(ok_payload(reply), 0x3Cu64.to_le_bytes());
    // Header {0x28, 0x10, 4, 0x38}; NativeWindow {2, 1, binder id 2 (consumer 1, producer 2)};
    // "dispdrv" at data + 0x18; the objects word.
    let words: Vec<u32> = b[..0x3C].chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(&words[..8], &[0x28, 0x10, 4, 0x38, 2, 1, 2, 0]);
    assert_eq!(&b[0x28..0x30], b"dispdrv\0");
    assert_eq!(&b[0x3C..], &[0u8; 0xC4][..]);
    // Open twice: OperationFailed.
    assert_eq!(result(&open_layer(&mut h, &mut o, layer, true).0), 0x272);
    // CloseLayer of a layer this IADS did not open: NotFound; of its own: success.
    assert_eq!(result(&call(&mut h, &mut o, 2021, &other.to_le_bytes())), 0xe72);
    assert_eq!(ok_payload(call(&mut h, &mut o, 2021, &layer.to_le_bytes())), Vec::<u8>::new());
    assert!(!h.k.hle.shared.vi.layers[&layer].open);
}

#[test]
fn get_relay_service_hands_out_the_binder_driver_and_open_default_display_is_default() {
    let mut h = Harness::new();
    let mut o = iads();
    let HleReply::Reply(r) = call(&mut h, &mut o, 100, &[]) else { panic!() };
    assert_eq!((r.result, r.out_objects.len()), (ResultCode::SUCCESS, 1));
    assert_eq!(r.out_objects[0].interface(), "IHOSBinderDriver");
    assert_eq!(ok_payload(call(&mut h, &mut o, 1011, &[])), 0u64.to_le_bytes());
}

#[test]
fn set_layer_scaling_mode_takes_2_and_4_only() {
    let mut h = Harness::new();
    let mut o = iads();
    let args = |mode: u32| {
        let mut v = mode.to_le_bytes().to_vec();
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&1u64.to_le_bytes());
        v
    };
    assert_eq!(result(&call(&mut h, &mut o, 2101, &args(2))), 0);
    assert_eq!(result(&call(&mut h, &mut o, 2101, &args(4))), 0);
    assert_eq!(result(&call(&mut h, &mut o, 2101, &args(1))), 0xc72);
    assert_eq!(result(&call(&mut h, &mut o, 2101, &args(5))), 0x272);
}

#[test]
fn stray_layer_has_no_owner_and_only_its_creator_destroys_it() {
    let mut h = Harness::new();
    let mut o = iads();
    let b = h.out_buffer(0x100);
    let mut args = 1u32.to_le_bytes().to_vec();
    args.extend_from_slice(&[0; 4]);
    args.extend_from_slice(&0u64.to_le_bytes());
    let receives = [b];
    let reply = h.call(
        &mut o,
        &RequestParts { command_id: 2030, payload: &args, receives: &receives, ..RequestParts::default() },
    );
    let out = ok_payload(reply);
    let layer = u64::from_le_bytes(out[..8].try_into().unwrap());
    assert_eq!(u64::from_le_bytes(out[8..].try_into().unwrap()), 0x3C);
    assert_eq!(h.read(b.address() + 0x18, 4), 2u32.to_le_bytes());
    let l = &h.k.hle.shared.vi.layers[&layer];
    assert_eq!((l.owner_aruid, l.stray, l.open, l.is_shown()), (0, true, true, false));
    let mut other = iads();
    assert_eq!(result(&call(&mut h, &mut other, 2031, &layer.to_le_bytes())), 0xe72);
    assert_eq!(ok_payload(call(&mut h, &mut o, 2031, &layer.to_le_bytes())), Vec::<u8>::new());
    assert!(h.k.hle.shared.vi.layers.is_empty());
}

#[test]
fn relay_refcount_type_must_be_0_or_1_and_native_handle_needs_a_producer() {
    let mut h = Harness::new();
    let _layer = h.k.hle.shared.vi.create_managed_layer(OWNER);
    let mut relay = ViObject::Relay;
    let args = |a: i32, b: i32, c: i32| [a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes()].concat();
    assert_eq!(result(&call(&mut h, &mut relay, 1, &args(2, 1, 0))), 0);
    assert_eq!(result(&call(&mut h, &mut relay, 1, &args(2, 1, 1))), 0);
    assert_eq!(h.k.hle.shared.vi.binders[&2], (1, 2));
    assert_eq!(result(&call(&mut h, &mut relay, 1, &args(2, 1, 2))), 0xFFFF_FFFF);
    assert_eq!(result(&call(&mut h, &mut relay, 2, &args(7, 0xF, 0)[..8])), 0xFFFF_FFFF);
    let HleReply::Reply(r) = call(&mut h, &mut relay, 2, &args(2, 0xF, 0)[..8]) else { panic!() };
    assert!(matches!(r.copy_handles[..], [KObjectRef::ReadableEvent(_)]));
}

// ---- the buffer queue, through TransactParcel (vi::testing::Screen) ----

const FENCE_NONE: [i32; 9] = [0, -1, 0, -1, 0, -1, 0, -1, 0];

#[test]
fn connect_reports_the_default_size_then_badvalue_when_connected_again() {
    let mut s = Screen::new(false);
    // Eden `Connect`: QueueBufferOutput {1, 1, 0, 0} (no buffer yet), status 0.
    assert_eq!(s.connect(), vec![1, 1, 0, 0, 0]);
    assert_eq!(s.connect(), vec![1, 1, 0, 0, -22]);
    // DISCONNECT(2): 0, then NoInit.
    assert_eq!(s.reply_words(11, &words(&[2])), vec![0]);
    assert_eq!(s.reply_words(11, &words(&[2])), vec![-19]);
}

#[test]
fn a_frame_queued_on_a_managed_layer_is_shown_de_swizzled() {
    let mut s = Screen::new(false);
    s.connect();
    assert_eq!(s.preallocate(0), vec![0]);
    // DEQUEUE: slot 0, a present flattened NoFence, status 0.
    let mut expected = vec![0, 1, 0x24, 0];
    expected.extend_from_slice(&FENCE_NONE);
    expected.push(0);
    assert_eq!(s.dequeue(1280), expected);
    // REQUEST_BUFFER: the GBFR as set, then status 0.
    let got = s.request(0);
    assert_eq!(&got[..3], &[1, 0x16C, 0]);
    let gb: Vec<u8> = got[3..3 + 0x16C / 4].iter().flat_map(|w| w.to_le_bytes()).collect();
    assert_eq!(gb, gbfr(s.nvmap_id, 0));
    assert_eq!(got[3 + 0x16C / 4], 0);
    let linear = s.draw(0, 1);
    // QUEUE: QueueBufferOutput {1280, 720, 0, 1 pending}, status 0.
    assert_eq!(s.queue(0), vec![1280, 720, 0, 1, 0]);
    let shown = s.h.k.hle.shared.vi.last_shown.clone().expect("a frame");
    assert_eq!((shown.width, shown.height, shown.frame_number), (1280, 720, 1));
    assert!(shown.rgba == linear, "the shown frame is the drawn image");
}

#[test]
fn a_closed_layer_s_frames_are_not_shown() {
    let mut s = Screen::new(false);
    let layer = s.h.k.hle.shared.vi.layer_of_binder(s.binder).unwrap().id;
    s.h.k.hle.shared.vi.close_layer(layer).unwrap();
    assert_eq!(super::testing::show_on(s, &vec![0x55; 0x3C_0000]), None);
    // The same on an open layer is shown.
    assert!(super::testing::show_on(Screen::new(false), &vec![0x55; 0x3C_0000]).is_some());
}

#[test]
fn set_preallocated_and_disconnect_signal_the_buffer_event() {
    let mut s = Screen::new(false);
    let args = [s.binder.to_le_bytes(), 0xFu32.to_le_bytes()].concat();
    let HleReply::Reply(r) = call(&mut s.h, &mut ViObject::Relay, 2, &args) else { panic!() };
    let [KObjectRef::ReadableEvent(event)] = r.copy_handles[..] else { panic!("one event") };
    s.connect();
    assert!(!s.h.k.events[event].signalled);
    s.preallocate(0);
    assert!(s.h.k.events[event].signalled);
    s.h.k.set_event(event, false);
    s.dequeue(1280);
    s.request(0);
    s.queue(0);
    assert!(!s.h.k.events[event].signalled, "the consumer's release does not signal it (Eden)");
    assert_eq!(s.reply_words(11, &words(&[2])), vec![0]);
    assert!(s.h.k.events[event].signalled);
}

#[test]
fn a_stray_layer_s_frames_are_not_shown() {
    let mut s = Screen::new(true);
    s.connect();
    s.preallocate(0);
    s.dequeue(1280);
    s.request(0);
    s.draw(0, 1);
    assert_eq!(s.queue(0), vec![1280, 720, 0, 1, 0]);
    assert!(s.h.k.hle.shared.vi.last_shown.is_none());
    let not_shown = &s.h.k.hle.shared.vi.not_shown;
    assert_eq!(not_shown.len(), 1);
    assert!(not_shown[0].contains("stray layer"), "{not_shown:?}");
}

#[test]
fn queue_of_a_slot_never_requested_is_bad_value() {
    let mut s = Screen::new(false);
    s.connect();
    s.preallocate(0);
    s.dequeue(1280);
    // QueueBufferOutput {1280, 720, 0, 0 pending}, status BadValue (Eden `QueueBuffer`).
    assert_eq!(s.queue(0), vec![1280, 720, 0, 0, -22]);
    assert!(s.h.k.hle.shared.vi.last_shown.is_none());
}

#[test]
fn queue_with_a_crop_outside_the_buffer_is_bad_value() {
    // Ryujinx `QueueBuffer`: the crop intersected with the buffer must be the crop.
    let mut s = Screen::new(false);
    s.connect();
    s.preallocate(0);
    s.dequeue(1280);
    s.request(0);
    assert_eq!(s.queue_cropped(0, [0, 0, 1281, 720]), vec![1280, 720, 0, 0, -22]);
    assert_eq!(s.queue_cropped(0, [0, 0, 1280, 720]), vec![1280, 720, 0, 1, 0]);
}

#[test]
fn dequeue_with_another_size_than_the_preallocated_buffer_is_no_init() {
    let mut s = Screen::new(false);
    s.connect();
    s.preallocate(0);
    let mut expected = vec![-1, 1, 0x24, 0];
    expected.extend_from_slice(&FENCE_NONE);
    expected.push(-19);
    assert_eq!(s.dequeue(1920), expected);
    // The slot stays free: the right size dequeues it.
    assert_eq!(s.dequeue(1280)[0], 0);
}

#[test]
fn dequeue_of_a_slot_never_preallocated_is_no_memory() {
    let mut s = Screen::new(false);
    s.connect();
    let mut expected = vec![-1, 1, 0x24, 0];
    expected.extend_from_slice(&FENCE_NONE);
    expected.push(-12);
    assert_eq!(s.dequeue(1280), expected);
}

#[test]
fn two_buffers_let_the_client_dequeue_again_and_one_buffer_waits() {
    let mut s = Screen::new(false);
    s.connect();
    s.preallocate(0);
    s.preallocate(1);
    assert_eq!(s.dequeue(1280)[0], 0);
    s.request(0);
    s.queue(0);
    // Slot 0 is on screen: the next DEQUEUE gets slot 1.
    assert_eq!(s.dequeue(1280)[0], 1);
    s.request(1);
    let linear = s.draw(1, 9);
    s.queue(1);
    assert!(s.h.k.hle.shared.vi.last_shown.as_ref().unwrap().rgba == linear);
    // Slot 1 replaced slot 0 on screen, so slot 0 is free again, with no fence.
    let got = s.dequeue(1280);
    assert_eq!(got[0], 0);
    assert_eq!(&got[4..13], &FENCE_NONE);
    // With every slot dequeued or on screen, DEQUEUE waits.
    s.request(0);
    s.queue(0);
    assert_eq!(s.dequeue(1280)[0], 1);
    let (reply, _) = s.transact(3, &words(&[0, 1280, 720, 1, 0xB00]));
    assert!(matches!(reply, HleReply::Defer { .. }));
}

#[test]
fn a_wrong_interface_token_succeeds_without_a_transaction_and_a_zeroed_reply() {
    let mut s = Screen::new(false);
    let mut parcel = request_parcel(&words(&[0, 2, 0]));
    parcel[0x18] = b'x';
    let a = s.h.buffer(&parcel);
    let b = s.h.buffer(&[0xAA; 0x40]);
    let payload = words(&[s.binder, 10, 0]);
    let (sends, receives) = ([a], [b]);
    let parts = RequestParts {
        command_id: 0,
        payload: &payload,
        sends: &sends,
        receives: &receives,
        ..RequestParts::default()
    };
    assert_eq!(result(&s.h.call(&mut s.relay, &parts)), 0);
    assert_eq!(s.h.read(b.address(), 0x40), vec![0; 0x40]);
    assert_eq!(s.h.k.hle.shared.vi.queues[&s.binder].connected_api, None);
}

#[test]
fn transact_parcel_auto_reads_x_and_writes_c() {
    let mut s = Screen::new(false);
    let parcel = request_parcel(&words(&[0, 2, 0]));
    let src = s.h.buffer(&parcel);
    let dst = s.h.out_buffer(0x100);
    let x = [PointerDescriptor::new(0, src.address(), parcel.len() as u64).unwrap()];
    let c = [OutPointer { entry: ReceiveListEntry::new(dst.address(), 0x100).unwrap(), has_size_entry: true }];
    let empty_a =
        [xcbuf_common::hipc::MapAliasDescriptor::new(0, 0, xcbuf_common::hipc::MapAliasAttribute::Ipc).unwrap()];
    let payload = words(&[s.binder, 10, 0]);
    let parts = RequestParts {
        command_id: 3,
        payload: &payload,
        in_pointers: &x,
        sends: &empty_a,
        receives: &empty_a,
        out_pointers: &c,
        ..RequestParts::default()
    };
    let (reply, writes) = s.h.call_with_c(&mut s.relay, &parts);
    assert_eq!(result(&reply), 0);
    let [(0, bytes)] = &writes[..] else { panic!("one C write: {writes:?}") };
    // CONNECT's reply: header {0x14, 0x10, 0, 0x24}, output {1, 1, 0, 0}, status 0.
    let w: Vec<u32> = bytes.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(w, vec![0x14, 0x10, 0, 0x24, 1, 1, 0, 0, 0]);
}
