//! The bench's `set:sys` and `lm`, one test per command, against the bytes the real
//! services read and write. Requests are literal words laid out as libnx's
//! `cmifMakeRequest` / nx's `ipc/cmif.rs` send them (checked against the common builder);
//! a host client sends them through the kernel path a guest's svcSendSyncRequest takes.
//!
//! Sources checked: libnx `set.h` `SetSysFirmwareVersion`, `set.c`
//! `_setsysGetFirmwareVersionImpl`; Atmosphère ams_mitm `setsys_mitm_service.cpp`
//! `GetFirmwareVersion`/`GetFirmwareVersion2`, libstratosphere `lm/sf/lm_i_log_service.hpp`,
//! `lm/srv/lm_logger_impl.cpp` `LoggerImpl::Log`/`SetProcessId`, `lm/srv/lm_ipc_server.cpp`
//! (pointer buffer 0x400), `sf/impl/sf_impl_command_serialization.hpp`
//! (`PrepareForProcess`, `ProcessBufferImpl` AutoSelect), `sf/hipc/
//! sf_hipc_server_session_manager.cpp` `ProcessRequest` (closes on processing errors);
//! Eden `set/system_settings_server.cpp`, `lm/lm.cpp`.

use xcbuf_common::cmif::{self, OutPointer};
use xcbuf_common::hipc::{MapAliasAttribute, MapAliasDescriptor, PointerDescriptor, ReceiveListEntry};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_emu::hle::set_sys::{self, FirmwareVersion, firmware_version_bytes};
use xcbuf_emu::hle::{self, lm};
use xcbuf_emu::host_client::{HostBench, HostClient, LOW_BUFFERS};
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::loader::{ProcessSetup, ProgramImage};
use xcbuf_emu::run::RunConfig;

/// A guest that blocks forever (WaitSynchronization on nothing, no timeout): the bench
/// needs a server process; `mov x1, #0; mov w2, #0; mov x3, #-1; svc #0x18; b .`
const IDLE_GUEST: [u32; 5] = [0xd2800001, 0x52800002, 0x92800003, 0xd4000301, 0x14000000];

fn bench_with(config: RunConfig) -> (HostBench, HostClient) {
    let setup = ProcessSetup::nro("idle", LaunchKind::Emulator, ProgramImage::from_code(&IDLE_GUEST));
    let mut bench = HostBench::start(setup, config, &[]).expect("bench");
    let client = HostClient::new(&mut bench, "client").expect("host client");
    (bench, client)
}

fn bench() -> (HostBench, HostClient) {
    bench_with(RunConfig::default())
}

/// Where the tests put the client's buffers.
const C_BUFFER: u64 = LOW_BUFFERS + 0x1000;
const PACKET: u64 = LOW_BUFFERS + 0x2000;

/// A reply's SFCO: the first 16-byte boundary after the headers (libnx
/// `cmifGetAlignedDataStart`): word 4 with no handles and with one move handle.
fn sfco_result(words: &[u32]) -> ResultCode {
    assert_eq!(words[4], cmif::OUT_HEADER_MAGIC, "SFCO at word 4: {:08x?}", &words[..12]);
    ResultCode::from_raw(words[6])
}

/// set:sys GetFirmwareVersion(cmd) as libnx sends it: type 4, 8 data words, receive list
/// mode 3 (one C entry); data: 2 padding words, SFCI (magic, version 0, cmd, token 0), 2
/// padding words; C entry: address low 32 bits, address bits 32..47 | size << 16.
fn get_firmware_version(cmd: u32, c_address: u64, c_size: u16) -> Vec<u32> {
    let words = vec![
        0x0000_0004,
        0x0000_0C08,
        0,
        0,
        cmif::IN_HEADER_MAGIC,
        0,
        cmd,
        0,
        0,
        0,
        c_address as u32,
        ((c_address >> 32) as u32 & 0xFFFF) | (u32::from(c_size) << 16),
    ];
    let mut built = [0u32; 64];
    let entry = ReceiveListEntry::new(c_address, u64::from(c_size)).unwrap();
    let out = [OutPointer { entry, has_size_entry: false }];
    let n = cmif::build_request(
        &mut built,
        &cmif::RequestSpec { command_id: cmd, out_pointers: &out, ..Default::default() },
    )
    .unwrap();
    assert_eq!(&built[..n / 4], &words[..], "libnx's layout");
    words
}

fn connect(bench: &mut HostBench, client: &mut HostClient, name: &str) -> u32 {
    client.connect(bench, name).unwrap_or_else(|e| panic!("connect {name}: {e}"))
}

/// Sends `words` and returns (svc result, reply words).
fn send(bench: &mut HostBench, client: &mut HostClient, handle: u32, words: &[u32]) -> (ResultCode, Vec<u32>) {
    let answer = client.send(bench, handle, words).expect("answered");
    (answer.svc_result, answer.words.to_vec())
}

fn read_c(bench: &HostBench, client: &HostClient, len: usize) -> Vec<u8> {
    client.read(bench, C_BUFFER, len).unwrap()
}

#[test]
fn set_sys_get_firmware_version_3_writes_the_0x100_bytes_into_c0_with_the_revision_zeroed() {
    let (mut bench, mut client) = bench();
    client.write(&mut bench, C_BUFFER, &[0xAA; 0x110]).unwrap();
    let h = connect(&mut bench, &mut client, set_sys::SERVICE_NAME);
    let (rc, reply) = send(&mut bench, &mut client, h, &get_firmware_version(3, C_BUFFER, 0x100));
    assert_eq!(rc, ResultCode::SUCCESS);
    assert_eq!(sfco_result(&reply), ResultCode::SUCCESS);
    let c = read_c(&bench, &client, 0x110);
    // libnx set.h: major, minor, micro, pad, revision_major, revision_minor, 2 pad,
    // platform "NX" @0x08, display_version "21.0.0" @0x68.
    assert_eq!(&c[..0x0B], &[21, 0, 0, 0, 0, 0, 0, 0, b'N', b'X', 0]);
    assert_eq!(&c[0x68..0x6F], b"21.0.0\0");
    assert_eq!(&c[..0x100], &firmware_version_bytes(FirmwareVersion::default(), 3)[..]);
    assert_eq!(&c[0x100..], &[0xAA; 0x10], "nothing past the 0x100 bytes");
}

#[test]
fn set_sys_get_firmware_version2_4_keeps_the_revision() {
    let (mut bench, mut client) = bench();
    let h = connect(&mut bench, &mut client, set_sys::SERVICE_NAME);
    let (rc, reply) = send(&mut bench, &mut client, h, &get_firmware_version(4, C_BUFFER, 0x100));
    assert_eq!((rc, sfco_result(&reply)), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    let c = read_c(&bench, &client, 0x100);
    assert_eq!(&c[..8], &[21, 0, 0, 0, set_sys::REVISION_MAJOR, set_sys::REVISION_MINOR, 0, 0]);
    assert_eq!(&c[..], &firmware_version_bytes(FirmwareVersion::default(), 4)[..]);
}

#[test]
fn set_sys_reports_the_firmware_option() {
    let firmware: FirmwareVersion = "12.1.3".parse().unwrap();
    let (mut bench, mut client) = bench_with(RunConfig { firmware, ..RunConfig::default() });
    let h = connect(&mut bench, &mut client, set_sys::SERVICE_NAME);
    let (rc, _) = send(&mut bench, &mut client, h, &get_firmware_version(3, C_BUFFER, 0x100));
    assert_eq!(rc, ResultCode::SUCCESS);
    let c = read_c(&bench, &client, 0x100);
    assert_eq!(&c[..3], &[12, 1, 3]);
    assert_eq!(&c[0x68..0x6F], b"12.1.3\0");
}

/// The reply's X of 0x100 bytes does not fit a C entry of 0x80: the kernel fails the
/// client's receive with OutOfResource (horizon-ipc.md §4), and nothing is written.
#[test]
fn set_sys_firmware_version_into_a_c_buffer_smaller_than_0x100_is_out_of_resource() {
    let (mut bench, mut client) = bench();
    client.write(&mut bench, C_BUFFER, &[0xAA; 0x100]).unwrap();
    let h = connect(&mut bench, &mut client, set_sys::SERVICE_NAME);
    let (rc, _) = send(&mut bench, &mut client, h, &get_firmware_version(3, C_BUFFER, 0x80));
    assert_eq!(rc, kernel::OUT_OF_RESOURCE);
    assert_eq!(read_c(&bench, &client, 0x100), vec![0xAA; 0x100]);
}

/// libstratosphere `PrepareForProcess`: an X descriptor the command does not take is
/// InvalidCmifRequest, and `ProcessRequest` closes the session (no reply).
#[test]
fn set_sys_request_with_a_buffer_the_command_does_not_take_closes_the_session() {
    let (mut bench, mut client) = bench();
    let h = connect(&mut bench, &mut client, set_sys::SERVICE_NAME);
    let x = [PointerDescriptor::new(0, PACKET, 0x10).unwrap()];
    let entry = ReceiveListEntry::new(C_BUFFER, 0x100).unwrap();
    let out = [OutPointer { entry, has_size_entry: false }];
    let mut words = [0u32; 64];
    cmif::build_request(
        &mut words,
        &cmif::RequestSpec { command_id: 3, in_pointers: &x, out_pointers: &out, ..Default::default() },
    )
    .unwrap();
    let (rc, _) = send(&mut bench, &mut client, h, &words);
    assert_eq!(rc, kernel::SESSION_CLOSED);
}

/// lm OpenLogger(ClientProcessId) as nx sends it: type 4, special header with the pid
/// (10 data words), SFCI at word 8 (the 16-byte boundary after the pid), u64 placeholder.
const OPEN_LOGGER: [u32; 15] =
    [0x0000_0004, 0x8000_000A, 0x0000_0001, 0, 0, 0, 0, 0, cmif::IN_HEADER_MAGIC, 0, 0, 0, 0, 0, 0];

fn open_logger(bench: &mut HostBench, client: &mut HostClient) -> u32 {
    let mut built = [0u32; 64];
    let n = cmif::build_request(
        &mut built,
        &cmif::RequestSpec { command_id: 0, process_id: Some(0), payload: &[0; 8], ..Default::default() },
    )
    .unwrap();
    assert_eq!(&built[..n / 4], &OPEN_LOGGER[..], "nx's layout");
    let lm_session = connect(bench, client, lm::SERVICE_NAME);
    let (rc, reply) = send(bench, client, lm_session, &OPEN_LOGGER);
    assert_eq!(rc, ResultCode::SUCCESS);
    // A move handle (special header: 1 move handle), then SFCO at word 4, result 0.
    assert_eq!(reply[1] >> 31, 1, "special header present: {:08x?}", &reply[..8]);
    assert_eq!(reply[2], 1 << 5, "one move handle, no pid, no copy: {:08x?}", &reply[..8]);
    assert_eq!(sfco_result(&reply), ResultCode::SUCCESS);
    let logger = reply[3];
    // nx drops the lm session right away; the ILogger lives on.
    client.close(bench, lm_session).unwrap();
    logger
}

/// Log(InAutoSelectBuffer) with the packet in the X and an A of (0, 0), as nx sends it
/// when the packet fits the pointer buffer: type 4 with 1 X and 1 A.
fn log_via_x(bench: &mut HostBench, client: &mut HostClient, logger: u32, packet: &[u8]) -> ResultCode {
    client.write(bench, PACKET, packet).unwrap();
    let x = [PointerDescriptor::new(0, PACKET, packet.len() as u64).unwrap()];
    let a = [MapAliasDescriptor::new(0, 0, MapAliasAttribute::Ipc).unwrap()];
    let mut words = [0u32; 64];
    cmif::build_request(
        &mut words,
        &cmif::RequestSpec { command_id: 0, in_pointers: &x, sends: &a, ..Default::default() },
    )
    .unwrap();
    assert_eq!(words[0], 0x0011_0004, "type 4, one X, one A");
    let (rc, reply) = send(bench, client, logger, &words);
    if rc == ResultCode::SUCCESS {
        assert_eq!(sfco_result(&reply), ResultCode::SUCCESS, "Log always succeeds");
    }
    rc
}

fn output(bench: &HostBench, client: &HostClient) -> Vec<String> {
    bench.kernel.processes[client.process].output.clone()
}

#[test]
fn lm_open_logger_moves_an_ilogger_handle_to_the_client() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    assert_ne!(logger, 0);
    assert!(output(&bench, &client).is_empty(), "opening logs nothing");
}

/// Control 3 QueryPointerBufferSize on the ILogger (nx sends it before every
/// AutoSelect buffer): lm's pointer buffer, 0x400 (lm_ipc_server.cpp).
#[test]
fn lm_logger_answers_query_pointer_buffer_size_with_0x400() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let mut words = [0u32; 64];
    cmif::build_query_pointer_buffer_size(&mut words).unwrap();
    let (rc, reply) = send(&mut bench, &mut client, logger, &words);
    assert_eq!((rc, sfco_result(&reply)), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    assert_eq!(reply[8] & 0xFFFF, 0x400);
}

/// An Atmosphère packet (Head | Tail | LittleEndian, TextLog "hello"), bytes by hand.
#[test]
fn lm_log_of_an_atmosphere_head_tail_packet_prints_its_text_as_an_output_line() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let mut packet = vec![0u8; 0x18];
    packet[0x10] = 0x07;
    packet[0x14] = 7;
    packet.extend_from_slice(&[0x02, 0x05, b'h', b'e', b'l', b'l', b'o']);
    assert_eq!(log_via_x(&mut bench, &mut client, logger, &packet), ResultCode::SUCCESS);
    assert_eq!(output(&bench, &client), vec!["[lm] hello".to_string()]);
}

/// nx's short log: one Head | LittleEndian packet, never Tail: the line is printed when
/// the ILogger closes (nx drops it after each log).
#[test]
fn lm_log_of_an_nx_head_only_packet_prints_when_the_logger_closes() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let packet = lm::encode_packet(
        0,
        1,
        lm::FLAG_HEAD | lm::FLAG_LITTLE_ENDIAN,
        &[(lm::key::TEXT_LOG, b"from nx"), (lm::key::MODULE_NAME, b"crafted")],
    );
    assert_eq!(log_via_x(&mut bench, &mut client, logger, &packet), ResultCode::SUCCESS);
    assert!(output(&bench, &client).is_empty());
    client.close(&mut bench, logger).unwrap();
    assert_eq!(output(&bench, &client), vec!["[lm] from nx".to_string()]);
}

/// AutoSelect with the data in the A (X = (0, 0)): libstratosphere reads the A when its
/// address is not 0.
#[test]
fn lm_log_reads_the_a_buffer_when_its_address_is_not_zero() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let packet = lm::encode_packet(0, 1, lm::FLAG_HEAD | lm::FLAG_TAIL, &[(lm::key::TEXT_LOG, b"via A")]);
    client.write(&mut bench, PACKET, &packet).unwrap();
    let x = [PointerDescriptor::new(0, 0, 0).unwrap()];
    let a = [MapAliasDescriptor::new(PACKET, packet.len() as u64, MapAliasAttribute::Ipc).unwrap()];
    let mut words = [0u32; 64];
    cmif::build_request(
        &mut words,
        &cmif::RequestSpec { command_id: 0, in_pointers: &x, sends: &a, ..Default::default() },
    )
    .unwrap();
    let (rc, reply) = send(&mut bench, &mut client, logger, &words);
    assert_eq!((rc, sfco_result(&reply)), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    assert_eq!(output(&bench, &client), vec!["[lm] via A".to_string()]);
}

/// Atmosphère `SetProcessId`: 0x18 + payload_size must equal the buffer's size, else
/// `Log` succeeds and logs nothing.
#[test]
fn lm_log_whose_payload_size_disagrees_with_the_buffer_succeeds_and_prints_nothing() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let mut packet = lm::encode_packet(0, 1, lm::FLAG_HEAD | lm::FLAG_TAIL, &[(lm::key::TEXT_LOG, b"lost")]);
    packet.extend_from_slice(&[0; 4]);
    assert_eq!(log_via_x(&mut bench, &mut client, logger, &packet), ResultCode::SUCCESS);
    client.close(&mut bench, logger).unwrap();
    assert!(output(&bench, &client).is_empty());
}

/// Log takes exactly one X and one A (PrepareForProcess): an X alone closes the session.
#[test]
fn lm_log_without_the_a_descriptor_closes_the_session() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let packet = lm::encode_packet(0, 1, lm::FLAG_HEAD | lm::FLAG_TAIL, &[(lm::key::TEXT_LOG, b"x")]);
    client.write(&mut bench, PACKET, &packet).unwrap();
    let x = [PointerDescriptor::new(0, PACKET, packet.len() as u64).unwrap()];
    let mut words = [0u32; 64];
    cmif::build_request(&mut words, &cmif::RequestSpec { command_id: 0, in_pointers: &x, ..Default::default() })
        .unwrap();
    let (rc, _) = send(&mut bench, &mut client, logger, &words);
    assert_eq!(rc, kernel::SESSION_CLOSED);
    assert!(output(&bench, &client).is_empty());
}

/// OpenLogger takes the pid (ClientProcessId): without it the session closes.
#[test]
fn lm_open_logger_without_the_pid_closes_the_session() {
    let (mut bench, mut client) = bench();
    let h = connect(&mut bench, &mut client, lm::SERVICE_NAME);
    let mut words = [0u32; 64];
    cmif::build_request(&mut words, &cmif::RequestSpec { command_id: 0, payload: &[0; 8], ..Default::default() })
        .unwrap();
    let (rc, _) = send(&mut bench, &mut client, h, &words);
    assert_eq!(rc, kernel::SESSION_CLOSED);
}

/// SetDestination(u32) [3.0.0+]: success, no output data.
#[test]
fn lm_set_destination_succeeds() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let words = [0x0000_0004, 0x0000_0009, 0, 0, cmif::IN_HEADER_MAGIC, 0, 1, 0, 2, 0, 0];
    let mut built = [0u32; 64];
    let n = cmif::build_request(
        &mut built,
        &cmif::RequestSpec { command_id: 1, payload: &2u32.to_le_bytes(), ..Default::default() },
    )
    .unwrap();
    assert_eq!(&built[..n / 4], &words[..]);
    let (rc, reply) = send(&mut bench, &mut client, logger, &words);
    assert_eq!((rc, sfco_result(&reply)), (ResultCode::SUCCESS, ResultCode::SUCCESS));
    assert_eq!(reply[1] & 0x3FF, 8, "SFCO and padding only: no out data");
}

/// The registry lists set:sys and lm (the one list the bench registers with its sm).
#[test]
fn registry_lists_set_sys_and_lm() {
    let names: Vec<String> = hle::registry::services().iter().map(|s| s.name().to_string()).collect();
    assert!(names.contains(&"set:sys".to_string()), "{names:?}");
    assert!(names.contains(&"lm".to_string()), "{names:?}");
}

/// set:sys models only commands 3 and 4: any other (here 5 GetFirmwareVersionDigest, as
/// libnx `setsysGetFirmwareVersionDigest` sends it) stops the run with a report naming the
/// service, the interface, the command and the caller, never a silent success.
#[test]
fn set_sys_command_it_does_not_model_stops_the_run_naming_it() {
    let (mut bench, mut client) = bench();
    let h = connect(&mut bench, &mut client, set_sys::SERVICE_NAME);
    let words = [0x0000_0004, 0x0000_0008, 0, 0, cmif::IN_HEADER_MAGIC, 0, 5, 0, 0, 0];
    match client.send(&mut bench, h, &words) {
        Err(xcbuf_emu::host_client::DriveError::HleStopped(report)) => {
            for part in ["set:sys", "ISystemSettingsServer", "5", "client"] {
                assert!(report.contains(part), "{part} in {report}");
            }
        }
        other => panic!("{other:?}"),
    }
}

/// The same for ILogger (command 2, not modelled).
#[test]
fn lm_logger_command_it_does_not_model_stops_the_run_naming_it() {
    let (mut bench, mut client) = bench();
    let logger = open_logger(&mut bench, &mut client);
    let words = [0x0000_0004, 0x0000_0008, 0, 0, cmif::IN_HEADER_MAGIC, 0, 2, 0, 0, 0];
    match client.send(&mut bench, logger, &words) {
        Err(xcbuf_emu::host_client::DriveError::HleStopped(report)) => {
            for part in ["lm", "ILogger", "2", "client"] {
                assert!(report.contains(part), "{part} in {report}");
            }
        }
        other => panic!("{other:?}"),
    }
}
