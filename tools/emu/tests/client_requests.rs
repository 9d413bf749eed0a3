//! The client's screen requests, built with the same `xcbuf_common` calls the client NRO
//! uses (`client-nro/src/service.rs`), read back by the bench's HLE request parser
//! (`hle::session::parse`, libstratosphere's checks): what am, vi, nvdrv and hid would see.

use xcbuf_common::applet::{OPEN_PROXY_ARGS, oe};
use xcbuf_common::cmif::{self, OutPointer, RequestSpec};
use xcbuf_common::hipc::{
    MapAliasAttribute, MapAliasDescriptor, PSEUDO_HANDLE_CURRENT_PROCESS, PointerDescriptor, ReceiveListEntry,
};
use xcbuf_common::nv::{IoctlArgs, NVMAP_CREATE, NvmapCreate, command};
use xcbuf_emu::hle::session::{Incoming, parse};

#[test]
fn open_application_proxy_on_a_domain_reaches_the_object_with_pid_handle_and_u64_zero() {
    let mut buf = [0u32; 64];
    let handles = [PSEUDO_HANDLE_CURRENT_PROCESS];
    let spec = RequestSpec {
        command_id: oe::OPEN_APPLICATION_PROXY,
        process_id: Some(0),
        copy_handles: &handles,
        payload: &OPEN_PROXY_ARGS,
        ..RequestSpec::default()
    };
    cmif::build_domain_request(&mut buf, 1, &spec).unwrap();
    match parse(&buf, true).unwrap() {
        Incoming::DomainMessage { object_id, request } => {
            assert_eq!(object_id, 1);
            assert_eq!(request.command_id, 0);
            assert_eq!(request.payload, [0u8; 8]);
            assert_eq!(request.pid, Some(0));
            assert_eq!(request.copy_handles, [PSEUDO_HANDLE_CURRENT_PROCESS]);
            assert!(request.in_objects.is_empty());
        }
        other => panic!("not a domain message: {other:?}"),
    }
}

#[test]
fn a_domain_close_is_parsed_as_the_close_of_that_object() {
    let mut buf = [0u32; 64];
    cmif::build_domain_close(&mut buf, 5).unwrap();
    assert_eq!(parse(&buf, true).unwrap(), Incoming::DomainClose { object_id: 5 });
}

/// nvdrv Ioctl with map-alias auto buffers: X(0, 0) + A(struct), B(struct) + C(0, 0) with a
/// size-table entry 0 (screen-output.md §1c "Ioctl").
#[test]
fn an_nvdrv_ioctl_carries_a_and_b_with_the_struct_and_an_empty_x_and_c() {
    let mut buf = [0u32; 64];
    let input = NvmapCreate { size: 0x780000, handle: 0 }.encode();
    let a = MapAliasDescriptor::new(0x1_0000, input.len() as u64, MapAliasAttribute::Ipc).unwrap();
    let b = MapAliasDescriptor::new(0x2_0000, input.len() as u64, MapAliasAttribute::Ipc).unwrap();
    let x = PointerDescriptor::new(0, 0, 0).unwrap();
    let c = OutPointer { entry: ReceiveListEntry::new(0, 0).unwrap(), has_size_entry: true };
    let args = IoctlArgs { fd: 3, request: NVMAP_CREATE }.encode();
    let spec = RequestSpec {
        command_id: command::IOCTL,
        in_pointers: &[x],
        sends: &[a],
        receives: &[b],
        out_pointers: &[c],
        payload: &args,
        ..RequestSpec::default()
    };
    cmif::build_request(&mut buf, &spec).unwrap();
    let Incoming::Request(r) = parse(&buf, false).unwrap() else { panic!("not a request") };
    assert_eq!(r.command_id, 1);
    assert_eq!(r.payload[..8], [3, 0, 0, 0, 1, 1, 8, 0xC0]);
    assert_eq!((r.a[0].address, r.a[0].size, r.a[0].attribute), (0x1_0000, 8, 0));
    assert_eq!((r.b[0].address, r.b[0].size), (0x2_0000, 8));
    assert_eq!((r.x[0].address, r.x[0].size), (0, 0));
    assert_eq!((r.c[0].address, r.c[0].size), (0, 0));
}
