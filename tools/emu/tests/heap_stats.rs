//! The bench reads the runtime's live heap use from guest memory (rt's
//! `XCBUF_RT_HEAP_STATS`, located through the ELF's symbols), so a sysmodule that never
//! exits still reports heap used and peak. The tests need `make dist`'s output and the
//! Switch ELFs: a plain `cargo test` lists them as ignored, `make test` runs them
//! ([`xcbuf_pack::built`]).

use std::path::PathBuf;

use xcbuf_emu::host_client::HostBench;
use xcbuf_emu::observe::RunEnd;
use xcbuf_emu::run::{self, RunConfig};
use xcbuf_pack::built;

/// sysmodule/src/main.rs: the `xcbuf:i` thread's stack (0x3000) and the two servers'
/// 0x800-byte pointer buffers come from the static heap of 19 KiB.
const INDEXED_THREAD_STACK: u64 = 0x3000;
const POINTER_BUFFERS: u64 = 2 * 0x800;
const STATIC_HEAP: u64 = 19 * 1024;

struct Paths {
    nsp: PathBuf,
    nro: PathBuf,
    sysmodule_elf: PathBuf,
}

fn paths() -> Paths {
    Paths { nsp: built::sysmodule_nsp(), nro: built::client_nro(), sysmodule_elf: built::sysmodule_elf() }
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn sysmodule_heap_use_is_read_from_memory_once_its_second_thread_runs() {
    let p = paths();
    let config = RunConfig { sysmodule_elf: Some(p.sysmodule_elf), ..RunConfig::default() };
    let bench = HostBench::start_sysmodule(&p.nsp, config).expect("the sysmodule starts and goes idle");
    let r = bench.server_resources();
    println!("{r:?}");
    assert_eq!(r.threads, 2, "main and xcbuf:i threads");
    let used = r.heap_used.expect("heap used is read with the ELF");
    let peak = r.heap_peak.expect("heap peak is read with the ELF");
    // The xcbuf:i stack and both pointer buffers stay allocated while the server idles.
    assert!(used >= INDEXED_THREAD_STACK + POINTER_BUFFERS, "used {used:#x}");
    assert!(peak >= used, "peak {peak:#x} below used {used:#x}");
    assert!(peak <= STATIC_HEAP, "peak {peak:#x} above the static heap");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn without_the_elf_no_heap_figure_is_invented() {
    let p = paths();
    let bench = HostBench::start_sysmodule(&p.nsp, RunConfig::default()).expect("the sysmodule starts");
    let r = bench.server_resources();
    assert_eq!(r.heap_used, None);
    assert_eq!(r.heap_peak, None);
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn run_report_carries_live_heap_for_the_sysmodule_and_the_exit_line_peak_for_the_nro() {
    let p = paths();
    let config = RunConfig {
        sysmodule: Some(p.nsp),
        nro: Some(p.nro),
        sysmodule_elf: Some(p.sysmodule_elf),
        ..RunConfig::default()
    };
    let report = run::run(&config);
    assert_eq!(report.end, RunEnd::Completed, "{}", report.summary());
    let json = report.to_json();
    let procs = json["processes"].as_array().expect("processes");
    // Processes in start order (run::run_setups): the sysmodule, then the NRO.
    let [sysmodule, nro] = procs.as_slice() else { panic!("two processes: {procs:?}") };
    assert!(sysmodule["heap_stats_error"].is_null(), "{}", sysmodule["heap_stats_error"]);
    let used = sysmodule["heap_used"].as_u64().expect("sysmodule heap_used");
    let peak = sysmodule["heap_peak"].as_u64().expect("sysmodule heap_peak");
    assert!(used >= INDEXED_THREAD_STACK + POINTER_BUFFERS && peak >= used, "used {used:#x} peak {peak:#x}");
    // The NRO has no ELF here: its live figures are absent, its exit line's peak is not.
    assert!(nro["heap_used"].is_null());
    assert!(nro["heap_peak_reported"].as_u64().is_some_and(|p| p > 0), "{}", nro["heap_peak_reported"]);
}
