//! The bench's `sm:` against what Atmosphère's sm does (`stratosphere/sm/source/
//! sm_user_service.hpp`, `sm_user_service.cpp`, `impl/sm_service_manager.cpp`): a process
//! that registered services and closes its sm session without DetachClient loses them;
//! with DetachClient they stay; a full port reached through GetServiceHandle is sm's
//! OutOfSessions 0x615, not the kernel's 0xe01.
//!
//! The "sysmodule" of the first tests is a host client (a process with no code) that talks
//! to sm through the same kernel path a guest's svcSendSyncRequest takes; the last test
//! uses the real sysmodule from `make dist` (ignored by a plain `cargo test`, run by
//! `make test`: [`xcbuf_pack::built`]).

use xcbuf_common::cmif;
use xcbuf_common::result::{ResultCode, kernel, sm};
use xcbuf_common::sm::{PORT_NAME, ServiceName, command};
use xcbuf_common::tipc;
use xcbuf_common::xcbuf::{INDEXED, SINGLE};
use xcbuf_emu::host_client::{HostBench, HostClient};
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::loader::{ProcessSetup, ProgramImage};
use xcbuf_emu::run::RunConfig;
use xcbuf_pack::built;

/// A guest that blocks forever in WaitSynchronization(no handles, no timeout), so the
/// bench has a (silent) server process: `mov x1, #0; mov w2, #0; mov x3, #-1;
/// svc #0x18; b .`
const IDLE_GUEST: [u32; 5] = [0xd2800001, 0x52800002, 0x92800003, 0xd4000301, 0x14000000];

fn idle_bench() -> HostBench {
    let setup = ProcessSetup::nro("idle", LaunchKind::Emulator, ProgramImage::from_code(&IDLE_GUEST));
    HostBench::start(setup, RunConfig::default(), &[]).expect("bench")
}

fn name_bytes(name: &str) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b
}

/// A CMIF request laid out as libnx's `cmifMakeRequest` (what rt sends).
fn cmif_request(command: u32, send_pid: bool, payload: &[u8]) -> Vec<u32> {
    let mut buf = [0u32; xcbuf_common::hipc::TLS_MESSAGE_BUFFER_WORDS];
    let spec = cmif::RequestSpec {
        command_id: command,
        process_id: send_pid.then_some(0),
        payload,
        ..cmif::RequestSpec::default()
    };
    cmif::build_request(&mut buf, &spec).expect("request");
    buf.to_vec()
}

/// A TIPC request whose raw data is the name.
fn tipc_name_request(command: u32, name: &str) -> Vec<u32> {
    let mut buf = [0u32; xcbuf_common::hipc::TLS_MESSAGE_BUFFER_WORDS];
    let raw = ServiceName::new(name).expect("name").words();
    let words =
        tipc::build_request(&mut buf, &tipc::RequestSpec { command_id: command, raw: &raw, ..Default::default() })
            .expect("TIPC request");
    buf[..words].to_vec()
}

/// The result word of a shim CMIF reply (byte 0x18) after checking SFCO at word 4.
fn cmif_result(words: &[u32]) -> ResultCode {
    assert_eq!(words[4], cmif::OUT_HEADER_MAGIC, "SFCO at word 4: {:x?}", &words[..8]);
    ResultCode::from_raw(words[6])
}

struct SmClient {
    client: HostClient,
    session: u32,
}

impl SmClient {
    /// ConnectToNamedPort("sm:") then RegisterClient.
    fn connect(bench: &mut HostBench, name: &str) -> SmClient {
        let mut client = HostClient::new(bench, name).expect("host client");
        let session = client.connect_named_port(bench, &PORT_NAME.to_string()).expect("sm: session");
        let mut sm = SmClient { client, session };
        assert_eq!(sm.call(bench, &cmif_request(0, true, &[0; 8])), ResultCode::SUCCESS, "RegisterClient");
        sm
    }

    fn send(&mut self, bench: &mut HostBench, message: &[u32]) -> xcbuf_emu::host_client::Answer {
        self.client.send(bench, self.session, message).expect("sm answers at once")
    }

    /// A CMIF command through the shim; its result.
    fn call(&mut self, bench: &mut HostBench, message: &[u32]) -> ResultCode {
        let answer = self.send(bench, message);
        assert_eq!(answer.svc_result, ResultCode::SUCCESS, "SendSyncRequest");
        cmif_result(&answer.words)
    }

    fn register_service(&mut self, bench: &mut HostBench, name: &str, max_sessions: u32) -> ResultCode {
        let mut payload = name_bytes(name).to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0]);
        payload.extend_from_slice(&max_sessions.to_le_bytes());
        self.call(bench, &cmif_request(2, false, &payload))
    }

    fn detach_client(&mut self, bench: &mut HostBench) -> ResultCode {
        self.call(bench, &cmif_request(4, true, &[0; 8]))
    }

    /// Atmosphère's HasService (TIPC 65100): (result, bool).
    fn has_service(&mut self, bench: &mut HostBench, name: &str) -> (ResultCode, bool) {
        let answer = self.send(bench, &tipc_name_request(command::HAS_SERVICE, name));
        assert_eq!(answer.svc_result, ResultCode::SUCCESS);
        let reply = tipc::parse_reply(&answer.words).expect("TIPC reply");
        (reply.result(), reply.out().first().is_some_and(|w| w & 1 != 0))
    }

    /// GetServiceHandle through the shim: (result, the move-handle slot).
    fn get_service_handle(&mut self, bench: &mut HostBench, name: &str) -> (ResultCode, u32) {
        let answer = self.send(bench, &cmif_request(1, false, &name_bytes(name)));
        assert_eq!(answer.svc_result, ResultCode::SUCCESS);
        (cmif_result(&answer.words), answer.words[3])
    }

    fn close(self, bench: &mut HostBench) {
        let mut client = self.client;
        client.close(bench, self.session).expect("close");
    }
}

#[test]
fn a_process_that_closes_its_sm_session_without_detach_client_loses_its_services() {
    // The old sysmodule: RegisterService twice, then only svcCloseHandle on the sm session.
    let mut bench = idle_bench();
    let mut host = SmClient::connect(&mut bench, "old-sysmodule");
    assert_eq!(host.register_service(&mut bench, SINGLE.name, 16), ResultCode::SUCCESS);
    assert_eq!(host.register_service(&mut bench, INDEXED.name, 16), ResultCode::SUCCESS);
    let mut client = SmClient::connect(&mut bench, "client");
    assert_eq!(client.has_service(&mut bench, SINGLE.name), (ResultCode::SUCCESS, true));
    host.close(&mut bench);
    // Atmosphère's ~UserService -> OnClientDisconnected unregistered both.
    assert_eq!(client.has_service(&mut bench, SINGLE.name), (ResultCode::SUCCESS, false));
    assert_eq!(client.has_service(&mut bench, INDEXED.name), (ResultCode::SUCCESS, false));
    assert!(bench.kernel.services.get(SINGLE.name).is_none());
    // GetServiceHandle is now deferred: the request stays unanswered.
    let pending = client
        .client
        .begin(&mut bench, client.session, &cmif_request(1, false, &name_bytes(SINGLE.name)))
        .expect("queued");
    bench.settle().expect("settle");
    assert!(!client.client.is_answered(&bench, pending), "GetServiceHandle of an unregistered name is deferred");
}

#[test]
fn a_process_that_detaches_before_closing_keeps_its_services() {
    let mut bench = idle_bench();
    let mut host = SmClient::connect(&mut bench, "sysmodule");
    assert_eq!(host.register_service(&mut bench, SINGLE.name, 16), ResultCode::SUCCESS);
    assert_eq!(host.detach_client(&mut bench), ResultCode::SUCCESS);
    // Detached: the session is no longer registered (InvalidClient for anything but
    // RegisterClient), and closing it unregisters nothing.
    assert_eq!(host.register_service(&mut bench, "other", 1), sm::INVALID_CLIENT);
    host.close(&mut bench);
    let mut client = SmClient::connect(&mut bench, "client");
    assert_eq!(client.has_service(&mut bench, SINGLE.name), (ResultCode::SUCCESS, true));
    let (result, handle) = client.get_service_handle(&mut bench, SINGLE.name);
    assert_eq!(result, ResultCode::SUCCESS);
    assert_ne!(handle, 0);
}

#[test]
fn a_session_that_never_registered_gets_invalid_client_and_its_close_unregisters_nothing() {
    let mut bench = idle_bench();
    let mut host = SmClient::connect(&mut bench, "sysmodule");
    assert_eq!(host.register_service(&mut bench, SINGLE.name, 16), ResultCode::SUCCESS);
    assert_eq!(host.detach_client(&mut bench), ResultCode::SUCCESS);
    // A second session of the same process that never sent RegisterClient.
    let mut raw = HostClient::new(&mut bench, "raw").expect("client");
    let session = raw.connect_named_port(&mut bench, &PORT_NAME.to_string()).expect("sm:");
    let answer = raw.send(&mut bench, session, &tipc_name_request(command::HAS_SERVICE, SINGLE.name)).expect("answer");
    assert_eq!(tipc::parse_reply(&answer.words).expect("TIPC reply").result(), sm::INVALID_CLIENT);
    raw.close(&mut bench, session).expect("close");
    assert!(bench.kernel.services.contains_key(SINGLE.name));
}

#[test]
fn a_request_sm_cannot_process_closes_the_session_and_unregisters_like_a_close() {
    // HasService over CMIF is not shimmed: sm closes the session without a reply
    // (SessionClosed for the client), and as the session was registered, the process's
    // services go with it.
    let mut bench = idle_bench();
    let mut host = SmClient::connect(&mut bench, "sysmodule");
    assert_eq!(host.register_service(&mut bench, SINGLE.name, 16), ResultCode::SUCCESS);
    let answer = host.send(&mut bench, &cmif_request(command::HAS_SERVICE, false, &name_bytes(SINGLE.name)));
    assert_eq!(answer.svc_result, kernel::SESSION_CLOSED);
    let answer = host.send(&mut bench, &tipc_name_request(command::HAS_SERVICE, SINGLE.name));
    assert_eq!(answer.svc_result, kernel::SESSION_CLOSED, "the session stays closed");
    assert!(bench.kernel.services.get(SINGLE.name).is_none());
}

#[test]
fn unregister_service_is_for_the_owner_and_a_second_register_is_already_registered() {
    let mut bench = idle_bench();
    let mut owner = SmClient::connect(&mut bench, "owner");
    assert_eq!(owner.register_service(&mut bench, SINGLE.name, 16), ResultCode::SUCCESS);
    let mut other = SmClient::connect(&mut bench, "other");
    assert_eq!(other.register_service(&mut bench, SINGLE.name, 16), sm::ALREADY_REGISTERED);
    let unregister = |name: &str| cmif_request(3, false, &name_bytes(name));
    assert_eq!(other.call(&mut bench, &unregister(SINGLE.name)), sm::NOT_ALLOWED);
    assert_eq!(other.call(&mut bench, &unregister("nothing")), sm::NOT_REGISTERED);
    assert_eq!(owner.call(&mut bench, &unregister(SINGLE.name)), ResultCode::SUCCESS);
    assert_eq!(other.has_service(&mut bench, SINGLE.name), (ResultCode::SUCCESS, false));
}

#[test]
fn get_service_handle_on_a_full_port_is_sm_out_of_sessions_0x615() {
    // impl::GetServiceHandle: R_CONVERT(svc::ResultOutOfSessions, sm::ResultOutOfSessions).
    let mut bench = idle_bench();
    let mut host = SmClient::connect(&mut bench, "sysmodule");
    assert_eq!(host.register_service(&mut bench, "tiny", 2), ResultCode::SUCCESS);
    assert_eq!(host.detach_client(&mut bench), ResultCode::SUCCESS);
    let mut client = SmClient::connect(&mut bench, "client");
    for _ in 0..2 {
        let (result, handle) = client.get_service_handle(&mut bench, "tiny");
        assert_eq!(result, ResultCode::SUCCESS);
        assert_ne!(handle, 0);
    }
    let (result, handle) = client.get_service_handle(&mut bench, "tiny");
    assert_eq!(result, sm::OUT_OF_SESSIONS);
    assert_eq!(result.raw(), 0x615);
    assert_eq!(handle, 0, "a failed GetServiceHandle carries handle 0 in its move slot");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_real_sysmodule_detaches_so_its_services_stay_registered() {
    let exefs = built::sysmodule_nsp();
    let mut bench = HostBench::start_sysmodule(&exefs, RunConfig::default()).expect("sysmodule");
    let mut client = SmClient::connect(&mut bench, "client");
    assert_eq!(client.has_service(&mut bench, SINGLE.name), (ResultCode::SUCCESS, true));
    assert_eq!(client.has_service(&mut bench, INDEXED.name), (ResultCode::SUCCESS, true));
    let (result, handle) = client.get_service_handle(&mut bench, SINGLE.name);
    assert_eq!(result, ResultCode::SUCCESS);
    assert_ne!(handle, 0);
}
