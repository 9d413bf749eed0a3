//! End to end: the real client NRO runs its scenario suite in the bench, against the real
//! sysmodule and against its own in-process server (design.md "Acceptance figures":
//! every scenario passes in both). Active when `XCBUF_DIST` names the `dist/` directory
//! that `make dist` produced (`make test` sets it); otherwise each test prints that it was
//! skipped.

use std::path::PathBuf;

use xcbuf_emu::bench::{self, RunConfig};
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::kernel::profile::KernelProfile;
use xcbuf_emu::observe::{RunEnd, RunReport};

/// Every scenario the client must report, in report order (the task's list; kept here,
/// independent of the client's own table, so a scenario the client drops is caught).
const SCENARIOS: [&str; 13] = [
    "query-pointer-buffer-size",
    "echo-small",
    "echo-exact-fit",
    "echo-overflow",
    "concat-packing",
    "concat-overflow-by-alignment",
    "split-index-matching",
    "out-too-large",
    "indexed-mode",
    "zero-size-x",
    "sessions",
    "malformed",
    "stats",
];

fn dist() -> Option<PathBuf> {
    std::env::var_os("XCBUF_DIST").map(PathBuf::from)
}

fn nsp(dist: &PathBuf) -> PathBuf {
    dist.join("sd/atmosphere/contents/4200000000000c0b/exefs.nsp")
}

fn nro(dist: &PathBuf) -> PathBuf {
    dist.join("sd/switch/xcbuf/xcbuf.nro")
}

/// The report lines of the run: from `server: ...` to `N passed, M failed`.
fn check_report(report: &RunReport, server: &str) {
    let all = report.client_lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>();
    let shown = all.join("\n");
    assert_eq!(report.end, RunEnd::Completed, "run did not complete:\n{}\n{shown}", report.summary());
    for p in &report.processes {
        assert!(p.fault.is_none(), "{} faulted: {:?}\n{shown}", p.name, p.fault);
    }
    let start = all
        .iter()
        .position(|l| l.starts_with("server: "))
        .unwrap_or_else(|| panic!("no `server:` line\n{shown}"));
    assert_eq!(all[start], format!("server: {server}"), "wrong server\n{shown}");
    let lines = &all[start..];
    let failures: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(failures.is_empty(), "scenarios failed: {failures:#?}\n{shown}");
    // Every scenario exactly once, in order, as PASS.
    let results: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ")).collect();
    let names: Vec<&str> =
        results.iter().map(|l| l[5..].split(':').next().unwrap_or("")).collect();
    assert_eq!(names, SCENARIOS, "scenario list differs\n{shown}");
    let summary = format!("{} passed, 0 failed", SCENARIOS.len());
    assert!(lines.contains(&summary.as_str()), "no `{summary}` line\n{shown}");
    assert_eq!(report.nro_result, Some(0), "the NRO's exit result\n{shown}");
    report_file_holds_the_report_lines(report, lines, &summary);
}

/// The client writes every report line, '\n'-terminated, to sdmc:/switch/xcbuf/report.txt
/// through fsp-srv (screen-output.md §3), then says so in one more line. The debug output
/// between them also holds the in-process server's own log lines, which are not report
/// lines.
fn report_file_holds_the_report_lines(report: &RunReport, lines: &[&str], summary: &str) {
    let shown = lines.join("\n");
    let end = lines.iter().position(|l| *l == summary).unwrap_or_else(|| panic!("no summary\n{shown}"));
    let is_report_line = |l: &&&str| l.starts_with("server: ") || l.starts_with("PASS ") || l.starts_with("FAIL ") || **l == summary;
    let expected: String = lines[..=end].iter().filter(is_report_line).map(|l| format!("{l}\n")).collect();
    let file = report
        .sd_files
        .get("/switch/xcbuf/report.txt")
        .unwrap_or_else(|| panic!("no report file; sd files {:?}\n{shown}", report.sd_files.keys()));
    assert_eq!(String::from_utf8_lossy(file), expected);
    let written = format!("report: written to sdmc:/switch/xcbuf/report.txt ({} bytes)", expected.len());
    assert!(lines[end + 1..].contains(&written.as_str()), "no `{written}` line after the summary\n{shown}");
}

#[test]
fn every_scenario_passes_against_the_sysmodule() {
    let Some(dist) = dist() else {
        eprintln!("skipped: XCBUF_DIST is not set (run `make dist`, then XCBUF_DIST=dist)");
        return;
    };
    let config = RunConfig {
        sysmodule: Some(nsp(&dist)),
        nro: Some(nro(&dist)),
        launch: LaunchKind::Hbmenu,
        ..RunConfig::default()
    };
    check_report(&bench::run(&config), "sysmodule");
}

#[test]
fn every_scenario_passes_against_the_in_process_server() {
    let Some(dist) = dist() else {
        eprintln!("skipped: XCBUF_DIST is not set (run `make dist`, then XCBUF_DIST=dist)");
        return;
    };
    let config = RunConfig {
        nro: Some(nro(&dist)),
        no_sysmodule: true,
        launch: LaunchKind::Emulator,
        ..RunConfig::default()
    };
    check_report(&bench::run(&config), "in-process");
}

#[test]
fn every_scenario_passes_against_the_in_process_server_on_ryujinx() {
    // `xcbuf-emu run --kernel ryujinx --no-sysmodule --nro xcbuf.nro`: Ryujinx launches
    // the NRO alone, and its kernel fails requests differently (kernel/profile.rs).
    let Some(dist) = dist() else {
        eprintln!("skipped: XCBUF_DIST is not set (run `make dist`, then XCBUF_DIST=dist)");
        return;
    };
    let config = RunConfig {
        nro: Some(nro(&dist)),
        no_sysmodule: true,
        launch: LaunchKind::Emulator,
        kernel: KernelProfile::Ryujinx,
        ..RunConfig::default()
    };
    check_report(&bench::run(&config), "in-process");
}
