//! Issue 6 through the bench's library API, against the built sysmodule (`make dist`):
//! a fuzz pass of 20,000 messages with a fixed seed, session churn (10,000 sessions and
//! connects past MAX_SESSIONS), and cross-session isolation. Active when `XCBUF_DIST`
//! names the dist directory; otherwise each test prints "skipped". With
//! `XCBUF_SWITCH_OUT` (the Switch ELFs' directory) the churn pass also compares the
//! server's heap use.

use std::path::PathBuf;

use xcbuf_emu::run::RunConfig;
use xcbuf_emu::fuzz;
use xcbuf_emu::host_client::HostBench;

/// The fixed seed of the CI pass.
const SEED: u64 = 0x6_0006;

fn sysmodule() -> Option<PathBuf> {
    let dist = std::env::var_os("XCBUF_DIST")?;
    Some(PathBuf::from(dist).join("sd/atmosphere/contents/4200000000000c0b/exefs.nsp"))
}

fn start() -> Option<HostBench> {
    let Some(nsp) = sysmodule() else {
        println!("skipped: XCBUF_DIST not set");
        return None;
    };
    // With XCBUF_SWITCH_OUT, the sysmodule's ELF locates rt's heap statistics.
    let sysmodule_elf = std::env::var_os("XCBUF_SWITCH_OUT").map(|d| PathBuf::from(d).join("xcbuf-sysmodule"));
    let config = RunConfig { sysmodule_elf, ..RunConfig::default() };
    Some(HostBench::start_sysmodule(&nsp, config).expect("the sysmodule starts and goes idle"))
}

/// 20,000 fuzz cases with `seed` on a fresh bench: no fault, hang or unexpected result,
/// and the server's handle count back where it started.
fn fuzz_pass_is_clean(seed: u64) {
    let Some(mut bench) = start() else { return };
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
fn hostile_messages_never_fault_hang_or_get_undocumented_answers() {
    fuzz_pass_is_clean(SEED);
}

/// Seed 7 once gave six unexpected results, all from the harness: the two requests of an
/// interleaved pair shared C buffers (the server may answer either first) and a copy
/// handle named a session closed mid-request. Kept as a regression run.
#[test]
fn interleaved_requests_keep_their_own_buffers_seed_7() {
    fuzz_pass_is_clean(7);
}

#[test]
fn session_churn_leaks_no_handles_and_the_limit_holds() {
    let Some(mut bench) = start() else { return };
    let report = fuzz::churn(&mut bench, 10_000, SEED).expect("churn runs");
    println!("{report:?}");
    assert_eq!(report.sessions_opened, 10_000);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.handles_start, report.handles_end, "server handles");
    assert_eq!(report.mapped_start, report.mapped_end, "server mappings");
    assert_eq!(report.heap_used_start, report.heap_used_end, "server heap used");
    if std::env::var_os("XCBUF_SWITCH_OUT").is_some() {
        assert!(report.heap_used_start.is_some(), "heap use measured with the sysmodule ELF");
    }
    // Three connects past MAX_SESSIONS (16) per service, two services.
    assert_eq!(report.over_limit_refused + report.over_limit_closed, 6);
    assert_eq!(report.open_sessions_end, Some(16));
}

#[test]
fn no_bytes_of_one_session_reach_another() {
    let Some(mut bench) = start() else { return };
    let report = fuzz::isolation(&mut bench, 30, SEED).expect("isolation runs");
    println!("{report:?}");
    assert_eq!(report.rounds, 30);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Two 0x1000-byte C buffers of B checked per round.
    assert_eq!(report.bytes_checked, 30 * 2 * 0x1000);
}
