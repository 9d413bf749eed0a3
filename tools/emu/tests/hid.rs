//! The bench's `hid`, one test per command, against the bytes the real service reads and
//! writes, and its shared-memory writer against input.md §4-§5's worked offsets. Requests
//! are built as libnx's `hid.c` sends them (`_hidCmdInAruidNoOut` & co: raw data with the
//! ARUID, PID flag; 102 with an X buffer of u32 ids), through the kernel path a guest's
//! svcSendSyncRequest takes.
//!
//! Sources checked: libnx `nx/source/services/hid.c`, `nx/include/switch/services/hid.h`,
//! `runtime/pad.c`; Atmosphère `sf_impl_command_serialization.hpp` (`PrepareForProcess`,
//! `MarshalProcessId`); Eden `service/hid/hid_server.cpp`, `hid_core/resources/npad/
//! npad.cpp`, `npad_resource.cpp`, `hid_core/hid_result.h`; Ryujinx `Services/Hid/
//! IHidServer.cs`, `HidDevices/NpadDevices.cs`, `Types/SharedMemory/Common/RingLifo.cs`.

use xcbuf_common::cmif::{self, RequestSpec};
use xcbuf_common::hipc::PointerDescriptor;
use xcbuf_common::result::ResultCode;
use xcbuf_emu::hle::hid::{self, Press, SHARED_MEMORY_SIZE, results};
use xcbuf_emu::host_client::{HostBench, HostClient, LOW_BUFFERS};
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::kernel::{KObjectRef, ProcessId};
use xcbuf_emu::loader::{ProcessSetup, ProgramImage};
use xcbuf_emu::run::RunConfig;

const IDLE_GUEST: [u32; 5] = [0xd2800001, 0x52800002, 0x92800003, 0xd4000301, 0x14000000];
const IDS: u64 = LOW_BUFFERS + 0x1000;
/// Where the client maps the shared memory: a free address of the ASLR region.
const SHMEM: u64 = 0x50_0000_0000;

struct Hid {
    bench: HostBench,
    client: HostClient,
    session: u32,
    pid: u64,
}

fn connected() -> Hid {
    let setup = ProcessSetup::nro("idle", LaunchKind::Emulator, ProgramImage::from_code(&IDLE_GUEST));
    let mut bench = HostBench::start(setup, RunConfig::default(), &[]).expect("bench");
    let mut client = HostClient::new(&mut bench, "client").expect("client");
    let session = client.connect(&mut bench, hid::SERVICE_NAME).expect("connect");
    let pid = bench.kernel.processes[client.process].pid;
    Hid { bench, client, session, pid }
}

fn words(command_id: u32, payload: &[u8], pid: bool, x: &[PointerDescriptor]) -> Vec<u32> {
    let mut w = [0u32; 64];
    let spec = RequestSpec { command_id, payload, process_id: pid.then_some(0), in_pointers: x, ..Default::default() };
    let n = cmif::build_request(&mut w, &spec).expect("build");
    w[..n / 4].to_vec()
}

/// (svc result, SFCO result, payload words after SFCO, handles of the reply).
fn send(h: &mut Hid, session: u32, words: &[u32]) -> (ResultCode, ResultCode, Vec<u32>, Vec<u32>) {
    let answer = h.client.send(&mut h.bench, session, words).expect("answered");
    let w = answer.words;
    if answer.svc_result != ResultCode::SUCCESS {
        return (answer.svc_result, ResultCode::SUCCESS, Vec::new(), Vec::new());
    }
    let (handles, data) = if w[1] >> 31 != 0 {
        let n = ((w[2] >> 1) & 0xF) + ((w[2] >> 5) & 0xF);
        ((3..3 + n as usize).map(|i| w[i]).collect::<Vec<_>>(), 3 + n as usize)
    } else {
        (Vec::new(), 2)
    };
    let sfco = (data + 3) & !3;
    assert_eq!(w[sfco], cmif::OUT_HEADER_MAGIC, "{:08x?}", &w[..12]);
    (answer.svc_result, ResultCode::from_raw(w[sfco + 2]), w[sfco + 4..sfco + 8].to_vec(), handles)
}

/// [`send`] on the hid session itself.
fn send_root(h: &mut Hid, words: &[u32]) -> (ResultCode, ResultCode, Vec<u32>, Vec<u32>) {
    let session = h.session;
    send(h, session, words)
}

fn aruid_payload(aruid: u64) -> Vec<u8> {
    aruid.to_le_bytes().to_vec()
}

/// u32 value, u32 pad, u64 aruid (109, 100).
fn value_aruid_payload(value: u32, aruid: u64) -> Vec<u8> {
    let mut p = value.to_le_bytes().to_vec();
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&aruid.to_le_bytes());
    p
}

/// CreateAppletResource(aruid) + PID -> the IAppletResource session handle.
fn applet_resource(h: &mut Hid, aruid: u64) -> u32 {
    let (rc, sfco, _, handles) = send(h, h.session, &words(0, &aruid_payload(aruid), true, &[]));
    assert_eq!((rc, sfco), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    assert_eq!(handles.len(), 1, "one move handle");
    handles[0]
}

fn shared_memory_handle(h: &mut Hid, resource: u32) -> u32 {
    let (rc, sfco, _, handles) = send(h, resource, &words(0, &[], false, &[]));
    assert_eq!((rc, sfco), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    handles[0]
}

fn simple(h: &mut Hid, command: u32, payload: &[u8]) -> ResultCode {
    let (rc, sfco, _, _) = send(h, h.session, &words(command, payload, true, &[]));
    assert_eq!(rc, ResultCode::SUCCESS);
    sfco
}

fn set_ids(h: &mut Hid, ids: &[u32]) -> ResultCode {
    let bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_le_bytes()).collect();
    h.client.write(&mut h.bench, IDS, &bytes).unwrap();
    let x = [PointerDescriptor::new(0, IDS, bytes.len() as u64).unwrap()];
    let aruid = h.pid;
    let (rc, sfco, _, _) = send(h, h.session, &words(102, &aruid_payload(aruid), true, &x));
    assert_eq!(rc, ResultCode::SUCCESS);
    sfco
}

/// svcMapSharedMemory by the host client: w0.
fn map(h: &mut Hid, handle: u32, address: u64, perm: u64) -> u64 {
    let p: ProcessId = h.client.process;
    let t = h.client.threads()[0];
    let cpu = &mut h.bench.kernel.processes[p].cpu;
    for (r, v) in [(0, u64::from(handle)), (1, address), (2, SHARED_MEMORY_SIZE), (3, perm)] {
        cpu.set_x(r, v).unwrap();
    }
    h.bench.kernel.handle_svc(t, 0x13);
    h.bench.kernel.processes[p].cpu.x(0)
}

fn u64_at(h: &Hid, offset: u64) -> u64 {
    h.bench.kernel.processes[h.client.process].cpu.read_u64(SHMEM + offset).unwrap()
}

fn u32_at(h: &Hid, offset: u64) -> u32 {
    h.bench.kernel.processes[h.client.process].cpu.read_u32(SHMEM + offset).unwrap()
}

/// libnx's whole sequence: CreateAppletResource, GetSharedMemoryHandle, map R, 109(5),
/// 102([0, 0x20]), 100(0x1F).
fn configured(presses: Vec<Press>) -> Hid {
    let mut h = connected();
    h.bench.kernel.hle.shared.hid.script = hid::InputScript::new(presses);
    let aruid = h.pid;
    let resource = applet_resource(&mut h, aruid);
    let shmem = shared_memory_handle(&mut h, resource);
    assert_eq!(map(&mut h, shmem, SHMEM, 1), 0);
    assert_eq!(simple(&mut h, 109, &value_aruid_payload(5, aruid)), ResultCode::SUCCESS);
    assert_eq!(set_ids(&mut h, &[0, 0x20]), ResultCode::SUCCESS);
    assert_eq!(simple(&mut h, 100, &value_aruid_payload(0x1F, aruid)), ResultCode::SUCCESS);
    h
}

/// Advances bench time by `ms` and lets the writer catch up.
fn advance(h: &mut Hid, ms: u64) {
    h.bench.kernel.idle_ns += ms * 1_000_000;
    hid::tick(&mut h.bench.kernel);
}

/// The newest handheld sample (input.md §5 worked example): (tail, count, buttons,
/// attributes).
fn handheld(h: &Hid) -> (u64, u64, u64, u32) {
    let tail = u64_at(h, 0x31D88);
    (tail, u64_at(h, 0x31D90), u64_at(h, 0x31DA8 + 0x30 * tail), u32_at(h, 0x31DC0 + 0x30 * tail))
}

/// The newest No1 full-key sample: (tail, buttons, attributes).
fn no1_full_key(h: &Hid) -> (u64, u64, u32) {
    let tail = u64_at(h, 0x9A38);
    (tail, u64_at(h, 0x9A58 + 0x30 * tail), u32_at(h, 0x9A70 + 0x30 * tail))
}

/// The sf framework's ClientAppletResourceUserId rule (input.md §1): no PID flag, or a raw
/// ARUID neither 0 nor the pid, is refused before the command and closes the session.
#[test]
fn create_applet_resource_needs_the_pid_and_an_aruid_of_0_or_the_pid() {
    let mut h = connected();
    let pid = h.pid;
    assert_eq!(send_root(&mut h, &words(0, &aruid_payload(pid), false, &[])).0.raw(), 0xf601);
    let mut h = connected();
    assert_eq!(send_root(&mut h, &words(0, &aruid_payload(pid + 1), true, &[])).0.raw(), 0xf601);
    let mut h = connected();
    applet_resource(&mut h, 0);
    let pid = h.pid;
    applet_resource(&mut h, pid);
    assert_eq!(h.bench.kernel.hle.shared.hid.applets.len(), 1, "0 and the pid are the same ARUID (Eden: the PID)");
}

/// IAppletResource 0: a copy handle of a 0x40000-byte shared memory the client may map
/// only with permission R (Ryujinx `Horizon.cs` user permission R; mesosphere
/// `KSharedMemory::Map`: another permission is 0xd801).
#[test]
fn get_shared_memory_handle_copies_a_read_only_shared_memory() {
    let mut h = connected();
    let resource = applet_resource(&mut h, 0);
    let shmem = shared_memory_handle(&mut h, resource);
    let object = h.bench.kernel.processes[h.client.process].handles.get(shmem);
    let Some(KObjectRef::SharedMemory(id)) = object else { panic!("not a shared memory: {object:?}") };
    assert_eq!(h.bench.kernel.shared_memories[id].size(), 0x40000);
    assert_eq!(map(&mut h, shmem, SHMEM, 3), 0xd801);
    assert_eq!(map(&mut h, shmem, SHMEM, 1), 0);
    // Another call copies the same object again.
    let again = shared_memory_handle(&mut h, resource);
    assert_eq!(h.bench.kernel.processes[h.client.process].handles.get(again), object);
}

/// 102: more than 10 ids is InvalidArraySize 0x596ca (Eden `NPad::SetSupportedNpadIdType`);
/// an ARUID hid does not know is NpadNotConnected 0x58cca (Eden `NPadResource`).
#[test]
fn set_supported_npad_id_type_takes_at_most_10_ids_from_x() {
    let mut h = connected();
    assert_eq!(set_ids(&mut h, &[0, 0x20]), results::NPAD_NOT_CONNECTED);
    applet_resource(&mut h, 0);
    assert_eq!(set_ids(&mut h, &[0; 11]), results::INVALID_ARRAY_SIZE);
    assert_eq!(results::INVALID_ARRAY_SIZE.raw(), 0x596ca);
    assert_eq!(set_ids(&mut h, &[0, 0x20]), ResultCode::SUCCESS);
    let pid = h.pid;
    assert_eq!(h.bench.kernel.hle.shared.hid.applets[&pid].npad_ids, vec![0, 0x20]);
}

/// 100 stores the style set (u32 at 0, ARUID at 8); 101 answers it, 0 when none was set
/// (Eden `NPad::GetSupportedNpadStyleSet`); unknown ARUID: 0x58cca.
#[test]
fn set_and_get_supported_npad_style_set() {
    let mut h = connected();
    let pid = h.pid;
    assert_eq!(simple(&mut h, 100, &value_aruid_payload(0x1F, pid)), results::NPAD_NOT_CONNECTED);
    assert_eq!(results::NPAD_NOT_CONNECTED.raw(), 0x58cca);
    applet_resource(&mut h, 0);
    let (_, sfco, out, _) = send_root(&mut h, &words(101, &aruid_payload(pid), true, &[]));
    assert_eq!((sfco, out[0]), (ResultCode::SUCCESS, 0));
    assert_eq!(simple(&mut h, 100, &value_aruid_payload(0x2000_001F, pid)), ResultCode::SUCCESS);
    let (_, _, out, _) = send_root(&mut h, &words(101, &aruid_payload(pid), true, &[]));
    assert_eq!(out[0], 0x2000_001F);
    assert_eq!(simple(&mut h, 104, &aruid_payload(pid)), ResultCode::SUCCESS, "104 is a no-op");
}

/// 109 (u32 revision at 0, ARUID at 8) prefills: colours NoController, 17 empty samples
/// in each button lifo (count 16, buffer_count 17), but writes no style and no input
/// until 100 defines the style set (Eden).
#[test]
fn activate_npad_with_revision_prefills_empty_lifos() {
    let mut h = connected();
    let pid = h.pid;
    let resource = applet_resource(&mut h, pid);
    let shmem = shared_memory_handle(&mut h, resource);
    assert_eq!(map(&mut h, shmem, SHMEM, 1), 0);
    assert_eq!(u64_at(&h, 0x31D90), 0, "count 0 before 109");
    assert_eq!(simple(&mut h, 109, &value_aruid_payload(5, pid)), ResultCode::SUCCESS);
    assert_eq!(h.bench.kernel.hle.shared.hid.applets[&pid].revision, Some(5));
    assert_eq!((u64_at(&h, 0x31D80), u64_at(&h, 0x31D90)), (17, 16), "handheld buffer_count, count");
    assert_eq!(u32_at(&h, 0x31A08), 2, "full-key colour: NoController");
    advance(&mut h, 50);
    assert_eq!(u32_at(&h, 0x31A00), 0, "no style before 100");
    assert_eq!(handheld(&h).3, 0, "no connected sample before 100");
}

/// The writer (input.md §4-§5, Ryujinx `NpadDevices.UpdateInput`): once 109 and 100 are
/// done, every bench millisecond a sample; handheld in entry 8's handheld lifo, player 1
/// (Pro Controller) in entry 0's full-key lifo, IsConnected|IsWired, mirrored into
/// system_ext; a press of + shows as 0x400 in both while held, then goes.
#[test]
fn writer_shows_a_press_of_plus_in_the_handheld_and_full_key_lifos() {
    let mut h = configured(vec!["plus@20".parse().unwrap()]);
    advance(&mut h, 5);
    assert_eq!(u32_at(&h, 0x31A00), 2, "handheld style");
    assert_eq!(u32_at(&h, 0x9A00), 1, "No1 style FullKey");
    let (_, count, buttons, attributes) = handheld(&h);
    assert_eq!((count, buttons, attributes), (16, 0, 3));
    assert_eq!(no1_full_key(&h).1, 0);
    advance(&mut h, 20);
    let (tail, _, buttons, attributes) = handheld(&h);
    assert_eq!((buttons, attributes), (0x400, 3));
    assert_eq!(u64_at(&h, 0x31D88 - 0x10 + 8), 17, "buffer_count");
    assert_eq!(
        u64_at(&h, 0x31DA8 - 0x10 + 0x30 * tail),
        u64_at(&h, 0x31DA8 - 0x8 + 0x30 * tail),
        "slot = state sampling number"
    );
    let (_, buttons, attributes) = no1_full_key(&h);
    assert_eq!((buttons, attributes), (0x400, 3));
    let ext_tail = u64_at(&h, 0x32E18);
    assert_eq!(u64_at(&h, 0x32E38 + 0x30 * ext_tail), 0x400, "handheld system_ext mirror");
    // The joy-dual lifo of entry 8 only gets empty samples.
    let dual_tail = u64_at(&h, 0x31A00 + 0x6C8 + 0x10);
    assert_eq!(u32_at(&h, 0x31A00 + 0x6C8 + 0x20 + 0x30 * dual_tail + 0x28), 0);
    advance(&mut h, 100);
    assert_eq!(handheld(&h).2, 0, "released after 100 ms");
}

/// Only the ids of 102 connect: Handheld alone leaves entry 0 with style 0 (Ryujinx
/// `Remap`: a player outside the supported list becomes None).
#[test]
fn writer_connects_only_supported_ids_and_styles() {
    let mut h = configured(Vec::new());
    advance(&mut h, 2);
    assert_eq!(u32_at(&h, 0x9A00), 1);
    assert_eq!(set_ids(&mut h, &[0x20]), ResultCode::SUCCESS);
    advance(&mut h, 2);
    assert_eq!((u32_at(&h, 0x9A00), u32_at(&h, 0x31A00)), (0, 2));
    let pid = h.pid;
    assert_eq!(simple(&mut h, 100, &value_aruid_payload(1, pid)), ResultCode::SUCCESS);
    advance(&mut h, 2);
    assert_eq!(u32_at(&h, 0x31A00), 0, "FullKey only: no handheld");
}

/// Default mode: + is pressed only once the npad is configured, nothing can run
/// (on_idle) and no IPC request was sent for 50 ms; starting on the next sample; held
/// 100 ms.
#[test]
fn default_press_waits_for_the_configured_npad() {
    let mut h = connected();
    h.bench.kernel.hle.shared.hid.script = hid::InputScript::new(Vec::new());
    hid::on_idle(&mut h.bench.kernel);
    assert!(h.bench.kernel.hle.shared.hid.script.presses.is_empty(), "no applet yet");
    let mut h = configured(Vec::new());
    advance(&mut h, 3);
    hid::on_idle(&mut h.bench.kernel);
    assert!(h.bench.kernel.hle.shared.hid.script.presses.is_empty(), "not quiet for 50 ms yet");
    advance(&mut h, 30);
    hid::on_idle(&mut h.bench.kernel);
    // An IPC request in between: still working, the quiet period starts again.
    h.bench.kernel.processes[h.client.process].counters.requests_sent += 1;
    advance(&mut h, 30);
    hid::on_idle(&mut h.bench.kernel);
    assert!(h.bench.kernel.hle.shared.hid.script.presses.is_empty(), "the client sent a request");
    advance(&mut h, 60);
    hid::on_idle(&mut h.bench.kernel);
    let presses = h.bench.kernel.hle.shared.hid.script.presses.clone();
    assert_eq!(presses.len(), 1);
    assert_eq!(presses[0].buttons, 0x400);
    hid::on_idle(&mut h.bench.kernel);
    assert_eq!(h.bench.kernel.hle.shared.hid.script.presses.len(), 1, "one at a time");
    advance(&mut h, 2);
    assert_eq!(handheld(&h).2, 0x400);
}

/// `--press` syntax.
#[test]
fn press_arguments_name_buttons_and_bench_milliseconds() {
    let p: Press = "plus@500".parse().unwrap();
    assert_eq!((p.buttons, p.at_ns), (0x400, 500_000_000));
    assert_eq!("a+B@1".parse::<Press>().unwrap().buttons, 0x3);
    assert!("menu@1".parse::<Press>().is_err());
    assert!("plus".parse::<Press>().is_err());
}

/// 103 ActivateNpad (before 5.0.0): the ARUID at offset 0, no revision (libnx
/// `_hidActivateNpad`); the same prefill as 109.
#[test]
fn activate_npad_takes_the_aruid_at_offset_0() {
    let mut h = connected();
    let pid = h.pid;
    applet_resource(&mut h, 0);
    assert_eq!(simple(&mut h, 103, &aruid_payload(pid)), ResultCode::SUCCESS);
    let applet = &h.bench.kernel.hle.shared.hid.applets[&pid];
    assert!(applet.activated);
    assert_eq!(applet.revision, None);
    // A raw ARUID neither 0 nor the pid at offset 0 closes the session.
    assert_eq!(send_root(&mut h, &words(103, &aruid_payload(pid + 1), true, &[])).0.raw(), 0xf601);
}

/// 102 without an X descriptor: Eden reads only X descriptors, so the list is empty and no
/// controller is supported (nothing connects).
#[test]
fn set_supported_npad_id_type_without_x_is_an_empty_list() {
    let mut h = configured(Vec::new());
    let pid = h.pid;
    let (rc, sfco, _, _) = send_root(&mut h, &words(102, &aruid_payload(pid), true, &[]));
    assert_eq!((rc, sfco), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    advance(&mut h, 2);
    assert_eq!((u32_at(&h, 0x9A00), u32_at(&h, 0x31A00)), (0, 0));
}
