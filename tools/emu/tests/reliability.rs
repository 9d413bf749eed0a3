//! The sysmodule under hostile input, through the bench's library API, against the built
//! sysmodule: a fuzz pass of 20,000 messages with a fixed seed, session churn (10,000
//! sessions and connects past MAX_SESSIONS, the server's heap use compared through its
//! ELF), and cross-session isolation. The tests need `make dist`'s output: a plain
//! `cargo test` lists them as ignored, `make test` runs them ([`xcbuf_pack::built`]).

use xcbuf_emu::fuzz;
use xcbuf_emu::host_client::HostBench;
use xcbuf_emu::run::RunConfig;
use xcbuf_pack::built;

/// The fixed seed of the CI pass.
const SEED: u64 = 0x6_0006;

/// The built sysmodule, started with its ELF (which locates rt's heap statistics).
fn start() -> HostBench {
    let config = RunConfig { sysmodule_elf: Some(built::sysmodule_elf()), ..RunConfig::default() };
    HostBench::start_sysmodule(&built::sysmodule_nsp(), config).expect("the sysmodule starts and goes idle")
}

/// 20,000 fuzz cases with `seed` on a fresh bench: no fault, hang or unexpected result,
/// and the server's handle count back where it started.
fn fuzz_pass_is_clean(seed: u64) {
    let mut bench = start();
    let report = fuzz::fuzz(&mut bench, 20_000, seed).expect("fuzz runs");
    for f in &report.failures {
        println!("{f}");
    }
    println!("{}", report.summary());
    assert_eq!(report.iterations, 20_000);
    assert_eq!(report.faults, 0, "server faults");
    assert_eq!(report.hangs, 0, "hangs");
    assert_eq!(report.unexpected, 0, "unexpected results");
    assert_eq!(report.handles_start, report.handles_end, "server handles after all sessions closed");
    // Both mid-request paths ran: a close under a pending request (served, then the
    // session closes) and a terminated requester (the server's client-gone paths).
    assert!(report.closed_mid_request > 0 && report.client_gone_mid_request > 0, "{report:?}");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn hostile_messages_never_fault_hang_or_get_undocumented_answers() {
    fuzz_pass_is_clean(SEED);
}

/// Seed 7 once gave six unexpected results, all from the harness: the two requests of an
/// interleaved pair shared C buffers (the server may answer either first) and a copy
/// handle named a session closed mid-request. Kept as a regression run.
#[test]
#[ignore = "needs make dist: run by make test"]
fn interleaved_requests_keep_their_own_buffers_seed_7() {
    fuzz_pass_is_clean(7);
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn session_churn_leaks_no_handles_and_the_limit_holds() {
    let mut bench = start();
    let report = fuzz::churn(&mut bench, 10_000, SEED).expect("churn runs");
    println!("{report:?}");
    assert_eq!(report.sessions_opened, 10_000);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.handles_start, report.handles_end, "server handles");
    assert_eq!(report.mapped_start, report.mapped_end, "server mappings");
    assert_eq!(report.heap_used_start, report.heap_used_end, "server heap used");
    assert!(report.heap_used_start.is_some(), "heap use measured with the sysmodule ELF");
    // Three connects past MAX_SESSIONS (16) per service, two services.
    assert_eq!(report.over_limit_refused + report.over_limit_closed, 6);
    assert_eq!(report.open_sessions_end, Some(16));
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn no_bytes_of_one_session_reach_another() {
    let mut bench = start();
    let report = fuzz::isolation(&mut bench, 30, SEED).expect("isolation runs");
    println!("{report:?}");
    assert_eq!(report.rounds, 30);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Two 0x1000-byte C buffers of B checked per round.
    assert_eq!(report.bytes_checked, 30 * 2 * 0x1000);
}
