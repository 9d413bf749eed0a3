//! End to end: the real client NRO runs its scenario suite in the bench, against the real
//! sysmodule and against its own in-process server (design.md "Acceptance figures":
//! every scenario passes in both). The tests need `make dist`'s output: a plain
//! `cargo test` lists them as ignored, `make test` runs them ([`xcbuf_pack::built`]).

use xcbuf_client::scenarios::NAMES;
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::kernel::profile::KernelProfile;
use xcbuf_emu::observe::{RunEnd, RunReport};
use xcbuf_emu::run::{self, RunConfig};
use xcbuf_pack::built;

/// The report lines of the run: from `server: ...` to `N passed, M failed`.
fn check_report(report: &RunReport, server: &str) {
    let all = report.client_lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>();
    let shown = all.join("\n");
    assert_eq!(report.end, RunEnd::Completed, "run did not complete:\n{}\n{shown}", report.summary());
    for p in &report.processes {
        assert!(p.fault.is_none(), "{} faulted: {:?}\n{shown}", p.name, p.fault);
    }
    let start =
        all.iter().position(|l| l.starts_with("server: ")).unwrap_or_else(|| panic!("no `server:` line\n{shown}"));
    assert_eq!(all[start], format!("server: {server}"), "wrong server\n{shown}");
    let lines = &all[start..];
    let failures: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(failures.is_empty(), "scenarios failed: {failures:#?}\n{shown}");
    // Every scenario exactly once, in order, as PASS.
    let results: Vec<&str> =
        lines.iter().copied().filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ")).collect();
    let names: Vec<&str> = results.iter().map(|l| l[5..].split(':').next().unwrap_or("")).collect();
    assert_eq!(names, NAMES, "the report's scenarios differ from the client's table\n{shown}");
    let summary = format!("{} passed, 0 failed", NAMES.len());
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
    // A screen step that failed before the suite is a report line too ("screen: not shown: ...").
    let is_report_line = |l: &&&str| {
        l.starts_with("server: ")
            || l.starts_with("screen: ")
            || l.starts_with("PASS ")
            || l.starts_with("FAIL ")
            || **l == summary
    };
    let expected: String = lines[..=end].iter().filter(is_report_line).map(|l| format!("{l}\n")).collect();
    let file = report
        .sd_files
        .get("/switch/xcbuf/report.txt")
        .unwrap_or_else(|| panic!("no report file; sd files {:?}\n{shown}", report.sd_files.keys()));
    assert_eq!(String::from_utf8_lossy(file), expected);
    let written = format!("report: written to sdmc:/switch/xcbuf/report.txt ({} bytes)", expected.len());
    assert!(lines[end + 1..].contains(&written.as_str()), "no `{written}` line after the summary\n{shown}");
}

/// rt's exit line (rt/src/exit_path.rs) for the client, from its debug output.
fn rt_exit_line(report: &RunReport) -> String {
    report
        .client_lines
        .iter()
        .find(|l| l.starts_with("xcbuf-rt: exit "))
        .cloned()
        .unwrap_or_else(|| panic!("no rt exit line\n{}", report.client_lines.join("\n")))
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn every_scenario_passes_against_the_sysmodule() {
    let config = RunConfig {
        sysmodule: Some(built::sysmodule_nsp()),
        nro: Some(built::client_nro()),
        launch: LaunchKind::Hbmenu,
        ..RunConfig::default()
    };
    let report = run::run(&config);
    check_report(&report, "sysmodule");
    client_returned_to_hbloader(&report);
}

/// The normal end under hbloader: no thread but the main one is left, so rt returns to
/// hbloader's lr (the bench's return stub, which is not counted as an svc) instead of
/// ending the process (rt/src/exit_path.rs).
fn client_returned_to_hbloader(report: &RunReport) {
    let line = rt_exit_line(report);
    assert!(line.starts_with("xcbuf-rt: exit 0x0 (success); returning to the loader;"), "{line}");
    let client = report.processes.iter().find(|p| p.name == "client").expect("the client");
    assert_eq!(client.svcs.get(&0x07), None, "the client called svcExitProcess: {line}");
}

/// hbloader on Atmosphère (HosVersion tagged ATMOSPHR), no sysmodule: sm's HasService says
/// no, the first line says the sysmodule is missing and why, and the suite still runs on
/// the in-process server; the report file is written (HasService finds fsp-srv).
#[test]
#[ignore = "needs make dist: run by make test"]
fn missing_sysmodule_on_atmosphere_is_named_on_the_first_line_and_the_suite_runs_in_process() {
    let config = RunConfig {
        nro: Some(built::client_nro()),
        no_sysmodule: true,
        launch: LaunchKind::Hbmenu,
        ..RunConfig::default()
    };
    let report = run::run(&config);
    check_report(
        &report,
        "in-process, the sysmodule is MISSING (Atmosphère's sm has no xcbuf and xcbuf:i); \
         likely causes: not installed at sdmc:/atmosphere/contents/4200000000000c0b/exefs.nsp, \
         no sdmc:/atmosphere/contents/4200000000000c0b/flags/boot2.flag, \
         or the console was not rebooted since installing",
    );
    // The in-process servers were stopped and joined, so rt still returns to hbloader.
    client_returned_to_hbloader(&report);
}

/// Eden started with program arguments: a loader config without the Atmosphère HosVersion
/// and without OverrideHeap. The client runs in-process, sets its heap up with
/// svcSetHeapSize, and writes the report file through fsp-srv opened directly.
#[test]
#[ignore = "needs make dist: run by make test"]
fn every_scenario_passes_in_process_under_eden_with_arguments_and_the_report_file_is_written() {
    let config = RunConfig {
        nro: Some(built::client_nro()),
        no_sysmodule: true,
        launch: LaunchKind::EdenArgs,
        ..RunConfig::default()
    };
    let report = run::run(&config);
    check_report(&report, "in-process");
    let client = report.processes.iter().find(|p| p.name == "client").expect("the client");
    assert!(client.heap_size_max > 0, "no OverrideHeap: rt must call svcSetHeapSize");
    let asked = report.client_lines.iter().find(|l| l.contains("HasService"));
    assert!(asked.is_none(), "not Atmosphère: sm's HasService must not be asked: {asked:?}");
    // rt returns to Eden's lr, which is the svc #7 of the client's own text.
    let line = rt_exit_line(&report);
    assert!(line.contains("; returning to the loader;"), "{line}");
    assert_eq!(client.svcs.get(&0x07), Some(&1), "{line}");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn every_scenario_passes_against_the_in_process_server() {
    let config = RunConfig {
        nro: Some(built::client_nro()),
        no_sysmodule: true,
        launch: LaunchKind::Emulator,
        ..RunConfig::default()
    };
    let report = run::run(&config);
    check_report(&report, "in-process");
    let line = rt_exit_line(&report);
    assert!(line.starts_with("xcbuf-rt: exit 0x0 (success); svcExitProcess (no loader to return to);"), "{line}");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn every_scenario_passes_against_the_in_process_server_on_ryujinx() {
    // `xcbuf-emu run --kernel ryujinx --no-sysmodule --nro xcbuf.nro`: Ryujinx launches
    // the NRO alone, and its kernel fails requests differently (kernel/profile.rs).
    let config = RunConfig {
        nro: Some(built::client_nro()),
        no_sysmodule: true,
        launch: LaunchKind::Emulator,
        kernel: KernelProfile::Ryujinx,
        ..RunConfig::default()
    };
    check_report(&run::run(&config), "in-process");
}
