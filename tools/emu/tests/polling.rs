//! Servers that wait with a timeout in a loop (nx's ServerManager waits 100 µs), and runs
//! that never end. The servers start first and the clients once no thread can run, with
//! or without a deadline (run.rs `settle`); while the clients run, bench time jumps from
//! deadline to deadline; every run ends, at the latest at the default budget, with a
//! report of every thread.
//!
//! The crafted guests are hand-assembled aarch64 words (`llvm-mc -triple=aarch64`; the
//! source is in each comment). The tests with the real client need `make dist`'s output:
//! a plain `cargo test` lists them as ignored, `make test` runs them ([`xcbuf_pack::built`]).

use std::time::{Duration, Instant};

use xcbuf_emu::host_client::HostBench;
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::loader::{self, ProcessSetup, ProgramImage};
use xcbuf_emu::observe::{RunEnd, RunReport};
use xcbuf_emu::run::{DEFAULT_MAX_BENCH_NS, Role, RunConfig, run_setups};
use xcbuf_pack::built;

/// loop: mov x1, xzr; mov w2, wzr; mov w3, wzr; mov x4, #0x86a0; movk x4, #1, lsl #16
/// (100 000 ns); svc #0x43 (ReplyAndReceive: no handles, no reply target); b loop.
/// With no object to wait for it returns TimedOut after the timeout (mesosphere
/// kern_svc_ipc.cpp `ReplyAndReceiveImpl` waits in `KSynchronizationObject::Wait`).
const REPLY_AND_RECEIVE_POLLER: [u32; 7] =
    [0xaa1f03e1, 0x2a1f03e2, 0x2a1f03e3, 0xd290d404, 0xf2a00024, 0xd4000861, 0x17fffffa];
/// loop: mov x1, xzr; mov w2, wzr; mov x3, #0x86a0; movk x3, #1, lsl #16; svc #0x18
/// (WaitSynchronization on no handles, 100 µs); b loop.
const WAIT_SYNCHRONIZATION_POLLER: [u32; 6] = [0xaa1f03e1, 0x2a1f03e2, 0xd290d403, 0xf2a00023, 0xd4000301, 0x17fffffb];
/// loop: mov x0, #0x86a0; movk x0, #1, lsl #16; svc #0xb (SleepThread 100 µs); b loop.
const SLEEP_POLLER: [u32; 4] = [0xd290d400, 0xf2a00020, 0xd4000161, 0x17fffffd];
/// adr x0, msg; mov x1, #5; svc #0x27; mov w0, #7; ret; msg: "hello" (crafted.rs).
const HELLO_CLIENT: [u32; 7] = [0x100000a0, 0xd28000a1, 0xd40004e1, 0x528000e0, 0xd65f03c0, 0x6c6c6568, 0x0000006f];
/// svc #0x40 (CreateSession); mrs x21, tpidrro_el0; stp wzr, wzr, [x21]; mov w0, w2;
/// svc #0x21 (SendSyncRequest on the client end, which nobody serves); ret (crafted.rs).
const UNSERVED_REQUEST_CLIENT: [u32; 6] = [0xd4000801, 0xd53bd075, 0x29007ebf, 0x2a0203e0, 0xd4000421, 0xd65f03c0];

fn crafted(name: &str, kind: LaunchKind, words: &[u32]) -> ProcessSetup {
    let mut setup = ProcessSetup::nro(name, kind, ProgramImage::from_code(words));
    setup.name = name.into();
    setup
}

fn server(name: &str, words: &[u32]) -> Role {
    Role { setup: crafted(name, LaunchKind::Emulator, words), client: false }
}

fn real_client(kind: LaunchKind) -> Role {
    let path = built::client_nro();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Role { setup: loader::nro_from_file("xcbuf.nro", &bytes, kind).unwrap(), client: true }
}

fn real_sysmodule() -> Role {
    let path = built::sysmodule_nsp();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Role { setup: loader::sysmodule_from_exefs("exefs.nsp", &bytes).unwrap(), client: false }
}

/// The run completed and the client reported `server: <server>` and `N passed, 0 failed`.
fn assert_client_passed(report: &RunReport, server: &str) {
    let lines: Vec<&str> = report.client_lines.iter().map(|l| l.trim_end()).collect();
    let shown = format!("{}\n{}", report.summary(), lines.join("\n"));
    assert_eq!(report.end, RunEnd::Completed, "{shown}");
    let first = lines.iter().find(|l| l.starts_with("server: ")).unwrap_or_else(|| panic!("no server line\n{shown}"));
    assert!(first.starts_with(&format!("server: {server}")), "{shown}");
    let summary = lines
        .iter()
        .find_map(|l| l.strip_suffix(" passed, 0 failed").and_then(|n| n.parse::<u32>().ok()))
        .unwrap_or_else(|| panic!("no `N passed, 0 failed` line\n{shown}"));
    assert!(summary > 0, "{shown}");
    assert!(!lines.iter().any(|l| l.starts_with("FAIL ")), "{shown}");
    assert_eq!(report.nro_result, Some(0), "{shown}");
}

/// Svcs `number` made by the process named `name`.
fn svcs(report: &RunReport, name: &str, number: u32) -> u64 {
    let p = report.processes.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no process {name}"));
    p.svcs.get(&number).copied().unwrap_or(0)
}

#[test]
fn a_server_polling_with_a_timeout_is_settled_at_its_first_wait() {
    let roles = vec![
        server("poller", &REPLY_AND_RECEIVE_POLLER),
        Role { setup: crafted("client", LaunchKind::Hbmenu, &HELLO_CLIENT), client: true },
    ];
    let report = run_setups(roles, &RunConfig::default());
    assert_eq!(report.end, RunEnd::Completed, "{}", report.summary());
    assert_eq!(report.client_lines, vec!["hello".to_string()]);
    // The client started while the poller sat in its first 100 µs wait and ended (a few
    // instructions, a few ns of bench time) before that wait timed out.
    assert_eq!(svcs(&report, "poller", 0x43), 1, "{}", report.summary());
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_real_client_runs_beside_servers_that_poll_and_the_sysmodule() {
    let started = Instant::now();
    let roles = vec![
        real_sysmodule(),
        server("poller-0x43", &REPLY_AND_RECEIVE_POLLER),
        server("poller-0x18", &WAIT_SYNCHRONIZATION_POLLER),
        server("poller-0x0b", &SLEEP_POLLER),
        real_client(LaunchKind::Hbmenu),
    ];
    let report = run_setups(roles, &RunConfig::default());
    assert_client_passed(&report, "sysmodule");
    // Each poller kept polling while the client ran: bench time went on from deadline to
    // deadline, and each wait ended with TimedOut (1 ns per instruction, so ~0.6 ms of
    // bench time is a few polls).
    for (name, svc) in [("poller-0x43", 0x43), ("poller-0x18", 0x18), ("poller-0x0b", 0x0b)] {
        let n = svcs(&report, name, svc);
        assert!((2..10_000).contains(&n), "{name}: {n} svcs\n{}", report.summary());
    }
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_real_client_in_process_runs_beside_a_polling_server() {
    let roles = vec![server("poller", &REPLY_AND_RECEIVE_POLLER), real_client(LaunchKind::Emulator)];
    let report = run_setups(roles, &RunConfig::default());
    assert_client_passed(&report, "in-process");
    assert!(svcs(&report, "poller", 0x43) >= 2, "{}", report.summary());
}

/// The budget report names every live thread, its state and its instruction count.
fn budget_threads(report: &RunReport) -> (&str, &[String]) {
    match &report.end {
        RunEnd::BudgetExhausted { what, threads } => (what, threads),
        other => panic!("expected BudgetExhausted, got {other:?}\n{}", report.summary()),
    }
}

#[test]
fn a_client_that_polls_forever_stops_at_the_default_bench_time_budget_naming_its_thread() {
    let started = Instant::now();
    let roles = vec![Role { setup: crafted("client", LaunchKind::Hbmenu, &SLEEP_POLLER), client: true }];
    let report = run_setups(roles, &RunConfig::default());
    let (what, threads) = budget_threads(&report);
    assert!(what.contains(&format!("bench-time budget of {DEFAULT_MAX_BENCH_NS} ns")), "{what}");
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert!(threads[0].starts_with("client/thread#0: blocked in SleepThread (0x0b)"), "{threads:?}");
    assert!(threads[0].ends_with(" instructions"), "{threads:?}");
    // 10 s of bench time in 100 µs waits.
    let polls = svcs(&report, "client", 0x0b);
    assert!((99_000..=100_000).contains(&polls), "{polls} polls");
    assert!(report.summary().contains("STOPPED: bench-time budget"), "{}", report.summary());
    assert_eq!(report.exit_code(), 1);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn a_client_blocked_forever_beside_a_polling_server_stops_at_the_budget_naming_both() {
    // Not a deadlock the bench can see (the poller always has a deadline), so the
    // bench-time budget ends it.
    let started = Instant::now();
    let roles = vec![
        server("poller", &REPLY_AND_RECEIVE_POLLER),
        Role { setup: crafted("client", LaunchKind::Hbmenu, &UNSERVED_REQUEST_CLIENT), client: true },
    ];
    let report = run_setups(roles, &RunConfig::default());
    let (_, threads) = budget_threads(&report);
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert!(
        threads[0].starts_with("poller/thread#0: blocked in ReplyAndReceive (0x43) over 0 object(s), deadline"),
        "{threads:?}"
    );
    assert!(threads[1].starts_with("client/thread#0: blocked in SendSyncRequest (0x21)"), "{threads:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn a_spinning_client_stops_at_the_instruction_budget_naming_where_it_runs() {
    // b .
    let roles = vec![
        server("poller", &SLEEP_POLLER),
        Role { setup: crafted("client", LaunchKind::Hbmenu, &[0x14000000]), client: true },
    ];
    let config = RunConfig { max_instructions: 2_000_000, ..RunConfig::default() };
    let report = run_setups(roles, &config);
    let (what, threads) = budget_threads(&report);
    assert!(what.starts_with("instruction budget of 2000000 exhausted"), "{what}");
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert!(threads[0].starts_with("poller/thread#0: "), "{threads:?}");
    // The spinning thread ran (nearly) all of the budget; the poller woke every 100 µs.
    let spin = &threads[1];
    assert!(spin.starts_with("client/thread#0: runnable at pc 0x"), "{threads:?}");
    let n: u64 = spin.rsplit(", ").next().and_then(|s| s.strip_suffix(" instructions")).unwrap().parse().unwrap();
    assert!(n > 1_900_000, "{spin}");
    assert!(svcs(&report, "poller", 0x0b) >= 10, "{}", report.summary());
}

#[test]
fn the_host_bench_settles_a_server_that_polls_with_a_timeout() {
    let setup = crafted("poller", LaunchKind::Sysmodule, &REPLY_AND_RECEIVE_POLLER);
    let bench = HostBench::start(setup, RunConfig::default(), &[]).expect("the poller settles");
    assert!(bench.is_idle());
    // Settled at its first wait: no bench time was jumped forward.
    assert!(bench.server_instructions() < 10, "{}", bench.server_instructions());
}
