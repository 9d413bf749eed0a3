//! Whole-bench tests with tiny guest programs: hand-assembled aarch64 words (assembled
//! once with `aarch64-linux-gnu-as`; the source is in each comment).

use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::loader::{ProcessSetup, ProgramImage};
use xcbuf_emu::observe::RunEnd;
use xcbuf_emu::run::{Role, RunConfig, run_setups};

fn nro(kind: LaunchKind, words: &[u32]) -> ProcessSetup {
    ProcessSetup::nro("client", kind, ProgramImage::from_code(words))
}

fn run_one(setup: ProcessSetup) -> xcbuf_emu::observe::RunReport {
    run_setups(vec![Role { setup, client: true }], &RunConfig::default())
}

#[test]
fn nro_result_is_w0_at_return_to_the_loader_and_debug_output_is_captured() {
    // adr x0, msg; mov x1, #5; svc #0x27; mov w0, #7; ret; msg: "hello"
    let words = [0x100000a0, 0xd28000a1, 0xd40004e1, 0x528000e0, 0xd65f03c0, 0x6c6c6568, 0x0000006f];
    let report = run_one(nro(LaunchKind::Hbmenu, &words));
    assert_eq!(report.end, RunEnd::Completed);
    assert_eq!(report.nro_result, Some(7));
    assert_eq!(report.client_lines, vec!["hello".to_string()]);
    assert_eq!(report.exit_code(), 2, "a non-zero NRO result is a non-zero exit code");
    assert_eq!(report.processes[0].svcs.get(&0x27), Some(&1));
}

#[test]
fn load_from_address_zero_stops_the_process_with_a_fault_report() {
    // movz x1, #0; ldr x0, [x1]
    let report = run_one(nro(LaunchKind::Hbmenu, &[0xd2800001, 0xf9400020]));
    let fault = report.processes[0].fault.clone().expect("a fault report");
    assert!(fault.contains("read of unmapped memory at 0x0"), "{fault}");
    assert!(fault.contains("client/thread#0"), "{fault}");
    assert!(fault.contains("pc 0x7180000004"), "{fault}");
    assert!(fault.contains("x1 =0x0000000000000000"), "{fault}");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn returning_from_an_nso_style_entry_faults_at_address_zero() {
    // ret (lr = 0 in the emulator launch convention)
    let report = run_one(nro(LaunchKind::Emulator, &[0xd65f03c0]));
    let fault = report.processes[0].fault.clone().expect("a fault report");
    assert!(fault.contains("address 0"), "{fault}");
}

#[test]
fn unimplemented_svc_stops_the_run_with_its_name_and_number() {
    // svc #0x19 (CancelSynchronization)
    let report = run_one(nro(LaunchKind::Hbmenu, &[0xd4000321]));
    let fault = report.processes[0].fault.clone().expect("a report");
    assert!(fault.contains("svc 0x19 CancelSynchronization"), "{fault}");
    assert!(fault.contains("not implemented"), "{fault}");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn svc_not_granted_by_the_npdm_stops_the_process() {
    let words = [0x100000a0, 0xd28000a1, 0xd40004e1, 0x528000e0, 0xd65f03c0, 0x6c6c6568, 0x0000006f];
    let mut setup = nro(LaunchKind::Hbmenu, &words);
    let mut allowed = vec![false; 0xC0];
    allowed[0x07] = true;
    setup.svc_allowed = Some(allowed);
    let report = run_one(setup);
    let fault = report.processes[0].fault.clone().expect("a report");
    assert!(fault.contains("svc 0x27 OutputDebugString"), "{fault}");
    assert!(fault.contains("not granted"), "{fault}");
    assert!(report.client_lines.is_empty());
}

#[test]
fn endless_loop_stops_at_the_instruction_budget() {
    // b .
    let config = RunConfig { max_instructions: 1_000_000, ..RunConfig::default() };
    let report = run_setups(vec![Role { setup: nro(LaunchKind::Hbmenu, &[0x14000000]), client: true }], &config);
    assert!(matches!(report.end, RunEnd::BudgetExhausted { .. }), "{:?}", report.end);
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn request_nobody_serves_is_reported_as_a_deadlock() {
    // svc #0x40 (CreateSession); mrs x21, tpidrro_el0; stp wzr, wzr, [x21];
    // mov w0, w2; svc #0x21 (SendSyncRequest on the client end); ret
    let words = [0xd4000801, 0xd53bd075, 0x29007ebf, 0x2a0203e0, 0xd4000421, 0xd65f03c0];
    let report = run_one(nro(LaunchKind::Hbmenu, &words));
    match &report.end {
        RunEnd::Deadlock { threads } => {
            assert_eq!(threads.len(), 1);
            assert!(threads[0].contains("client/thread#0: blocked in SendSyncRequest (0x21)"), "{threads:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.exit_code(), 1);
}

/// Server: ManageNamedPort("pp", 1); ReplyAndReceive([port]); AcceptSession;
/// ReplyAndReceive([session]) with a mode-0 header; reply raw word + 1 with
/// ReplyAndReceive(0 handles, reply target, timeout 0); wait again; ExitProcess.
const PING_PONG_SERVER: [u32; 40] = [
    0x100004e1, 0x52800022, 0xd4000e21, 0x2a0103f3, 0xd10043ff, 0xb90003f3, 0x910003e1, 0x52800022, 0x52800003,
    0x92800004, 0xd4000861, 0x2a1303e1, 0xd4000821, 0x2a0103f4, 0xb90003f4, 0xd53bd075, 0xf90002bf, 0x910003e1,
    0x52800022, 0x52800003, 0x92800004, 0xd4000861, 0xb9400ab6, 0x110006d6, 0x52800037, 0x29005ebf, 0xb9000ab6,
    0x910003e1, 0x52800002, 0x2a1403e3, 0xd2800004, 0xd4000861, 0xf90002bf, 0x910003e1, 0x52800022, 0x52800003,
    0x92800004, 0xd4000861, 0xd40000e1, 0x00007070,
];
/// Client: ConnectToNamedPort("pp"); request {type 4, raw 1 word = 41}; SendSyncRequest;
/// read the reply's raw word; CloseHandle; return it.
const PING_PONG_CLIENT: [u32; 17] = [
    0x10000201, 0xd40003e1, 0x2a0103f3, 0xd53bd075, 0x52800080, 0x52800021, 0x290006a0, 0x52800520, 0xb9000aa0,
    0x2a1303e0, 0xd4000421, 0xb9400aa1, 0x2a1303e0, 0xd40002c1, 0x2a0103e0, 0xd65f03c0, 0x00007070,
];

#[test]
fn ping_pong_between_two_processes_through_a_named_port() {
    let mut server = nro(LaunchKind::Emulator, &PING_PONG_SERVER);
    server.name = "server".into();
    let client = nro(LaunchKind::Hbmenu, &PING_PONG_CLIENT);
    let report = run_setups(
        vec![Role { setup: server, client: false }, Role { setup: client, client: true }],
        &RunConfig::default(),
    );
    assert_eq!(report.end, RunEnd::Completed, "{}", report.summary());
    assert_eq!(report.nro_result, Some(42), "{}", report.summary());
    let server = &report.processes[0];
    assert_eq!(server.requests_received, 1);
    assert_eq!(server.replies_sent, 1);
    // Header (8 bytes) + 1 raw word, each way.
    assert_eq!(server.ipc_bytes_copied, 24);
    assert_eq!(report.processes[1].requests_sent, 1);
}

/// Eden with program arguments (Eden `src/core/loader/nro.cpp` `LoadNroImpl`,
/// `k_process.cpp` `KProcess::Run`): x1 = -1, x0 = its config (MainThreadHandle first,
/// Argv third, whose value[1] points at "homebrew <args>"), lr = the first `svc #7` of the
/// text, so returning ends the process through svcExitProcess and the result is lost.
#[test]
fn eden_args_launch_passes_its_config_and_returns_into_the_first_svc_exit_process() {
    // cmn x1, #1; b.ne wrong; ldr w7, [x0]; cmp w7, #1; b.ne wrong; ldr w7, [x0, #0x30];
    // cmp w7, #5; b.ne wrong; mov x20, x30; ldr x0, [x0, #0x40]; mov x1, #18; svc #0x27;
    // adr x6, first; cmp x6, x20; b.ne wrong; mov w0, #9; ret;
    // wrong: udf #0; first: svc #7; svc #7
    let words = [
        0xb100043f, 0x54000201, 0xb9400007, 0x710004ff, 0x540001a1, 0xb9403007, 0x710014ff, 0x54000141, 0xaa1e03f4,
        0xf9402000, 0xd2800241, 0xd40004e1, 0x100000c6, 0xeb1400df, 0x54000061, 0x52800120, 0xd65f03c0, 0x00000000,
        0xd40000e1, 0xd40000e1,
    ];
    let report = run_one(nro(LaunchKind::EdenArgs, &words));
    assert_eq!(report.end, RunEnd::Completed, "{}", report.summary());
    assert!(report.processes[0].fault.is_none(), "{:?}", report.processes[0].fault);
    assert_eq!(report.client_lines, vec![format!("homebrew {}", xcbuf_emu::loader::EDEN_PROGRAM_ARGS)]);
    assert_eq!(report.processes[0].svcs.get(&0x07), Some(&1), "left through the text's svc #7");
    assert_eq!(report.nro_result, Some(0), "svcExitProcess: w0 is not a result");
}

/// Without an `svc #7` in the text, Eden leaves lr = 0 (`LoadNroImpl` only warns).
#[test]
fn eden_args_launch_without_svc_exit_process_in_the_text_gives_lr_0() {
    // cbnz x30, wrong; cmn x1, #1; b.ne wrong; svc #0xa (ExitThread); wrong: udf #0
    let report = run_one(nro(LaunchKind::EdenArgs, &[0xb500009e, 0xb100043f, 0x54000041, 0xd4000141, 0x00000000]));
    assert_eq!(report.end, RunEnd::Completed, "{}", report.summary());
    assert!(report.processes[0].fault.is_none(), "{:?}", report.processes[0].fault);
}
