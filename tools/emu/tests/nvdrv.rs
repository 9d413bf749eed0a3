//! The bench's `nvdrv` / `nvdrv:a`, one test per command and ioctl, against the bytes the
//! real service reads and writes. Requests are built as libnx's `nv.c` sends them
//! (`nvInitialize`: raw u32 size + copy handles [0xFFFF8001, tmem]; `nvOpen`: A buffer
//! with the path, no NUL; `nvIoctl`: raw {fd, request} + auto in (X empty + A struct) and
//! auto out (B struct + C empty with a size-table entry 0); `nvClose`: raw fd), through
//! the kernel path a guest's svcSendSyncRequest takes.
//!
//! Sources checked: libnx `nx/source/services/nv.c`, `nvidia/ioctl/nvmap.c`,
//! `nvidia/ioctl/nvhost-ctrl.c`; Eden `service/nvdrv/nvdrv_interface.cpp`, `nvdrv.cpp`,
//! `devices/nvmap.cpp`, `devices/nvhost_ctrl.cpp`, `core/nvmap.cpp`, `nvdata.h`;
//! Ryujinx `Services/Nv/INvDrvServices.cs`, `NvMap/NvMapDeviceFile.cs`,
//! `NvHostCtrl/NvHostCtrlDeviceFile.cs`; mesosphere `kern_k_transfer_memory.cpp`.

use xcbuf_common::cmif::{self, OutPointer, RequestSpec};
use xcbuf_common::hipc::{MapAliasAttribute, MapAliasDescriptor, PointerDescriptor, ReceiveListEntry};
use xcbuf_common::result::ResultCode;
use xcbuf_emu::hle::nvdrv::ioctl::{
    NVHOST_CTRL_SYNCPT_WAIT, NVMAP_ALLOC, NVMAP_CREATE, NVMAP_FREE, NVMAP_GET_ID, nv_result,
};
use xcbuf_emu::hle::nvdrv::{self};
use xcbuf_emu::host_client::{HIGH_BUFFERS, HostBench, HostClient, LOW_BUFFERS};
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::loader::{ProcessSetup, ProgramImage};
use xcbuf_emu::run::RunConfig;

/// A guest that blocks forever: the bench needs a server process.
const IDLE_GUEST: [u32; 5] = [0xd2800001, 0x52800002, 0x92800003, 0xd4000301, 0x14000000];
/// Where the tests put the path and the ioctl structs.
const PATH: u64 = LOW_BUFFERS + 0x1000;
const IN_STRUCT: u64 = LOW_BUFFERS + 0x2000;
const OUT_STRUCT: u64 = LOW_BUFFERS + 0x3000;
/// The transfer memory: the first 0x10000 bytes of the high buffer region.
const TMEM: u64 = HIGH_BUFFERS;
const TMEM_SIZE: u64 = 0x10000;
/// A frame buffer for ALLOC: the rest of the high buffer region.
const FRAME: u64 = HIGH_BUFFERS + 0x20000;

struct Nv {
    bench: HostBench,
    client: HostClient,
    session: u32,
    tmem: u32,
}

fn bench(config: RunConfig) -> (HostBench, HostClient) {
    let setup = ProcessSetup::nro("idle", LaunchKind::Emulator, ProgramImage::from_code(&IDLE_GUEST));
    let mut bench = HostBench::start(setup, config, &[]).expect("bench");
    let client = HostClient::new(&mut bench, "client").expect("client");
    (bench, client)
}

/// svcCreateTransferMemory(TMEM, TMEM_SIZE, perm 0) by the host client.
fn create_tmem(bench: &mut HostBench, client: &HostClient) -> u32 {
    let t = client.threads()[0];
    let cpu = &mut bench.kernel.processes[client.process].cpu;
    cpu.set_x(1, TMEM).unwrap();
    cpu.set_x(2, TMEM_SIZE).unwrap();
    cpu.set_x(3, 0).unwrap();
    bench.kernel.handle_svc(t, 0x15);
    let cpu = &bench.kernel.processes[client.process].cpu;
    assert_eq!(cpu.x(0), 0, "CreateTransferMemory");
    cpu.x(1) as u32
}

/// (state, attribute, permission) QueryMemory reports at `address` of the client.
fn memory_at(bench: &HostBench, client: &HostClient, address: u64) -> (u32, u8, u32) {
    let info = bench.kernel.processes[client.process].space.query(address);
    (info.state as u32, info.attribute, info.perm.horizon_bits())
}

fn request(spec: RequestSpec<'_>) -> Vec<u32> {
    let mut words = [0u32; 64];
    let n = cmif::build_request(&mut words, &spec).expect("build");
    words[..n / 4].to_vec()
}

/// Sends `words`; returns (svc result, the reply's SFCO result, the payload words after
/// SFCO). Replies without handles have SFCO at word 4 (libnx `cmifGetAlignedDataStart`).
fn send(nv: &mut Nv, words: &[u32]) -> (ResultCode, ResultCode, Vec<u32>) {
    let answer = nv.client.send(&mut nv.bench, nv.session, words).expect("answered");
    let w = answer.words;
    if answer.svc_result != ResultCode::SUCCESS {
        return (answer.svc_result, ResultCode::SUCCESS, Vec::new());
    }
    assert_eq!(w[4], cmif::OUT_HEADER_MAGIC, "SFCO at word 4: {:08x?}", &w[..12]);
    (answer.svc_result, ResultCode::from_raw(w[6]), w[8..12].to_vec())
}

/// nvdrv 3 Initialize(u32 size) + copy handles [0xFFFF8001, tmem].
fn initialize_words(size: u32, handles: &[u32]) -> Vec<u32> {
    request(RequestSpec { command_id: 3, copy_handles: handles, payload: &size.to_le_bytes(), ..Default::default() })
}

fn open_words(nv: &mut Nv, path: &str) -> Vec<u32> {
    nv.client.write(&mut nv.bench, PATH, path.as_bytes()).unwrap();
    let a = [MapAliasDescriptor::new(PATH, path.len() as u64, MapAliasAttribute::Ipc).unwrap()];
    request(RequestSpec { command_id: 0, sends: &a, ..Default::default() })
}

/// Ioctl(fd, request) with `args` in A (X empty) and the out struct in B (C empty, size
/// entry 0), as libnx's `nvIoctl` with map-alias transfer; `pointers`: the other half of
/// each auto pair (X with the struct, C with the struct).
fn ioctl_words(nv: &mut Nv, fd: u32, number: u32, args: &[u8], pointers: bool) -> Vec<u32> {
    nv.client.write(&mut nv.bench, IN_STRUCT, args).unwrap();
    nv.client.write(&mut nv.bench, OUT_STRUCT, &vec![0xEE; args.len()]).unwrap();
    let len = args.len() as u64;
    let mut payload = fd.to_le_bytes().to_vec();
    payload.extend_from_slice(&number.to_le_bytes());
    let (x, a, b, c) = if pointers {
        (
            [PointerDescriptor::new(0, IN_STRUCT, len).unwrap()],
            [MapAliasDescriptor::new(0, 0, MapAliasAttribute::Ipc).unwrap()],
            [MapAliasDescriptor::new(0, 0, MapAliasAttribute::Ipc).unwrap()],
            [OutPointer { entry: ReceiveListEntry::new(OUT_STRUCT, len).unwrap(), has_size_entry: true }],
        )
    } else {
        (
            [PointerDescriptor::new(0, 0, 0).unwrap()],
            [MapAliasDescriptor::new(IN_STRUCT, len, MapAliasAttribute::Ipc).unwrap()],
            [MapAliasDescriptor::new(OUT_STRUCT, len, MapAliasAttribute::Ipc).unwrap()],
            [OutPointer { entry: ReceiveListEntry::new(0, 0).unwrap(), has_size_entry: true }],
        )
    };
    request(RequestSpec {
        command_id: 1,
        payload: &payload,
        in_pointers: &x,
        sends: &a,
        receives: &b,
        out_pointers: &c,
        ..Default::default()
    })
}

/// Connects to `name` and creates the transfer memory, not yet initialized.
fn connected(name: &str) -> Nv {
    connected_with(name, RunConfig::default())
}

fn connected_with(name: &str, config: RunConfig) -> Nv {
    let (mut bench, mut client) = bench(config);
    let session = client.connect(&mut bench, name).expect("connect");
    let tmem = create_tmem(&mut bench, &client);
    Nv { bench, client, session, tmem }
}

/// Initialized as libnx does, then libnx closes its tmem handle.
fn initialized(name: &str) -> Nv {
    let mut nv = connected(name);
    let words = initialize_words(TMEM_SIZE as u32, &[0xFFFF_8001, nv.tmem]);
    let (rc, sfco, out) = send(&mut nv, &words);
    assert_eq!((rc, sfco, out[0]), (ResultCode::SUCCESS, ResultCode::SUCCESS, nv_result::SUCCESS));
    nv.client.close(&mut nv.bench, nv.tmem).unwrap();
    nv
}

fn open(nv: &mut Nv, path: &str) -> (u32, u32) {
    let words = open_words(nv, path);
    let (rc, sfco, out) = send(nv, &words);
    assert_eq!((rc, sfco), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    (out[0], out[1])
}

/// (nv_err, the out struct as the client's memory holds it after the reply).
fn ioctl(nv: &mut Nv, fd: u32, number: u32, args: &[u8], pointers: bool) -> (u32, Vec<u8>) {
    let words = ioctl_words(nv, fd, number, args, pointers);
    let (rc, sfco, out) = send(nv, &words);
    assert_eq!((rc, sfco), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    (out[0], nv.client.read(&nv.bench, OUT_STRUCT, args.len()).unwrap())
}

fn create_args(size: u32) -> Vec<u8> {
    let mut a = size.to_le_bytes().to_vec();
    a.extend_from_slice(&[0; 4]);
    a
}

fn alloc_args(handle: u32, align: u32, address: u64) -> Vec<u8> {
    let mut a = vec![0u8; 0x20];
    a[0..4].copy_from_slice(&handle.to_le_bytes());
    a[8..12].copy_from_slice(&1u32.to_le_bytes());
    a[0xC..0x10].copy_from_slice(&align.to_le_bytes());
    a[0x18..0x20].copy_from_slice(&address.to_le_bytes());
    a
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// libnx `nvInitialize` bytes: type 4, 1 special-header word, 2 copy handles, SFCI 3, raw
/// u32 size; the transfer memory stays locked (None, Locked) after the client closes its
/// handle, because nvdrv holds a reference (mesosphere `KTransferMemory` lives while
/// referenced), and comes back RW when the nvdrv session closes.
#[test]
fn initialize_takes_the_process_and_a_reference_to_the_transfer_memory() {
    let mut nv = connected(nvdrv::SERVICE_NAME);
    let words = initialize_words(TMEM_SIZE as u32, &[0xFFFF_8001, nv.tmem]);
    assert_eq!(words[0] & 0xF, 4, "type 4");
    assert_eq!(words[1] >> 31, 1, "special header");
    assert_eq!(words[2], 2 << 1, "2 copy handles, no PID");
    assert_eq!(&words[3..5], &[0xFFFF_8001, nv.tmem]);
    let (rc, sfco, out) = send(&mut nv, &words);
    assert_eq!((rc, sfco, out[0]), (ResultCode::SUCCESS, ResultCode::SUCCESS, nv_result::SUCCESS));
    nv.client.close(&mut nv.bench, nv.tmem).unwrap();
    assert_eq!(memory_at(&nv.bench, &nv.client, TMEM), (5, 1, 0), "Normal, Locked, no permission");
    nv.client.close(&mut nv.bench, nv.session).unwrap();
    assert_eq!(memory_at(&nv.bench, &nv.client, TMEM), (5, 0, 3), "RW again once nvdrv is closed");
}

/// Under the Ryujinx profile nvdrv closes both handles in Initialize (Ryujinx
/// `INvDrvServices.Initialize`): the memory is back once the client closes its own.
#[test]
fn initialize_under_ryujinx_drops_the_transfer_memory_at_once() {
    let config = RunConfig { kernel: xcbuf_emu::kernel::profile::KernelProfile::Ryujinx, ..RunConfig::default() };
    let mut nv = connected_with(nvdrv::SERVICE_NAME, config);
    let words = initialize_words(TMEM_SIZE as u32, &[0xFFFF_8001, nv.tmem]);
    let (_, _, out) = send(&mut nv, &words);
    assert_eq!(out[0], nv_result::SUCCESS);
    assert_eq!(memory_at(&nv.bench, &nv.client, TMEM), (5, 1, 0), "locked while the client's handle lives");
    nv.client.close(&mut nv.bench, nv.tmem).unwrap();
    assert_eq!(memory_at(&nv.bench, &nv.client, TMEM), (5, 0, 3));
}

/// Both handles are declared: without them the sf framework refuses the request and
/// closes the session (`PrepareForProcess`); the client sees SessionClosed 0xf601.
#[test]
fn initialize_without_its_copy_handles_closes_the_session() {
    let mut nv = connected(nvdrv::SERVICE_NAME);
    let (rc, _, _) = send(&mut nv, &initialize_words(TMEM_SIZE as u32, &[0xFFFF_8001]));
    assert_eq!(rc.raw(), 0xf601);
}

/// Handle [1] that is not a transfer memory: BadParameter, and nothing is held.
#[test]
fn initialize_with_a_process_where_the_transfer_memory_goes_is_bad_parameter() {
    let mut nv = connected(nvdrv::SERVICE_NAME_APPLET);
    let (_, _, out) = send(&mut nv, &initialize_words(TMEM_SIZE as u32, &[0xFFFF_8001, 0xFFFF_8001]));
    assert_eq!(out[0], nv_result::BAD_PARAMETER);
    // Open is still NotInitialized.
    assert_eq!(open(&mut nv, nvdrv::DEV_NVMAP), (0, nv_result::NOT_INITIALIZED));
}

/// Eden `NVDRV::Open/Ioctl1/Close`, Ryujinx `EnsureInitialized`: NotInitialized (3)
/// before Initialize; Open answers fd 0 with it (Eden).
#[test]
fn open_ioctl_close_before_initialize_are_not_initialized() {
    let mut nv = connected(nvdrv::SERVICE_NAME);
    assert_eq!(open(&mut nv, nvdrv::DEV_NVMAP), (0, nv_result::NOT_INITIALIZED));
    assert_eq!(ioctl(&mut nv, 1, NVMAP_CREATE, &create_args(0x1000), false).0, nv_result::NOT_INITIALIZED);
    let close = request(RequestSpec { command_id: 2, payload: &1u32.to_le_bytes(), ..Default::default() });
    assert_eq!(send(&mut nv, &close).2[0], nv_result::NOT_INITIALIZED);
}

/// Open: the A buffer's bytes without a NUL; fds from 1 (Eden `Module::next_fd`); an
/// unknown name is FileOperationFailed (Eden `Module::Open`, Ryujinx `Open`).
#[test]
fn open_names_the_device_without_a_nul_and_gives_fds_from_1() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    assert_eq!(open(&mut nv, "/dev/nvmap"), (1, nv_result::SUCCESS));
    assert_eq!(open(&mut nv, "/dev/nvhost-ctrl"), (2, nv_result::SUCCESS));
    assert_eq!(open(&mut nv, "/dev/nvmapx").1, nv_result::FILE_OPERATION_FAILED);
    assert_eq!(nv_result::FILE_OPERATION_FAILED, 0x30003);
}

/// SetAruid(u64) + PID -> nv_err 0 (both emulators only log it); without the PID the sf
/// framework closes the session.
#[test]
fn set_aruid_needs_the_pid() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let aruid = 0x51u64.to_le_bytes();
    let words = request(RequestSpec { command_id: 8, process_id: Some(0), payload: &aruid, ..Default::default() });
    assert_eq!(send(&mut nv, &words).2[0], nv_result::SUCCESS);
    let words = request(RequestSpec { command_id: 8, payload: &aruid, ..Default::default() });
    assert_eq!(send(&mut nv, &words).0.raw(), 0xf601);
}

/// CREATE {u32 size, u32 handle}: the handle is written at +4; size 0 is BadValue 0xB
/// (Eden `NvMap::CreateHandle`, Ryujinx `Create`); the size is rounded to a page in the
/// shared table; the struct comes back through B (map alias) or C (pointer).
#[test]
fn nvmap_create_writes_the_handle_and_fills_the_shared_table() {
    for pointers in [false, true] {
        let mut nv = initialized(nvdrv::SERVICE_NAME);
        let (fd, _) = open(&mut nv, nvdrv::DEV_NVMAP);
        let (err, out) = ioctl(&mut nv, fd, NVMAP_CREATE, &create_args(0x3C_0001), pointers);
        assert_eq!(err, nv_result::SUCCESS);
        assert_eq!(u32_at(&out, 0), 0x3C_0001, "size unchanged");
        let handle = u32_at(&out, 4);
        assert_ne!(handle, 0);
        let object = *nv.bench.kernel.hle.shared.nvmap.get(handle).expect("in HleShared::nvmap");
        assert_eq!((object.owner, object.size, object.allocation), (nv.client.process, 0x3C_1000, None));
        assert_eq!(ioctl(&mut nv, fd, NVMAP_CREATE, &create_args(0), pointers).0, nv_result::BAD_VALUE);
    }
}

/// ALLOC {handle, heapmask, flags, align, kind, pad, address}: Eden's checks (handle 0,
/// alignment a power of two, not yet allocated), Ryujinx's (address 0 -> OutOfMemory =
/// InsufficientMemory 6), the alignment raised to a page and written back; the
/// allocation lands in the shared table, where the compositor finds the frame.
#[test]
fn nvmap_alloc_checks_like_eden_and_ryujinx_and_records_the_buffer() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let (fd, _) = open(&mut nv, nvdrv::DEV_NVMAP);
    let handle = u32_at(&ioctl(&mut nv, fd, NVMAP_CREATE, &create_args(0x10000), false).1, 4);
    assert_eq!(ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(0, 0x20000, FRAME), false).0, nv_result::BAD_VALUE);
    assert_eq!(ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle, 0x3000, FRAME), false).0, nv_result::BAD_VALUE);
    assert_eq!(
        ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle + 100, 0x1000, FRAME), false).0,
        nv_result::BAD_VALUE
    );
    assert_eq!(
        ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle, 0x1000, 0), false).0,
        nv_result::INSUFFICIENT_MEMORY
    );
    // The locked transfer memory cannot back a buffer (bench check).
    assert_eq!(ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle, 0x1000, TMEM), false).0, nv_result::INVALID_ADDRESS);
    let (err, out) = ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle, 0, FRAME), false);
    assert_eq!(err, nv_result::SUCCESS);
    assert_eq!(u32_at(&out, 0xC), 0x1000, "align 0 raised to a page and written back");
    let buffer = nv.bench.kernel.hle.shared.nvmap.buffer(handle).expect("allocated");
    assert_eq!((buffer.owner, buffer.address, buffer.size), (nv.client.process, FRAME, 0x10000));
    assert_eq!(
        ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle, 0x1000, FRAME), false).0,
        nv_result::INSUFFICIENT_MEMORY
    );
}

/// GET_ID {u32 id (out), u32 handle (in)}: id = handle; handle 0 BadValue, unknown
/// AccessDenied (Eden `IocGetId`).
#[test]
fn nvmap_get_id_is_the_handle() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let (fd, _) = open(&mut nv, nvdrv::DEV_NVMAP);
    let handle = u32_at(&ioctl(&mut nv, fd, NVMAP_CREATE, &create_args(0x1000), false).1, 4);
    let args = |h: u32| [0u32.to_le_bytes(), h.to_le_bytes()].concat();
    let (err, out) = ioctl(&mut nv, fd, NVMAP_GET_ID, &args(handle), false);
    assert_eq!((err, u32_at(&out, 0), u32_at(&out, 4)), (nv_result::SUCCESS, handle, handle));
    assert_eq!(ioctl(&mut nv, fd, NVMAP_GET_ID, &args(0), false).0, nv_result::BAD_VALUE);
    assert_eq!(ioctl(&mut nv, fd, NVMAP_GET_ID, &args(handle + 7), false).0, nv_result::ACCESS_DENIED);
}

/// FREE {handle, pad, u64 address, u32 size, u32 flags}: the object goes; address, size
/// and flags 0 (freed) come back (Ryujinx `Free`); handle 0 is a success writing nothing
/// (Eden `IocFree`).
#[test]
fn nvmap_free_returns_the_buffer_and_removes_the_object() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let (fd, _) = open(&mut nv, nvdrv::DEV_NVMAP);
    let handle = u32_at(&ioctl(&mut nv, fd, NVMAP_CREATE, &create_args(0x10000), false).1, 4);
    assert_eq!(ioctl(&mut nv, fd, NVMAP_ALLOC, &alloc_args(handle, 0x20000, FRAME), false).0, 0);
    let mut args = vec![0u8; 0x18];
    args[0..4].copy_from_slice(&handle.to_le_bytes());
    let (err, out) = ioctl(&mut nv, fd, NVMAP_FREE, &args, false);
    assert_eq!(err, nv_result::SUCCESS);
    assert_eq!(u64::from_le_bytes(out[8..16].try_into().unwrap()), FRAME);
    assert_eq!((u32_at(&out, 0x10), u32_at(&out, 0x14)), (0x10000, 0));
    assert!(nv.bench.kernel.hle.shared.nvmap.get(handle).is_none());
    let (err, out) = ioctl(&mut nv, fd, NVMAP_FREE, &[0u8; 0x18], false);
    assert_eq!((err, &out[4..]), (nv_result::SUCCESS, &[0u8; 0x14][..]), "handle 0: nothing written");
}

/// Ryujinx `GetIoctlArgument`: a struct larger than the buffers is InvalidSize 0xA; an
/// fd never opened is NotImplemented 0x1 (both emulators).
#[test]
fn ioctl_checks_buffer_sizes_then_the_fd() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let (fd, _) = open(&mut nv, nvdrv::DEV_NVMAP);
    assert_eq!(ioctl(&mut nv, fd, NVMAP_ALLOC, &create_args(0x1000), false).0, nv_result::INVALID_SIZE);
    assert_eq!(ioctl(&mut nv, 9, NVMAP_CREATE, &create_args(0x1000), false).0, nv_result::NOT_IMPLEMENTED);
    let close = |fd: u32| request(RequestSpec { command_id: 2, payload: &fd.to_le_bytes(), ..Default::default() });
    assert_eq!(send(&mut nv, &close(fd)).2[0], nv_result::SUCCESS);
    assert_eq!(send(&mut nv, &close(fd)).2[0], nv_result::NOT_IMPLEMENTED, "closed twice");
    assert_eq!(ioctl(&mut nv, fd, NVMAP_CREATE, &create_args(0x1000), false).0, nv_result::NOT_IMPLEMENTED);
}

/// SYNCPT_WAIT {id, threshold, timeout} (Ryujinx `SyncptWait` -> `EventWait`): expired ->
/// Success (a threshold nobody promised counts as expired: Eden `HasSyncpointExpired`);
/// promised and not reached with timeout 0 or 100 -> Timeout 5; id >= 192 ->
/// InvalidValue 0xB; the syncpoints are `HleShared::syncpoints`, which vi's queue
/// reserves and advances.
#[test]
fn nvhost_ctrl_syncpt_wait_compares_with_the_shared_syncpoints() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let (fd, err) = open(&mut nv, nvdrv::DEV_NVHOST_CTRL);
    assert_eq!(err, 0);
    let args = |id: u32, threshold: u32, timeout: i32| {
        [id.to_le_bytes(), threshold.to_le_bytes(), timeout.to_le_bytes()].concat()
    };
    assert_eq!(ioctl(&mut nv, fd, NVHOST_CTRL_SYNCPT_WAIT, &args(7, 0, 0), false).0, nv_result::SUCCESS);
    assert_eq!(
        ioctl(&mut nv, fd, NVHOST_CTRL_SYNCPT_WAIT, &args(7, 1, 0), false).0,
        nv_result::SUCCESS,
        "not promised"
    );
    assert_eq!(nv.bench.kernel.hle.shared.syncpoints.reserve(7), Some(1));
    assert_eq!(ioctl(&mut nv, fd, NVHOST_CTRL_SYNCPT_WAIT, &args(7, 1, 0), false).0, nv_result::TIMEOUT);
    assert_eq!(ioctl(&mut nv, fd, NVHOST_CTRL_SYNCPT_WAIT, &args(7, 1, 100), false).0, nv_result::TIMEOUT);
    assert_eq!(nv.bench.kernel.hle.shared.syncpoints.increment(7), Some(1));
    let (err, out) = ioctl(&mut nv, fd, NVHOST_CTRL_SYNCPT_WAIT, &args(7, 1, 0), false);
    assert_eq!((err, out), (nv_result::SUCCESS, args(7, 1, 0)));
    assert_eq!(ioctl(&mut nv, fd, NVHOST_CTRL_SYNCPT_WAIT, &args(192, 0, 0), false).0, nv_result::BAD_VALUE);
}

/// An ioctl the bench does not model stops the run naming it (never a silent success).
#[test]
fn an_ioctl_not_modelled_stops_the_run() {
    let mut nv = initialized(nvdrv::SERVICE_NAME);
    let (fd, _) = open(&mut nv, nvdrv::DEV_NVMAP);
    let words = ioctl_words(&mut nv, fd, 0xC0080103, &[0; 8], false);
    let _ = nv.client.send(&mut nv.bench, nv.session, &words);
    let stop = nv.bench.kernel.hle.stop.clone().expect("the run stops");
    assert!(stop.contains("0xc0080103"), "{stop}");
}
