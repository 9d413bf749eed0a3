//! The sysmodule's two stacks (the NPDM main stack, which serves `xcbuf`, and the
//! `xcbuf:i` thread's, from the static heap) are sized from the deepest use measured here,
//! with a margin: each must be at least [`MARGIN_NUM`]/[`MARGIN_DEN`] of its peak. The
//! load: a fuzz pass of hostile messages on both services (every error path and its log
//! line) and session churn past the limit (the open, refuse and close log lines). The
//! stacks are zeroed before use (the kernel maps the main stack zeroed; rt zeroes the
//! stacks it spawns), so the peak is read as the bytes from the lowest non-zero one to
//! the top ([`xcbuf_emu::perf::main_stack_peak`], [`xcbuf_emu::thread_stacks`]). The test
//! needs `make dist`'s output: a plain `cargo test` lists it as ignored, `make test` runs
//! it ([`xcbuf_pack::built`]).

use xcbuf_emu::fuzz;
use xcbuf_emu::host_client::HostBench;
use xcbuf_emu::run::RunConfig;
use xcbuf_emu::thread_stacks;
use xcbuf_pack::built;

/// The margin: a stack holds at least 3/2 of its measured peak (sysmodule/src/main.rs
/// and sysmodule/npdm.json state the same rule).
const MARGIN_NUM: u64 = 3;
const MARGIN_DEN: u64 = 2;

#[test]
#[ignore = "needs make dist: run by make test"]
fn server_stacks_hold_half_again_their_deepest_measured_use() {
    let config = RunConfig { sysmodule_elf: Some(built::sysmodule_elf()), ..RunConfig::default() };
    let mut bench =
        HostBench::start_sysmodule(&built::sysmodule_nsp(), config).expect("the sysmodule starts and goes idle");
    let report = fuzz::fuzz(&mut bench, 20_000, 0x5_7ACC).expect("fuzz runs");
    assert_eq!((report.faults, report.hangs), (0, 0), "{}", report.summary());
    fuzz::churn(&mut bench, 2_000, 0x5_7ACC).expect("churn runs");

    let server = &bench.kernel.processes[bench.server];
    let main_peak = xcbuf_emu::perf::main_stack_peak(&bench.kernel, bench.server).expect("main stack read");
    let main_size = server
        .space
        .regions()
        .find(|r| r.state == xcbuf_emu::memory::MemoryState::Stack)
        .map(|r| r.size)
        .expect("the main stack is mapped");
    let threads = thread_stacks::read(server).expect("stack list readable").expect("the ELF has the stack list");
    let [indexed] = threads.as_slice() else { panic!("one listed thread (xcbuf:i): {threads:?}") };
    println!(
        "main stack: {main_peak} of {main_size} bytes written; xcbuf:i stack: {} of {} bytes written",
        indexed.peak, indexed.size
    );
    for (name, peak, size) in [("main", main_peak, main_size), ("xcbuf:i", indexed.peak, indexed.size)] {
        assert!(peak > 0, "{name}: no byte of the stack written");
        assert!(
            peak * MARGIN_NUM <= size * MARGIN_DEN,
            "{name} stack: {size} bytes, deepest use {peak}: less than {MARGIN_NUM}/{MARGIN_DEN} of it"
        );
    }
}
